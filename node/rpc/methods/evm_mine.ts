import { isPlainObject } from '../../../runtime/boundary/checks.ts';
import { devOp, parseDevNumber, parseTimestamp } from '../devMethods.ts';
import { InvalidParamsError } from '../errors.ts';
import { param } from '../params.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * evm_mine: mines one block with what waits (Hardhat, Anvil), at `timestamp` if given;
 * Anvil's `{ timestamp, blocks }` form mines several. Answers "0x0".
 */
export const evm_mine: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  async handler(params, ctx) {
    const options = param(params, 0, 'options', (v, name) => {
      if (isPlainObject(v)) {
        for (const key of Object.keys(v)) if (key !== 'timestamp' && key !== 'blocks') throw new InvalidParamsError(`invalid ${name}: unknown field ${key.slice(0, 40)}`);
        return {
          timestamp: v.timestamp === undefined || v.timestamp === null ? undefined : parseTimestamp(v.timestamp, `${name}.timestamp`),
          blocks: v.blocks === undefined || v.blocks === null ? 1n : parseDevNumber(v.blocks, `${name}.blocks`, 64),
        };
      }
      return { timestamp: parseTimestamp(v, name), blocks: 1n };
    }, true);
    await devOp(ctx, { op: 'mine', blocks: options?.blocks ?? 1n, interval: 1n, ...(options?.timestamp !== undefined ? { timestamp: options.timestamp } : {}) });
    return '0x0';
  },
};
