import { param, parseCallRequest } from '../params.ts';
import { callerOf, settle, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_sendTransaction: Signs with a dev account held by the enclave, then orders the transaction like eth_sendRawTransaction.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_sendTransaction: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  usesNodeKeys: true,
  async handler(params, ctx) {
    const request = param(params, 0, 'transaction', parseCallRequest);
    const admitted = await ctx.services.enclave.request({ type: 'sendTransaction', caller: callerOf(ctx), request });
    await ctx.services.order(admitted);
    await settle(ctx, admitted);
    return admitted.hash;
  },
};
