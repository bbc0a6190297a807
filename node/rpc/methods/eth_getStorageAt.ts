import { param, parseAddress, parseBlockTag, parseStorageSlot } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_getStorageAt: A storage slot of an account at a block, as 32 bytes.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_getStorageAt: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const address = param(params, 0, 'address', parseAddress);
    const slot = param(params, 1, 'slot', parseStorageSlot);
    const block = param(params, 2, 'block', parseBlockTag, true) ?? 'latest';
    return read<string>(ctx, { kind: 'storage', address, slot, block });
  },
};
