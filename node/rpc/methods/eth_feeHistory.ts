import { InvalidParamsError } from '../errors.ts';
import { param, parseBlockTag, parseUint64OrNumber } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * eth_feeHistory: Base fees, gas used ratios and tip percentiles of recent blocks.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const eth_feeHistory: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(params, ctx) {
    const count = param(params, 0, 'blockCount', parseUint64OrNumber);
    const newest = param(params, 1, 'newestBlock', parseBlockTag);
    const percentiles = (params[2] ?? []) as unknown;
    if (!Array.isArray(percentiles) || percentiles.some((p, i) => typeof p !== 'number' || p < 0 || p > 100 || (i > 0 && p < percentiles[i - 1])))
      throw new InvalidParamsError('invalid argument 2 (rewardPercentiles): increasing numbers between 0 and 100 expected');
    if (count > 1024n) throw new InvalidParamsError('invalid argument 0 (blockCount): at most 1024 blocks');
    return read(ctx, { kind: 'feeHistory', count: Number(count), newest, percentiles });
  },
};
