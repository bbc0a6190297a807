import { setNextBlockBaseFeePerGas } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_setNextBlockBaseFeePerGas: see node/rpc/devMethods.ts. */
export const hardhat_setNextBlockBaseFeePerGas: MethodEntry<Services> = { ...setNextBlockBaseFeePerGas('hardhat') };
