import { devOp, parseTimestamp } from '../devMethods.ts';
import { param } from '../params.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** evm_setNextBlockTimestamp: the next block has exactly this timestamp (after the latest's); later ones go on from it. */
export const evm_setNextBlockTimestamp: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const timestamp = param(params, 0, 'timestamp', parseTimestamp);
    await devOp(ctx, { op: 'setNextBlockTimestamp', timestamp });
    return timestamp.toString();
  },
};
