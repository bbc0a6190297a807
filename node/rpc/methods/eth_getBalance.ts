import { param, parseAddress, parseBlockTag, toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getBalance: Balance of an account at a block (any past block: archive).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getBalance: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const address = param(params, 0, 'address', parseAddress);
    const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
    return toQuantity(await read<bigint>(ctx, { kind: 'balance', address, block }));
  },
};
