import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_coinbase: The fee recipient of blocks: the zero address (fees are burned or go nowhere on a consortium chain).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_coinbase: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, _ctx) {
    return '0x0000000000000000000000000000000000000000';
  },
};
