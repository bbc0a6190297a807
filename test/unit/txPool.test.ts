import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ENCLAVE_LIMITS } from '../../runtime/boundary/limits.ts';
import type { OrderResult } from '../../runtime/boundary/messages.ts';
import type { Inspected } from '../../runtime/enclave/inspect.ts';
import { TxPool, type PoolLimits } from '../../runtime/enclave/TxPool.ts';
import { startInProcessEnclave } from '../helpers/enclave.ts';
import { DEV_ADDRESS_0, DEV_KEY_0 } from '../helpers/node.ts';

const A = '0x00000000000000000000000000000000000000aa';
const B = '0x00000000000000000000000000000000000000bb';
const RICH = 10n ** 18n;

/** A transaction of 21,000 gas at max fee 10 (cost 210,000), its hash unique per sender, nonce and fees. */
const tx = (nonce: bigint, over: Partial<Inspected> = {}): Inspected => {
  const t = { sender: A, nonce, gasLimit: 21_000n, maxFee: 10n, tip: 1n, value: 0n, ...over };
  const id = `${t.sender.slice(-2)}${nonce.toString(16).padStart(8, '0')}${t.maxFee.toString(16).padStart(8, '0')}${t.tip.toString(16).padStart(8, '0')}`;
  return { hash: `0x${id.padStart(64, '0')}`, envelope: new TextEncoder().encode(`${t.sender}:${nonce}`), ...t, ...over };
};
const envelopeOf = (sender: string, nonce: bigint) => new TextEncoder().encode(`${sender}:${nonce}`);

function poolWith(limits: Partial<PoolLimits> = {}, clock = { now: 0 }): TxPool {
  const pool = new TxPool(30_000_000n, 7n, { ...DEFAULT_ENCLAVE_LIMITS, ...limits }, () => clock.now);
  pool.update({ accounts: [[A, 0n, RICH], [B, 0n, RICH]], baseFee: 7n, dropped: [] }, () => true);
  return pool;
}

test('pool: checks against the followed account, and forgets what blocks included or dropped', () => {
  const pool = new TxPool(30_000_000n, 7n, DEFAULT_ENCLAVE_LIMITS);
  assert.equal(pool.follows(A), false);
  pool.update({ accounts: [[A, 2n, 10n ** 6n]], baseFee: 7n, dropped: [] }, () => true);
  assert.equal(pool.follows(A), true);

  assert.throws(() => pool.admit(tx(1n)), /nonce too low: next nonce 2, tx nonce 1/);
  assert.throws(() => pool.admit(tx(2n, { maxFee: 6n })), /max fee per gas less than block base fee/);
  assert.throws(() => pool.admit(tx(2n, { gasLimit: 31_000_000n })), /exceeds block gas limit/);
  assert.throws(() => pool.admit(tx(2n, { value: 10n ** 6n })), /insufficient funds for gas \* price \+ value/);
  assert.deepEqual(pool.admit(tx(2n)).envelopes, [envelopeOf(A, 2n)]);
  assert.throws(() => pool.admit(tx(2n)), /already known/);
  pool.admit(tx(3n));
  assert.deepEqual(pool.admit(tx(5n)).envelopes, [], 'gapped: queued, sealed for nobody');
  assert.equal(pool.nextNonce(A), 4n, 'counts the pending run from the account nonce, not queued ones');
  assert.deepEqual(pool.size, { pending: 2, queued: 1 });

  // A block included nonces 2 and 3 and the base fee moved.
  pool.update({ accounts: [[A, 4n, 10n ** 6n]], baseFee: 9n, dropped: [] });
  assert.deepEqual(pool.size, { pending: 0, queued: 1 });
  assert.equal(pool.nextNonce(A), 4n);
  assert.throws(() => pool.admit(tx(4n, { maxFee: 8n })), /baseFee: 9/);
  // Filling the gap takes the queued one along, in nonce order.
  assert.deepEqual(pool.admit(tx(4n, { maxFee: 9n })), {
    hash: tx(4n, { maxFee: 9n }).hash,
    envelopes: [envelopeOf(A, 4n), envelopeOf(A, 5n)],
    executable: [tx(4n, { maxFee: 9n }).hash, tx(5n).hash],
  });
  assert.deepEqual(pool.size, { pending: 2, queued: 0 });
  // Execution dropped nonce 5 (e.g. funds spent meanwhile): the pool forgets it.
  pool.update({ accounts: [[A, 5n, 10n ** 6n]], baseFee: 9n, dropped: [tx(5n).hash] });
  assert.deepEqual(pool.size, { pending: 0, queued: 0 });
  assert.equal(pool.nextNonce(A), 5n);
});

test('pool: a filled gap makes every contiguous queued transaction pending, in nonce order', () => {
  const pool = poolWith();
  for (const n of [3n, 1n, 2n, 5n]) assert.deepEqual(pool.admit(tx(n)).envelopes, []);
  const { envelopes } = pool.admit(tx(0n));
  assert.deepEqual(envelopes, [0n, 1n, 2n, 3n].map((n) => envelopeOf(A, n)));
  assert.deepEqual(pool.size, { pending: 4, queued: 1 });
  assert.equal(pool.nextNonce(A), 4n);
  // A block includes 0..3 and the account moves past them; 5 still waits for 4.
  pool.update({ accounts: [[A, 4n, RICH]], baseFee: 7n, dropped: [] });
  assert.deepEqual(pool.size, { pending: 0, queued: 1 });
  assert.deepEqual(pool.admit(tx(4n)).envelopes, [envelopeOf(A, 4n), envelopeOf(A, 5n)]);
});

test('pool: a queued transaction whose nonce a block passed is forgotten', () => {
  const pool = poolWith();
  pool.admit(tx(3n));
  pool.update({ accounts: [[A, 4n, RICH]], baseFee: 7n, dropped: [] });
  assert.deepEqual(pool.size, { pending: 0, queued: 0 });
});

test('pool: maximum nonce gap (poolMaxNonceGap), counted from the pending nonce', () => {
  const pool = poolWith({ poolMaxNonceGap: 4, poolAccountQueued: 100 });
  pool.admit(tx(4n));
  assert.throws(
    () => pool.admit(tx(5n)),
    (err: any) => err.kind === 'invalidInput' && /^nonce too high: next nonce 0, tx nonce 5: more than the maximum nonce gap \(poolMaxNonceGap\) of 4 ahead/.test(err.message),
  );
  pool.admit(tx(0n));
  pool.admit(tx(5n)); // the gap moves with the pending nonce
});

test('pool: per-account queued limit (poolAccountQueued)', () => {
  const pool = poolWith({ poolAccountQueued: 3 });
  for (const n of [1n, 2n, 3n]) pool.admit(tx(n));
  assert.throws(
    () => pool.admit(tx(4n)),
    (err: any) =>
      err.kind === 'limitExceeded' &&
      err.message === `account limit exceeded: ${A} has 3 queued transactions waiting for a nonce gap, the most one sender may have (poolAccountQueued)`,
  );
  pool.admit(tx(1n, { sender: B })); // another sender is not affected
  // The queued ones become pending when the gap fills, which frees the queue.
  assert.equal(pool.admit(tx(0n)).envelopes.length, 4);
  pool.admit(tx(5n));
});

test('pool: per-account pending limit (poolAccountPending); promotion stops at it', () => {
  const pool = poolWith({ poolAccountPending: 2 });
  pool.admit(tx(2n));
  pool.admit(tx(3n));
  assert.deepEqual(pool.admit(tx(0n)).envelopes, [envelopeOf(A, 0n)]);
  assert.deepEqual(pool.admit(tx(1n)).envelopes, [envelopeOf(A, 1n)], 'promotion stops at the limit');
  // Nonce 2 is executable now, but the sender's pending transactions are at the limit.
  assert.throws(
    () => pool.admit(tx(2n, { maxFee: 20n, tip: 2n })),
    (err: any) =>
      err.kind === 'limitExceeded' &&
      err.message === `account limit exceeded: ${A} has 2 pending transactions not yet in a block, the most one sender may have (poolAccountPending)`,
  );
  // A block includes 0 and 1: a replacement of the queued nonce 2 takes it and 3 onto the log.
  pool.update({ accounts: [[A, 2n, RICH]], baseFee: 7n, dropped: [] });
  assert.deepEqual(pool.admit(tx(2n, { maxFee: 11n, tip: 2n })).envelopes, [envelopeOf(A, 2n), envelopeOf(A, 3n)]);
});

test('pool: cumulative funds over the sender\'s pending and queued transactions', () => {
  const pool = poolWith();
  pool.update({ accounts: [[A, 0n, 500_000n]], baseFee: 7n, dropped: [] });
  pool.admit(tx(0n)); // 210,000
  pool.admit(tx(2n)); // 210,000, queued
  assert.throws(
    () => pool.admit(tx(1n)),
    (err: any) =>
      err.kind === 'invalidInput' &&
      err.message === `insufficient funds for gas * price + value: address ${A} have 500000 want 210000 (plus 420000 for its 2 other transactions in the pool)`,
  );
  // What is left can be spent.
  assert.equal(pool.admit(tx(1n, { value: 80_000n - 7n, gasLimit: 1n, maxFee: 7n })).envelopes.length, 2);
});

test('pool: global slots (poolSlots): the cheapest queued transaction is evicted for one paying more; pending ones never', () => {
  const pool = poolWith({ poolSlots: 3 });
  pool.admit(tx(0n));
  pool.admit(tx(2n, { maxFee: 12n }));
  pool.admit(tx(3n, { maxFee: 11n }));
  assert.deepEqual(pool.size, { pending: 1, queued: 2 });
  assert.throws(
    () => pool.admit(tx(1n, { sender: B, maxFee: 11n })),
    (err: any) =>
      err.kind === 'limitExceeded' &&
      /txpool is full: 3 transactions \(poolSlots\) wait, and this one pays no more than the cheapest queued one \(max fee per gas 11, priority fee 1\)$/.test(err.message),
  );
  // Pays more than the cheapest queued one (A's nonce 3): takes its slot.
  assert.deepEqual(pool.admit(tx(0n, { sender: B, maxFee: 11n, tip: 2n })).envelopes.length, 1);
  assert.equal(pool.get(tx(3n, { maxFee: 11n }).hash), undefined, 'evicted');
  assert.deepEqual(pool.size, { pending: 2, queued: 1 });
  pool.admit(tx(1n, { sender: B, maxFee: 100n }));
  assert.deepEqual(pool.size, { pending: 3, queued: 0 });
  // Full of pending transactions (on the log): refused, whatever it pays.
  assert.throws(
    () => pool.admit(tx(2n, { sender: B, maxFee: 1_000n })),
    /txpool is full: 3 transactions \(poolSlots\) are pending, on the ordering log and not yet in a block; try again after the next block$/,
  );
  // A block frees slots.
  pool.update({ accounts: [[B, 2n, RICH]], baseFee: 7n, dropped: [] });
  pool.admit(tx(2n, { sender: B }));
});

test('pool: a queued or pending transaction is replaced by one paying 10% more in fee cap and tip', () => {
  const pool = poolWith();
  pool.admit(tx(0n));
  pool.admit(tx(2n, { maxFee: 100n, tip: 10n }));
  assert.equal(pool.pendingAt(A, 0n), true);
  // A pending one (on the log) is replaced by a transaction sealed as its replacement.
  assert.throws(() => pool.admit(tx(0n, { maxFee: 10n, tip: 2n, replaces: true })), /replacement transaction underpriced: replacing pending nonce 0 of .* at least 10% more .*max fee per gas \(at least 11, have 10\)/);
  assert.throws(() => pool.admit(tx(0n, { maxFee: 1_000n, tip: 100n })), /must be sealed as one/);
  const speedUp = tx(0n, { maxFee: 11n, tip: 2n, replaces: true });
  assert.deepEqual(pool.admit(speedUp), { hash: speedUp.hash, envelopes: [speedUp.envelope], executable: [speedUp.hash] });
  assert.equal(pool.get(tx(0n).hash), undefined);
  assert.equal(pool.get(speedUp.hash)?.nonce, 0n);
  assert.equal(pool.nextNonce(A), 1n, 'still one pending');
  assert.throws(
    () => pool.admit(tx(2n, { maxFee: 109n, tip: 11n })),
    /replacement transaction underpriced: replacing queued nonce 2 of .* takes at least 10% more in both max fee per gas \(at least 110, have 109\) and priority fee \(at least 11, have 11\)$/,
  );
  assert.throws(() => pool.admit(tx(2n, { maxFee: 200n, tip: 10n })), /replacement transaction underpriced/, 'the tip must rise too');
  const replacement = tx(2n, { maxFee: 110n, tip: 11n });
  assert.deepEqual(pool.admit(replacement).envelopes, []);
  assert.equal(pool.get(tx(2n, { maxFee: 100n, tip: 10n }).hash), undefined);
  assert.deepEqual(pool.size, { pending: 1, queued: 1 });
  // The replacement's cost replaces the old one's in the funds check.
  pool.update({ accounts: [[A, 0n, 231_000n + 2_310_000n]], baseFee: 7n, dropped: [] });
  pool.admit(tx(2n, { maxFee: 121n, tip: 13n, gasLimit: 19_090n }));
});

test('pool: queued transactions expire after poolQueuedLifetimeMs; pending ones stay', () => {
  const clock = { now: 1_000 };
  const pool = poolWith({ poolQueuedLifetimeMs: 500 }, clock);
  pool.admit(tx(0n));
  pool.admit(tx(2n));
  clock.now = 1_400;
  pool.admit(tx(3n));
  assert.equal(pool.expire(), 0);
  clock.now = 1_500;
  assert.equal(pool.expire(), 1);
  assert.equal(pool.get(tx(2n).hash), undefined);
  assert.deepEqual(pool.size, { pending: 1, queued: 1 });
  clock.now = 10_000;
  assert.equal(pool.expire(), 1);
  assert.deepEqual(pool.size, { pending: 1, queued: 0 });
});

test('pool: the followed accounts are bounded (least recently used go), senders with transactions stay', () => {
  const pool = poolWith({ poolFollowedAccounts: 4 });
  const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`;
  pool.admit(tx(1n, { sender: B })); // B has a queued transaction: it stays
  // The pool asked for exactly the accounts of each report.
  const follow = (...i: number[]) => {
    const asked = new Set(i.map(addr));
    return pool.update({ accounts: i.map((n) => [addr(n), 0n, 0n]), baseFee: 7n, dropped: [] }, (a) => asked.has(a));
  };
  assert.deepEqual(follow(1, 2), []);
  pool.nextNonce(A); // A used most recently
  assert.deepEqual(follow(3), [addr(1)], 'the least recently used account without transactions goes');
  assert.equal(pool.followedCount, 4);
  assert.ok(pool.follows(A) && pool.follows(B) && pool.follows(addr(2)) && pool.follows(addr(3)));
  for (let i = 10; i < 10_000; i++) follow(i);
  assert.equal(pool.followedCount, 4);
  assert.ok(pool.follows(B), 'a sender with a queued transaction is never dropped');
  // Accounts just asked for stay, even beyond the bound, so the admissions waiting for them go on.
  follow(20_000, 20_001, 20_002, 20_003, 20_004);
  for (let i = 20_000; i <= 20_004; i++) assert.ok(pool.follows(addr(i)));
  // A report about an account the pool no longer follows (and did not ask for) is ignored.
  pool.update({ accounts: [[addr(1), 5n, 0n]], baseFee: 7n, dropped: [] });
  assert.equal(pool.follows(addr(1)), false);
  assert.throws(() => pool.nextNonce(addr(1)), /does not follow/);
});

test('execution: within a block, passes fill gaps in log order; a transaction still gapped when they end is dropped and the pool hears of it', async () => {
  const enclave = await startInProcessEnclave();
  const { ask, read } = enclave;
  const submit = async (nonce: number) => {
    const { envelopes } = await enclave.submitTransfer(DEV_KEY_0, nonce);
    assert.equal(envelopes.length, 1);
    return envelopes[0]!;
  };
  const cut = { kind: 'cut', timestamp: Date.now(), allowEmpty: false } as const;
  try {
    const [e0, e1] = [await submit(0), await submit(1)];
    // Out of nonce order in one block: the second pass takes nonce 1.
    let result = (await ask({ type: 'order', entries: [{ kind: 'tx', envelope: e1 }, { kind: 'tx', envelope: e0 }, cut] })) as OrderResult;
    assert.equal(result.blocks.length, 1);
    await ask({ type: 'durable', number: 1n });
    assert.equal(await read({ kind: 'blockTxCount', block: 1n }), 2n);

    const [e2, e3] = [await submit(2), await submit(3)];
    // Nonce 3 alone at a cut: gapped when the block's passes end, so dropped (no block).
    result = (await ask({ type: 'order', entries: [{ kind: 'tx', envelope: e3 }, cut] })) as OrderResult;
    assert.equal(result.blocks.length, 0);
    assert.equal(result.waiting, 0);
    result = (await ask({ type: 'order', entries: [{ kind: 'tx', envelope: e2 }, cut] })) as OrderResult;
    assert.equal(result.blocks.length, 1);
    await ask({ type: 'durable', number: 2n });
    assert.equal(await read({ kind: 'blockTxCount', block: 2n }), 1n, 'nonce 3 did not wait for nonce 2');
    assert.equal(await read({ kind: 'nonce', address: DEV_ADDRESS_0, block: 'latest' }), 3n);
    // The pool forgot nonce 3 (dropped) and nonce 2 (included): the next nonce is 3 again.
    for (let i = 0; (await read({ kind: 'nonce', address: DEV_ADDRESS_0, block: 'pending' })) !== 3n; i++) {
      assert.ok(i < 100, 'the pool hears of the drop');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await enclave.stop();
  }
});
