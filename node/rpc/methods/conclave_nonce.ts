import { atMostParams } from '../params.ts';
import { callerOf, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * conclave_nonce: A fresh nonce for a Sign-In with Ethereum message (EIP-4361), issued
 * by the enclave: 32 hex digits, single-use, valid for 5 minutes. No params.
 * @see https://eips.ethereum.org/EIPS/eip-4361
 */
export const conclave_nonce: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  handler(params, ctx) {
    atMostParams(params, 0);
    return ctx.services.enclave.request({ type: 'session', caller: callerOf(ctx), request: { kind: 'nonce' } });
  },
};
