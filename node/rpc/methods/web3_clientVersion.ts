import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * web3_clientVersion: Names Conclave and its version.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const web3_clientVersion: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, ctx) {
    return ctx.services.clientVersion;
  },
};
