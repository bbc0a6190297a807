/**
 * Consensus rules that come from the log's content only: block timestamps are clamped
 * to [parent + 1 s, parent + MAX_TIMESTAMP_STEP], whatever clock the cut carries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockTimestamp, MAX_TIMESTAMP_STEP } from '../../runtime/chain/Chain.ts';
import { startInProcessEnclave } from '../helpers/enclave.ts';

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
