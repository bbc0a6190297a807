import { setNonce } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_setNonce: see node/rpc/devMethods.ts. */
export const anvil_setNonce: MethodEntry<Services> = { ...setNonce('anvil') };
