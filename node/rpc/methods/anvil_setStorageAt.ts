import { setStorageAt } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_setStorageAt: see node/rpc/devMethods.ts. */
export const anvil_setStorageAt: MethodEntry<Services> = { ...setStorageAt('anvil') };
