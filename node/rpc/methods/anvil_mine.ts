import { mine } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_mine: see node/rpc/devMethods.ts. */
export const anvil_mine: MethodEntry<Services> = { ...mine('anvil') };
