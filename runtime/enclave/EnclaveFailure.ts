import type { EnclaveErrorKind } from '../boundary/messages.ts';

/** An error the enclave answers with: a fixed kind (mapped to a JSON-RPC code by the host) and a safe message. */
export class EnclaveFailure extends Error {
  constructor(
    readonly kind: EnclaveErrorKind,
    message: string,
    readonly data?: string,
  ) {
    super(message);
  }
}

export const invalidInput = (message: string) => new EnclaveFailure('invalidInput', message);
export const invalidParams = (message: string) => new EnclaveFailure('invalidParams', message);
