import { toQuantity } from '../params.ts';
import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * net_peerCount: Peers: a single node has none (ordering peers come with a network log).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const net_peerCount: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, _ctx) {
    return toQuantity(0);
  },
};
