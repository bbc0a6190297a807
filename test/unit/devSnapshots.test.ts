// evm_snapshot / evm_revert bookkeeping: a revert restores each key's value from before
// the first entry after the snapshot, deletes later snapshots, and the memory bounds
// forget the oldest snapshots (a revert to one is told apart from an unknown id).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DevSnapshots } from '../../runtime/chain/DevSnapshots.ts';

const A = '0x00000000000000000000000000000000000000aa';
const account = (balance: bigint) => ({ nonce: 0n, balance, codeHash: new Uint8Array(32) });
/** The undo set of an entry that changed A's balance from `from` and slot 0x1 from `slot`. */
const undo = (from: bigint | undefined, slot?: number) => ({
  priorAccounts: new Map([[A, from === undefined ? undefined : account(from)]]),
  priorStorage: new Map(slot === undefined ? [] : [[A, new Map([['0x01', Uint8Array.of(slot)]])]]),
});
const take = (s: DevSnapshots<number>, block: number) => s.take({ block, clock: { offset: 0n }, queue: [] });

test('a revert restores the oldest prior of each key since the snapshot and deletes later snapshots', () => {
  const s = new DevSnapshots<number>(1_000, 100);
  s.record(undo(1n)); // kept for no snapshot: none is live
  const first = take(s, 1);
  s.record(undo(10n, 7));
  const second = take(s, 2);
  s.record(undo(20n, 8));
  s.record(undo(30n));
  assert.equal(first, 1n);
  assert.equal(second, 2n);
  const reverted = s.revert(first)!;
  assert.equal(reverted.snapshot.block, 1);
  assert.equal(reverted.restore.priorAccounts.get(A)?.balance, 10n);
  assert.deepEqual([...reverted.restore.priorStorage.get(A)!.values()][0], Uint8Array.of(7));
  assert.equal(s.revert(second), undefined, 'a later snapshot went with it');
  assert.equal(s.revert(first), undefined, 'and so did the snapshot itself');
  assert.equal(s.forgotten(first), false);
});

test('past the key bound or the snapshot bound the oldest snapshots are forgotten, and said so', () => {
  const byKeys = new DevSnapshots<number>(3, 100);
  const old = take(byKeys, 1);
  byKeys.record(undo(1n, 1));
  const recent = take(byKeys, 2);
  byKeys.record(undo(2n, 2)); // 4 keys kept > 3: the oldest snapshot goes
  assert.equal(byKeys.forgotten(old), true);
  assert.equal(byKeys.revert(old), undefined);
  assert.equal(byKeys.revert(recent)?.restore.priorAccounts.get(A)?.balance, 2n);

  const byCount = new DevSnapshots<number>(1_000, 2);
  const ids = [take(byCount, 1), take(byCount, 2), take(byCount, 3)];
  assert.equal(byCount.forgotten(ids[0]!), true);
  assert.equal(byCount.forgotten(ids[1]!), false);
  assert.ok(byCount.revert(ids[1]!));
  assert.equal(byCount.forgotten(99n), false, 'an id never given is unknown, not forgotten');
});
