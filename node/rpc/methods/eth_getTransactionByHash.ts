import { param, parseHash } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getTransactionByHash: A transaction by hash: mined, or waiting (with null block fields).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getTransactionByHash: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const hash = param(params, 0, 'hash', parseHash);
    return read(ctx, { kind: 'transaction', hash });
  },
};
