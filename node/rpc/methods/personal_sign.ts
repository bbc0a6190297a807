import { param, parseAddress, parseData } from '../params.ts';
import { callerOf, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * personal_sign: EIP-191 signature by a dev account: personal_sign(message, address).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const personal_sign: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  usesNodeKeys: true,
  handler(params, ctx) {
    const message = param(params, 0, 'message', parseData);
    const address = param(params, 1, 'address', parseAddress);
    return ctx.services.enclave.request({ type: 'sign', caller: callerOf(ctx), request: { kind: 'message', address, message } });
  },
};
