import { MethodNotSupportedError } from '../errors.ts';
import { param, parseQuantityString } from '../params.ts';
import { callerOf, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_unsubscribe: Cancels a subscription of this WebSocket connection; false if it has none by that id.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_unsubscribe: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  handler(params, ctx) {
    if (!ctx.connection) throw new MethodNotSupportedError('eth_unsubscribe over HTTP (use a WebSocket connection)');
    const subscriptionId = param(params, 0, 'subscriptionId', parseQuantityString);
    return ctx.services.enclave.request({ type: 'unsubscribe', caller: callerOf(ctx), connection: ctx.connection.id, subscriptionId });
  },
};
