import { atMostParams } from '../params.ts';
import { callerOf, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * conclave_logout: Ends the session whose token the request carries (Authorization:
 * Bearer, or the URL path /s/<token>), and with it the filters and subscriptions made
 * under it. No params; answers true. A request without a live session gets 4100.
 */
export const conclave_logout: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  handler(params, ctx) {
    atMostParams(params, 0);
    return ctx.services.enclave.request({ type: 'session', caller: callerOf(ctx), request: { kind: 'logout' } });
  },
};
