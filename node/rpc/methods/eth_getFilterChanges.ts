import { param, parseQuantityString } from '../params.ts';
import { filter, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getFilterChanges: What a filter gathered since the last poll.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getFilterChanges: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    return filter(ctx, { kind: 'changes', filterId: param(params, 0, 'filterId', parseQuantityString) });
  },
};
