import { setStorageAt } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_setStorageAt: see node/rpc/devMethods.ts. */
export const hardhat_setStorageAt: MethodEntry<Services> = { ...setStorageAt('hardhat') };
