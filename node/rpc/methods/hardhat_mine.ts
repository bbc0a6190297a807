import { mine } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_mine: see node/rpc/devMethods.ts. */
export const hardhat_mine: MethodEntry<Services> = { ...mine('hardhat') };
