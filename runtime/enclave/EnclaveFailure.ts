import type { EnclaveError, EnclaveErrorKind } from '../boundary/messages.ts';
import { LedgerError } from '../ledger/errors.ts';

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

/** What the host is told of a failure: its kind and safe message, never confidential values. */
export function toEnclaveError(err: unknown): EnclaveError {
  if (err instanceof EnclaveFailure) return { kind: err.kind, message: err.message, data: err.data };
  // Ledger errors name entries and files, never content: safe to pass on.
  if (err instanceof LedgerError) return { kind: 'internal', message: err.message };
  // Anything else may carry confidential values in its message: log where, not what.
  const stack = String((err as Error)?.stack ?? '').split('\n').slice(1, 6).join('\n');
  console.error(`enclave: internal error (${(err as Error)?.name ?? typeof err})\n${stack}`);
  return { kind: 'internal', message: 'internal error' };
}
