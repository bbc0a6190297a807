import { impersonateAccount } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_stopImpersonatingAccount: see node/rpc/devMethods.ts. */
export const hardhat_stopImpersonatingAccount: MethodEntry<Services> = { ...impersonateAccount('hardhat', false) };
