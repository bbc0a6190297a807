/**
 * Consensus rules that come from the log's content only: block timestamps are clamped
 * to [parent + 1 s, parent + MAX_TIMESTAMP_STEP], whatever clock the cut carries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockTimestamp, MAX_TIMESTAMP_STEP } from '../../runtime/chain/Chain.ts';
import path from 'node:path';
import { readGenesisFile } from '../../node/genesisFile.ts';
import { startInProcessEnclave, type InProcessEnclave } from '../helpers/enclave.ts';
import { ROOT } from '../helpers/node.ts';

test('blockTimestamp: at least the parent + 1 s, at most MAX_TIMESTAMP_STEP ahead', () => {
  const parent = 1_700_000_000n;
  assert.equal(blockTimestamp(Number(parent + 10n) * 1000 + 999, parent), parent + 10n);
  assert.equal(blockTimestamp(Number(parent) * 1000, parent), parent + 1n, 'not before its parent');
  assert.equal(blockTimestamp(0, parent), parent + 1n, 'a clock far behind');
  assert.equal(blockTimestamp(Number(parent + 10n * 86_400n) * 1000, parent), parent + MAX_TIMESTAMP_STEP, 'a clock far ahead');
  assert.equal(blockTimestamp(Number.MAX_SAFE_INTEGER, parent), parent + MAX_TIMESTAMP_STEP);
});

test('cuts from the log: a block\'s timestamp follows the clamp, whatever the cut says', async () => {
  const enclave = await startInProcessEnclave();
  try {
    const header = async (n: bigint) => (await enclave.read({ kind: 'block', block: n, fullTransactions: false })) as { timestamp: string };
    const genesis = BigInt((await header(0n)).timestamp);
    const order = async (timestamp: number) => {
      const { blocks } = (await enclave.ask({ type: 'order', entries: [{ kind: 'cut', timestamp, allowEmpty: true }] })) as { blocks: { number: bigint }[] };
      const head = blocks[0]!.number;
      await enclave.ask({ type: 'durable', number: head });
      return BigInt((await header(head)).timestamp);
    };
    const far = await order(Number(genesis + 30n * 86_400n) * 1000);
    assert.equal(far, genesis + MAX_TIMESTAMP_STEP, 'a cut a month ahead moves time by one step');
    const back = await order(0);
    assert.equal(back, far + 1n, 'a cut in the past gives parent + 1');
    const next = await order(Number(far + 100n) * 1000);
    assert.equal(next, far + 100n);
  } finally {
    await enclave.stop();
  }
});

test('two nodes of one network fed the same log build the same blocks, a cut far ahead clamped alike', async () => {
  const genesis = readGenesisFile(path.join(ROOT, 'examples/consortium.json'));
  // Nodes of one network share a genesis time (a network file's "timestamp").
  genesis.network.timestamp = BigInt(Math.floor(Date.now() / 1000));
  const nodes: InProcessEnclave[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      nodes.push(await startInProcessEnclave({ chainId: genesis.chainId, devAccounts: 0, devBalance: 0n, network: genesis.network }));
    }
    const t0 = Number(genesis.network.timestamp!) * 1000;
    // The same log for both: cuts a month ahead, in the past, and a little ahead.
    const entries = [t0 + 30 * 86_400_000, 0, t0 + 86_400_000 + 5_000].map((timestamp) => ({ kind: 'cut' as const, timestamp, allowEmpty: true }));
    const heads: [string, bigint][][] = [];
    for (const node of nodes) {
      const { blocks } = (await node.ask({ type: 'order', entries })) as { blocks: { number: bigint; hash: string }[] };
      await node.ask({ type: 'durable', number: blocks.at(-1)!.number });
      const read = (n: bigint) => node.read({ kind: 'block', block: n, fullTransactions: false }) as Promise<{ hash: string; timestamp: string }>;
      heads.push(await Promise.all([0n, 1n, 2n, 3n].map(async (n) => { const b = await read(n); return [b.hash, BigInt(b.timestamp)] as [string, bigint]; })));
    }
    assert.deepEqual(heads[0], heads[1], 'both nodes build the same genesis and blocks');
    const base = genesis.network.timestamp!;
    assert.deepEqual(heads[0]!.map(([, t]) => t), [base, base + MAX_TIMESTAMP_STEP, base + MAX_TIMESTAMP_STEP + 1n, base + MAX_TIMESTAMP_STEP + 5n]);
  } finally {
    for (const node of nodes) await node.stop();
  }
});
