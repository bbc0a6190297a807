import { param, parseBlockTag, parseCallRequest, refuseOverrides } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_call: Executes a call against the state at a block without creating a transaction. A revert answers code 3 with the revert data.
 * State and block overrides (arguments 2 and 3) are refused with -32602 until they are applied.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_call: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  handler(params, ctx) {
    const request = param(params, 0, 'transaction', parseCallRequest);
    const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
    refuseOverrides(params, 2, 'state overrides');
    refuseOverrides(params, 3, 'block overrides');
    return read<string>(ctx, { kind: 'call', request, block });
  },
};
