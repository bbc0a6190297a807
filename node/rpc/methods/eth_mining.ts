import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_mining: Whether blocks are being produced: yes, as transactions arrive or on the block timer.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_mining: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, _ctx) {
    return true;
  },
};
