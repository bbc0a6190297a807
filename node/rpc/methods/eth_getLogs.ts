import { param, parseLogFilter } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getLogs: Logs matching a filter, found through the keyed log index.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getLogs: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const filter = param(params, 0, 'filter', parseLogFilter);
    return read(ctx, { kind: 'logs', filter });
  },
};
