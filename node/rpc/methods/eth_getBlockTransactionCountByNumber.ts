import { param, parseBlockTag, toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getBlockTransactionCountByNumber: Number of transactions in a block.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getBlockTransactionCountByNumber: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const block = param(params, 0, 'block', parseBlockTag);
    const count = await read<bigint | null>(ctx, { kind: 'blockTxCount', block });
    return count === null ? null : toQuantity(count);
  },
};
