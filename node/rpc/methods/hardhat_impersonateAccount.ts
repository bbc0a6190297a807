import { impersonateAccount } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_impersonateAccount: see node/rpc/devMethods.ts. */
export const hardhat_impersonateAccount: MethodEntry<Services> = { ...impersonateAccount('hardhat', true) };
