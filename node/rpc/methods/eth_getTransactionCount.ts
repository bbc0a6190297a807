import { param, parseAddress, parseBlockTag, toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getTransactionCount: The nonce of an account at a block; at "pending", counting transactions waiting to be included.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getTransactionCount: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const address = param(params, 0, 'address', parseAddress);
    const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
    return toQuantity(await read<bigint>(ctx, { kind: 'nonce', address, block }));
  },
};
