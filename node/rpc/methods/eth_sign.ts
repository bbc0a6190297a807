import { param, parseAddress, parseData } from '../params.ts';
import { callerOf, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_sign: EIP-191 signature by a dev account: eth_sign(address, message).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_sign: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  usesNodeKeys: true,
  handler(params, ctx) {
    const address = param(params, 0, 'address', parseAddress);
    const message = param(params, 1, 'message', parseData);
    return ctx.services.enclave.request({ type: 'sign', caller: callerOf(ctx), request: { kind: 'message', address, message } });
  },
};
