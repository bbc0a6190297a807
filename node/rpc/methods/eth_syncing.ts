import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_syncing: A single node is never syncing.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_syncing: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, _ctx) {
    return false;
  },
};
