import { param, parseHash, parseUint64 } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getTransactionByBlockHashAndIndex: A transaction by its position in a block.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getTransactionByBlockHashAndIndex: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const hash = param(params, 0, 'hash', parseHash);
    const index = param(params, 1, 'index', parseUint64);
    // No block holds that many transactions.
    if (index > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    return read(ctx, { kind: 'transactionByBlockAndIndex', block: { hash }, index: Number(index) });
  },
};
