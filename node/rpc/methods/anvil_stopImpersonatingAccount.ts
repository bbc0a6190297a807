import { impersonateAccount } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_stopImpersonatingAccount: see node/rpc/devMethods.ts. */
export const anvil_stopImpersonatingAccount: MethodEntry<Services> = { ...impersonateAccount('anvil', false) };
