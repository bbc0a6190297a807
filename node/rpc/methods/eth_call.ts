import { param, parseBlockTag, parseCallRequest } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_call: Executes a call against the state at a block without creating a transaction. A revert answers code 3 with the revert data.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_call: MethodEntry<Services> = {
  status: 'supported',
  handler(params, ctx) {
    const request = param(params, 0, 'transaction', parseCallRequest);
    const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
    return read<string>(ctx, { kind: 'call', request, block });
  },
};
