import { toQuantity } from '../params.ts';
import { type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_chainId: The chain id (EIP-155), as the node was started with.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_chainId: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, ctx) {
    return toQuantity(ctx.services.chainId);
  },
};
