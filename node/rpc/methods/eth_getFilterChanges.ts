import { InvalidInputError } from '../errors.ts';
import { param, parseQuantityString } from '../params.ts';
import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getFilterChanges: What a filter gathered since the last poll.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getFilterChanges: MethodEntry<Services> = {
  status: 'supported',
  handler(params, ctx) {
    const changes = ctx.services.filters.take(param(params, 0, 'filterId', parseQuantityString));
    if (!changes) throw new InvalidInputError('filter not found');
    return changes;
  },
};
