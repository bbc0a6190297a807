import { setBalance } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_setBalance: see node/rpc/devMethods.ts. */
export const hardhat_setBalance: MethodEntry<Services> = { ...setBalance('hardhat') };
