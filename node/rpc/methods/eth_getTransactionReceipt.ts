import { param, parseHash } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getTransactionReceipt: The receipt of a transaction in a durable block, else null.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getTransactionReceipt: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const hash = param(params, 0, 'hash', parseHash);
    return read(ctx, { kind: 'receipt', hash });
  },
};
