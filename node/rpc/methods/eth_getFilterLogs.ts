import { InvalidInputError } from '../errors.ts';
import { param, parseQuantityString } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getFilterLogs: All logs matching a log filter.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getFilterLogs: MethodEntry<Services> = {
  status: 'supported',
  handler(params, ctx) {
    const filter = ctx.services.filters.get(param(params, 0, 'filterId', parseQuantityString));
    if (!filter || filter.kind !== 'logs') throw new InvalidInputError('filter not found');
    return read(ctx, { kind: 'logs', filter: filter.filter });
  },
};
