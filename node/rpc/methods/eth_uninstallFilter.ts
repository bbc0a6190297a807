import { param, parseQuantityString } from '../params.ts';
import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_uninstallFilter: Removes a polling filter.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_uninstallFilter: MethodEntry<Services> = {
  status: 'supported',
  handler(params, ctx) {
    return ctx.services.filters.remove(param(params, 0, 'filterId', parseQuantityString));
  },
};
