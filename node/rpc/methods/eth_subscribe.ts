import { InvalidParamsError, MethodNotSupportedError } from '../errors.ts';
import { param, paramAt, parseLogFilter } from '../params.ts';
import { subscribe, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_subscribe: WebSocket subscriptions, kept in the enclave: newHeads, logs (with a filter), newPendingTransactions.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_subscribe: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const connection = ctx.connection;
    if (!connection) throw new MethodNotSupportedError('eth_subscribe over HTTP (use a WebSocket connection)');
    const kind = paramAt(params, 0, 'subscriptionName');
    if (kind === 'newHeads' || kind === 'newPendingTransactions') return subscribe({ ...ctx, connection }, { kind });
    if (kind === 'logs') {
      const filter = params[1] === undefined ? { addresses: [], topics: [] } : param(params, 1, 'filter', parseLogFilter);
      return subscribe({ ...ctx, connection }, { kind, filter });
    }
    // Named in part: a client's JSON echoed whole could be megabytes, or nested deeper
    // than the stack JSON.stringify runs on.
    if (typeof kind !== 'string') {
      const got = Array.isArray(kind) ? 'an array' : typeof kind === 'object' ? 'an object' : `a ${typeof kind}`;
      throw new InvalidParamsError(`invalid argument 0 (subscriptionName): string expected, got ${got}`);
    }
    const name = JSON.stringify(kind.length > 64 ? `${kind.slice(0, 64)}…` : kind);
    throw new InvalidParamsError(`invalid argument 0 (subscriptionName): unsupported subscription ${name}`);
  },
};
