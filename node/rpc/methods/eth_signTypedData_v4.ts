import { param, paramAt, parseAddress } from '../params.ts';
import { callerOf, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_signTypedData_v4: EIP-712 signature by a dev account.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_signTypedData_v4: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  usesNodeKeys: true,
  handler(params, ctx) {
    const address = param(params, 0, 'address', parseAddress);
    const typedData = paramAt(params, 1, 'typedData');
    return ctx.services.enclave.request({ type: 'sign', caller: callerOf(ctx), request: { kind: 'typedData', address, typedData } });
  },
};
