import { param, parseBlockTag, parseCallRequest, refuseOverrides, toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_estimateGas: The gas a transaction needs, found by executing it (binary search as geth does). A revert answers code 3 with the revert data.
 * State overrides (argument 2) are refused with -32602 until they are applied.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_estimateGas: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  async handler(params, ctx) {
    const request = param(params, 0, 'transaction', parseCallRequest);
    const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
    refuseOverrides(params, 2, 'state overrides');
    return toQuantity(await read<bigint>(ctx, { kind: 'estimateGas', request, block }));
  },
};
