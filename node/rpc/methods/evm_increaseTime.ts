import { devOp, parseDevNumber } from '../devMethods.ts';
import { param } from '../params.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** evm_increaseTime: moves the time of the blocks to come; answers the total offset in seconds (as Hardhat, a decimal string). */
export const evm_increaseTime: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const seconds = param(params, 0, 'seconds', (v, name) => parseDevNumber(v, name, 64));
    const offset = (await devOp(ctx, { op: 'increaseTime', seconds })) as bigint;
    return offset.toString();
  },
};
