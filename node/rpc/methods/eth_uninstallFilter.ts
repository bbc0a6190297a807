import { param, parseQuantityString } from '../params.ts';
import { filter, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_uninstallFilter: Removes a polling filter; false if there was none.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_uninstallFilter: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    return filter(ctx, { kind: 'uninstall', filterId: param(params, 0, 'filterId', parseQuantityString) });
  },
};
