import { setNonce } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_setNonce: see node/rpc/devMethods.ts. */
export const hardhat_setNonce: MethodEntry<Services> = { ...setNonce('hardhat') };
