import { param, parseQuantityString } from '../params.ts';
import { filter, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getFilterLogs: All logs matching a log filter (as eth_getLogs with its criteria).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getFilterLogs: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    return filter(ctx, { kind: 'logs', filterId: param(params, 0, 'filterId', parseQuantityString) });
  },
};
