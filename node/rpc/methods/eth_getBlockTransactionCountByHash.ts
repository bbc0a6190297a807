import { param, parseHash, toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getBlockTransactionCountByHash: Number of transactions in a block.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getBlockTransactionCountByHash: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const hash = param(params, 0, 'hash', parseHash);
    const count = await read<bigint | null>(ctx, { kind: 'blockTxCount', block: { hash } });
    return count === null ? null : toQuantity(count);
  },
};
