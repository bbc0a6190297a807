import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * net_listening: Whether the node accepts connections: always, while it answers.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const net_listening: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, _ctx) {
    return true;
  },
};
