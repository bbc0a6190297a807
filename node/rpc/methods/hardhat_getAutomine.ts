import { getAutomine } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_getAutomine: see node/rpc/devMethods.ts. */
export const hardhat_getAutomine: MethodEntry<Services> = { ...getAutomine() };
