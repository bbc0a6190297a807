import { setBalance } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_setBalance: see node/rpc/devMethods.ts. */
export const anvil_setBalance: MethodEntry<Services> = { ...setBalance('anvil') };
