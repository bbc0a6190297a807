import { param, parseBlockTag, parseUint64 } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getTransactionByBlockNumberAndIndex: A transaction by its position in a block.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getTransactionByBlockNumberAndIndex: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const block = param(params, 0, 'block', parseBlockTag);
    const index = param(params, 1, 'index', parseUint64);
    // No block holds that many transactions.
    if (index > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    return read(ctx, { kind: 'transactionByBlockAndIndex', block, index: Number(index) });
  },
};
