import { param, parseLogFilter } from '../params.ts';
import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_newFilter: Creates a polling log filter.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_newFilter: MethodEntry<Services> = {
  status: 'supported',
  handler(params, ctx) {
    return ctx.services.filters.add('logs', param(params, 0, 'filter', parseLogFilter));
  },
};
