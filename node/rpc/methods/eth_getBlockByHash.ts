import { param, parseBool, parseHash } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getBlockByHash: A block by hash, with transaction hashes or full transactions.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getBlockByHash: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const hash = param(params, 0, 'hash', parseHash);
    const fullTransactions = param(params, 1, 'hydrated', parseBool, true) ?? false;
    return read(ctx, { kind: 'block', block: { hash }, fullTransactions });
  },
};
