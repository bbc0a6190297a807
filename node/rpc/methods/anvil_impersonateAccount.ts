import { impersonateAccount } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_impersonateAccount: see node/rpc/devMethods.ts. */
export const anvil_impersonateAccount: MethodEntry<Services> = { ...impersonateAccount('anvil', true) };
