import { filter, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_newBlockFilter: Creates a polling filter for new block hashes, kept in the enclave.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_newBlockFilter: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(_params, ctx) {
    return filter(ctx, { kind: 'newBlocks' });
  },
};
