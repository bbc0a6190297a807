import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * net_version: The network id: the chain id in decimal.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const net_version: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, ctx) {
    return ctx.services.chainId.toString();
  },
};
