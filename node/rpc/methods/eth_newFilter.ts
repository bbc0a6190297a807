import { param, parseLogFilter } from '../params.ts';
import { filter, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_newFilter: Creates a polling log filter, kept in the enclave; it gathers matching logs of blocks as they become durable.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_newFilter: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    return filter(ctx, { kind: 'newLogs', filter: param(params, 0, 'filter', parseLogFilter) });
  },
};
