import { setIntervalMining } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** evm_setIntervalMining: see node/rpc/devMethods.ts. */
export const evm_setIntervalMining: MethodEntry<Services> = { ...setIntervalMining('evm') };
