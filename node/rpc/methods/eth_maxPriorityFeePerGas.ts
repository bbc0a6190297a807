import { toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_maxPriorityFeePerGas: The suggested tip per gas (1 gwei, as Anvil and Hardhat suggest).
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_maxPriorityFeePerGas: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(_params, ctx) {
    return toQuantity(await read<bigint>(ctx, { kind: 'maxPriorityFee' }));
  },
};
