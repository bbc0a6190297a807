import { devOp, parseDevNumber } from '../devMethods.ts';
import { param } from '../params.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * evm_revert: takes the chain back to a snapshot (an authenticated rewind entry in the
 * ledger); that snapshot and every later one are gone. Answers whether it existed.
 */
export const evm_revert: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(params, ctx) {
    const id = param(params, 0, 'snapshotId', (v, name) => parseDevNumber(v, name, 64));
    return devOp(ctx, { op: 'revert', id });
  },
};
