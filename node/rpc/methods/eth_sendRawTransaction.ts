import { InvalidParamsError } from '../errors.ts';
import { param, parseData } from '../params.ts';
import { type Services, submitRaw } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_sendRawTransaction: Validates a signed transaction (type 0, 1 or 2) and puts it on the ordering log; returns its hash. The receipt appears once its block is durable.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_sendRawTransaction: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const raw = param(params, 0, 'transaction', parseData);
    // The enclave refuses empty bytes as a malformed message; say what is wrong instead.
    if (raw.length === 0) throw new InvalidParamsError('invalid argument 0 (transaction): empty transaction bytes');
    const hash = await submitRaw(ctx, raw);
    return hash;
  },
};
