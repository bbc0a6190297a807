import { devOp } from '../devMethods.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** evm_snapshot: remembers the chain, time and waiting transactions; answers an increasing id ("0x1", "0x2", ...). */
export const evm_snapshot: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(_params, ctx) {
    return devOp(ctx, { op: 'snapshot' });
  },
};
