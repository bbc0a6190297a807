import { setAutomine } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** evm_setAutomine: see node/rpc/devMethods.ts. */
export const evm_setAutomine: MethodEntry<Services> = { ...setAutomine('evm') };
