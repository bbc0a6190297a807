import { toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_blockNumber: The number of the newest durable block.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_blockNumber: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(_params, ctx) {
    return toQuantity(await read<bigint>(ctx, { kind: 'blockNumber' }));
  },
};
