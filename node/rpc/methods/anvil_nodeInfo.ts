import { requireDevNetwork } from '../devMethods.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** anvil_nodeInfo: the latest block, hard fork and fee environment, in Anvil's shape. */
export const anvil_nodeInfo: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  async handler(_params, ctx) {
    requireDevNetwork(ctx);
    const latest = (await read(ctx, { kind: 'block', block: 'latest', fullTransactions: false })) as Record<string, string>;
    return {
      currentBlockNumber: Number(latest.number),
      currentBlockTimestamp: Number(latest.timestamp),
      currentBlockHash: latest.hash,
      hardFork: 'prague',
      transactionOrder: 'fifo',
      environment: {
        baseFee: latest.baseFeePerGas,
        chainId: Number(ctx.services.chainId),
        gasLimit: latest.gasLimit,
      },
      forkConfig: {},
    };
  },
};
