import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_accounts: The dev accounts whose keys the enclave holds.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_accounts: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, ctx) {
    return read<string[]>(ctx, { kind: 'accounts' });
  },
};
