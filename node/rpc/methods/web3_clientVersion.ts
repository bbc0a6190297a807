import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * web3_clientVersion: the node's name and version. On the dev network it leads with
 * Anvil's form, which test tooling checks for before using dev methods (see
 * defaultClientVersion); `--client-version` replaces it.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const web3_clientVersion: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, ctx) {
    return ctx.services.clientVersion;
  },
};
