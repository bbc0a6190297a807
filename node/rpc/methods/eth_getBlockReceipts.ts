import { param, parseBlockTag } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getBlockReceipts: All receipts of a block.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getBlockReceipts: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const block = param(params, 0, 'block', parseBlockTag);
    return read(ctx, { kind: 'blockReceipts', block });
  },
};
