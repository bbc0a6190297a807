import { toQuantity } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_gasPrice: A legacy gas price that will be accepted: next base fee plus the default tip.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_gasPrice: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(_params, ctx) {
    return toQuantity(await read<bigint>(ctx, { kind: 'gasPrice' }));
  },
};
