import { param, parseBlockTag, parseBool } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getBlockByNumber: A block by number or tag, with transaction hashes or full transactions.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getBlockByNumber: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const block = param(params, 0, 'block', parseBlockTag);
    const fullTransactions = param(params, 1, 'hydrated', parseBool, true) ?? false;
    return read(ctx, { kind: 'block', block, fullTransactions });
  },
};
