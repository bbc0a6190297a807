import { param, parseAddress, parseBlockTag } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getCode: Code of an account at a block.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getCode: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(params, ctx) {
    const address = param(params, 0, 'address', parseAddress);
    const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
    return read<string>(ctx, { kind: 'code', address, block });
  },
};
