import { requireDevNetwork } from '../devMethods.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** hardhat_metadata: the node's client version, chain id, instance and latest block, as Hardhat's node answers. */
export const hardhat_metadata: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'perCaller',
  async handler(_params, ctx) {
    requireDevNetwork(ctx);
    const latest = (await read(ctx, { kind: 'block', block: 'latest', fullTransactions: false })) as { number: string; hash: string };
    return {
      clientVersion: ctx.services.clientVersion,
      chainId: Number(ctx.services.chainId),
      instanceId: ctx.services.instanceId,
      latestBlockNumber: Number(latest.number),
      latestBlockHash: latest.hash,
    };
  },
};
