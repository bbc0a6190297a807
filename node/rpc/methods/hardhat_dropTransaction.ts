import { dropTransaction } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_dropTransaction: see node/rpc/devMethods.ts. */
export const hardhat_dropTransaction: MethodEntry<Services> = { ...dropTransaction('hardhat') };
