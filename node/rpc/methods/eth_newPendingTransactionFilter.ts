import { filter, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_newPendingTransactionFilter: Creates a polling filter for the hashes of transactions the pool accepts, kept in the enclave.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_newPendingTransactionFilter: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(_params, ctx) {
    return filter(ctx, { kind: 'newPending' });
  },
};
