import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_newPendingTransactionFilter: Creates a polling filter for accepted transaction hashes.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_newPendingTransactionFilter: MethodEntry<Services> = {
  status: 'supported',
  handler(_params, ctx) {
    return ctx.services.filters.add('pending');
  },
};
