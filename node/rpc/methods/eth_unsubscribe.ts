import { MethodNotSupportedError } from '../errors.ts';
import { param, parseQuantityString } from '../params.ts';
import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_unsubscribe: Cancels a WebSocket subscription.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_unsubscribe: MethodEntry<Services> = {
  status: 'supported',
  handler(params, ctx) {
    if (!ctx.connection) throw new MethodNotSupportedError('eth_unsubscribe over HTTP (use a WebSocket connection)');
    return ctx.services.subscriptions.remove(ctx.connection, param(params, 0, 'subscriptionId', parseQuantityString));
  },
};
