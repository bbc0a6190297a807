import { setCode } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_setCode: see node/rpc/devMethods.ts. */
export const hardhat_setCode: MethodEntry<Services> = { ...setCode('hardhat') };
