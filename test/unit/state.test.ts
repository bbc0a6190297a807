/**
 * Unit tests of the enclave's state layer (runtime/state/): the journaled state
 * manager over the committed WorldState and over an Overlay, WorldState's block change
 * sets and state root, and History's reads of recent blocks.
 *
 * The state root is compared with @ethereumjs/statemanager's MerkleStateManager driven
 * through the same StateManagerInterface calls: equal roots after creations, updates,
 * storage zeroing, deletions and re-creations show that WorldState computes the real
 * Ethereum state root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateManagerInterface } from '@ethereumjs/common';
import { MerkleStateManager } from '@ethereumjs/statemanager';
import { Account, bytesToHex, createAddressFromString, hexToBytes, KECCAK256_NULL, KECCAK256_RLP, setLengthLeft, type Address } from '@ethereumjs/util';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { History } from '../../runtime/state/History.ts';
import { JournaledStateManager } from '../../runtime/state/JournaledStateManager.ts';
import { Overlay } from '../../runtime/state/Overlay.ts';
import type { AccountRecord, StateReader } from '../../runtime/state/types.ts';
import { WorldState } from '../../runtime/state/WorldState.ts';

const A = '0x' + 'aa'.repeat(20);
const B = '0x' + 'bb'.repeat(20);
const C = '0x' + 'cc'.repeat(20);
const D = '0x' + 'dd'.repeat(20);
const addr = (a: string): Address => createAddressFromString(a);
/** A 32-byte slot key as the state layer names it (0x hex). */
const slot = (n: number | bigint): string => bytesToHex(setLengthLeft(hexToBytes(`0x${BigInt(n).toString(16).padStart(2, '0')}` as `0x${string}`), 32));
const key = (n: number | bigint): Uint8Array => hexToBytes(slot(n) as `0x${string}`);
/** A minimal big-endian value (no leading zeros), as the stores keep them. */
const val = (n: number | bigint): Uint8Array => {
  let h = BigInt(n).toString(16);
  if (h.length % 2) h = '0' + h;
  return hexToBytes(`0x${h}` as `0x${string}`);
};
const word = (n: number | bigint): Uint8Array => setLengthLeft(val(n), 32);
const rec = (nonce: bigint, balance: bigint, codeHash: Uint8Array = KECCAK256_NULL): AccountRecord => ({ nonce, balance, codeHash });
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : bytesToHex(b));

/** Everything a reader holds for some addresses, in comparable form. */
function dump(state: StateReader, addresses: string[]) {
  return addresses.map((a) => {
    const account = state.account(a);
    return {
      address: a,
      account: account && { nonce: account.nonce, balance: account.balance, codeHash: bytesToHex(account.codeHash) },
      storage: [...state.slots(a)].map(([s, v]) => [s, bytesToHex(v)]).sort(([x], [y]) => (x! < y! ? -1 : 1)),
    };
  });
}

function journaled(world: WorldState): JournaledStateManager {
  return new JournaledStateManager(world, (a) => world.storageRootOf(a), () => world.stateRoot());
}

// ---------------------------------------------------------------------------------------
// JournaledStateManager: checkpoint / commit / revert
// ---------------------------------------------------------------------------------------

function seededWorld(): WorldState {
  const world = new WorldState();
  world.setAccount(A, rec(1n, 100n));
  world.setStorage(A, slot(1), val(1));
  world.setStorage(A, slot(2), val(2));
  world.setAccount(C, rec(0n, 7n));
  world.takeChanges();
  return world;
}

test('journal: nested checkpoint/commit/revert restores accounts and storage exactly', async () => {
  const world = seededWorld();
  const sm = journaled(world);
  const all = [A, B, C, D];
  const initial = dump(world, all);
  const rootBefore = bytesToHex(await world.stateRoot());

  await sm.checkpoint(); // outer
  await sm.modifyAccountFields(addr(A), { balance: 200n });
  await sm.putStorage(addr(A), key(1), word(10));
  await sm.putStorage(addr(A), key(3), word(30));
  await sm.putAccount(addr(B), new Account(0n, 5n));
  const afterOuterWrites = dump(world, all);

  await sm.checkpoint(); // inner 1: reverted
  await sm.deleteAccount(addr(A));
  await sm.putStorage(addr(C), key(9), word(99));
  await sm.putCode(addr(D), new Uint8Array([0x60, 0x00]));
  assert.equal(world.account(A), undefined);
  assert.deepEqual([...world.slots(A)], []);
  await sm.revert();
  assert.deepEqual(dump(world, all), afterOuterWrites, 'inner revert restores the state after the outer writes');

  await sm.checkpoint(); // inner 2: committed into the outer
  await sm.modifyAccountFields(addr(A), { nonce: 5n });
  await sm.putStorage(addr(A), key(2), word(0)); // zeroing
  await sm.commit();
  assert.equal(world.account(A)!.nonce, 5n);
  assert.equal(world.storage(A, slot(2)), undefined);

  await sm.checkpoint(); // inner 3: nested twice, then reverted
  await sm.checkpoint();
  await sm.modifyAccountFields(addr(C), { balance: 1n });
  await sm.commit();
  await sm.clearStorage(addr(A));
  await sm.revert();
  assert.equal(world.account(C)!.balance, 7n);
  assert.equal(hex(world.storage(A, slot(1))), hex(val(10)));

  await sm.revert(); // outer: everything, including inner 2's committed writes
  assert.deepEqual(dump(world, all), initial);
  assert.equal(world.account(B), undefined);
  assert.equal(world.storage(A, slot(3)), undefined);
  assert.equal(bytesToHex(await world.stateRoot()), rootBefore, 'the state root is back too');
});

test('journal: a committed outermost checkpoint is final', async () => {
  const world = seededWorld();
  const sm = journaled(world);
  await sm.checkpoint();
  await sm.putStorage(addr(A), key(1), word(11));
  await sm.commit();
  // A revert with no checkpoint open has nothing to undo.
  await sm.revert();
  assert.equal(hex(world.storage(A, slot(1))), hex(val(11)));
});

test('journal: clearStorage and deleteAccount are reverted exactly', async () => {
  const world = seededWorld();
  const sm = journaled(world);
  await sm.putCode(addr(A), new Uint8Array([0x60, 0x01, 0x60, 0x00, 0x55]));
  const before = dump(world, [A]);
  const code = await sm.getCode(addr(A));

  await sm.checkpoint();
  await sm.clearStorage(addr(A));
  assert.deepEqual([...world.slots(A)], []);
  assert.deepEqual(await sm.getStorage(addr(A), key(1)), new Uint8Array());
  assert.ok(world.account(A), 'clearStorage keeps the account');
  await sm.revert();
  assert.deepEqual(dump(world, [A]), before);

  await sm.checkpoint();
  await sm.deleteAccount(addr(A));
  assert.equal(await sm.getAccount(addr(A)), undefined);
  assert.deepEqual(await sm.getCode(addr(A)), new Uint8Array());
  assert.deepEqual([...world.slots(A)], []);
  await sm.revert();
  assert.deepEqual(dump(world, [A]), before);
  assert.deepEqual(await sm.getCode(addr(A)), code);
  assert.deepEqual(await sm.getStorage(addr(A), key(2)), val(2));
});

test('journal: originalStorageCache answers the value at transaction start, even after writes', async () => {
  const world = seededWorld();
  const sm = journaled(world);
  const orig = (n: number) => sm.originalStorageCache.get(addr(A), key(n));

  // Transaction 1: slot 1 starts at 1, slot 5 at zero.
  await sm.putStorage(addr(A), key(1), word(50));
  await sm.putStorage(addr(A), key(1), word(51));
  assert.deepEqual(await orig(1), val(1));
  await sm.putStorage(addr(A), key(5), word(5));
  assert.deepEqual(await orig(5), new Uint8Array());
  // Read first, then written: still the start value.
  assert.deepEqual(await orig(2), val(2));
  await sm.putStorage(addr(A), key(2), word(0));
  assert.deepEqual(await orig(2), val(2));
  // A reverted inner frame does not change the originals.
  await sm.checkpoint();
  await sm.putStorage(addr(A), key(1), word(52));
  await sm.revert();
  assert.deepEqual(await orig(1), val(1));
  assert.deepEqual(await sm.getStorage(addr(A), key(1)), val(51));

  // Transaction 2 starts: originals are the values transaction 1 left.
  sm.originalStorageCache.clear();
  assert.deepEqual(await orig(1), val(51));
  assert.deepEqual(await orig(2), new Uint8Array());
  assert.deepEqual(await orig(5), val(5));
  await sm.putStorage(addr(A), key(1), word(0));
  assert.deepEqual(await orig(1), val(51));
});

test('journal: storage values are kept minimal and keys must be 32 bytes', async () => {
  const world = new WorldState();
  const sm = journaled(world);
  await sm.putAccount(addr(A), new Account(0n, 1n));
  await sm.putStorage(addr(A), key(1), word(0x1234));
  assert.equal(hex(world.storage(A, slot(1))), '0x1234');
  await sm.putStorage(addr(A), key(1), new Uint8Array(32));
  assert.equal(world.storage(A, slot(1)), undefined, 'zero is absence');
  await assert.rejects(sm.putStorage(addr(A), new Uint8Array(31), val(1)));
  await assert.rejects(sm.getStorage(addr(A), new Uint8Array(33)));
  await assert.rejects(sm.putStorage(addr(A), key(1), new Uint8Array(33)));
});

// ---------------------------------------------------------------------------------------
// Overlay
// ---------------------------------------------------------------------------------------

test('overlay: writes are visible through it and never reach the base', async () => {
  const base = seededWorld();
  const code = new Uint8Array([0x60, 0x2a]);
  const codeHash = bytesToHex(keccak_256(code));
  const baseDump = dump(base, [A, B, C, D]);
  const baseRoot = bytesToHex(await base.stateRoot());

  const overlay = new Overlay(base);
  overlay.setAccount(A, rec(2n, 5n));
  overlay.setStorage(A, slot(1), val(9));
  overlay.setStorage(A, slot(2), undefined);
  overlay.setStorage(A, slot(3), val(3));
  overlay.setAccount(B, rec(0n, 1n));
  overlay.setAccount(C, undefined);
  overlay.putCode(codeHash, code);

  assert.equal(overlay.account(A)!.balance, 5n);
  assert.equal(hex(overlay.storage(A, slot(1))), '0x09');
  assert.equal(overlay.storage(A, slot(2)), undefined);
  assert.equal(hex(overlay.storage(A, slot(3))), '0x03');
  assert.deepEqual(dump(overlay, [A])[0]!.storage, [
    [slot(1), '0x09'],
    [slot(3), '0x03'],
  ]);
  assert.ok(overlay.account(B));
  assert.equal(overlay.account(C), undefined);
  assert.deepEqual(overlay.code(codeHash), code);

  // The base is untouched: same content, same root, nothing recorded as changed.
  assert.deepEqual(dump(base, [A, B, C, D]), baseDump);
  assert.equal(base.code(codeHash), undefined);
  assert.equal(bytesToHex(await base.stateRoot()), baseRoot);
  const changes = base.takeChanges();
  assert.equal(changes.accounts.size + changes.storage.size + changes.codes.size, 0);
});

test('overlay: the journaled manager over an overlay deletes, reverts, and leaves the base alone', async () => {
  const base = seededWorld();
  const baseDump = dump(base, [A, B, C]);
  const overlay = new Overlay(base);
  const sm = new JournaledStateManager(overlay);

  await sm.checkpoint();
  await sm.deleteAccount(addr(A));
  assert.equal(overlay.account(A), undefined);
  assert.equal(overlay.storage(A, slot(1)), undefined, 'a deleted account has no storage, whatever the base holds');
  assert.deepEqual([...overlay.slots(A)], []);
  await sm.revert();
  assert.deepEqual(dump(overlay, [A, B, C]), baseDump, 'the overlay reads as the base again');

  await sm.deleteAccount(addr(A));
  await sm.modifyAccountFields(addr(A), { balance: 3n }); // re-created, empty storage
  assert.equal(overlay.storage(A, slot(1)), undefined);
  assert.deepEqual([...overlay.slots(A)], []);
  await sm.putStorage(addr(A), key(7), word(7));
  assert.deepEqual(dump(overlay, [A])[0]!.storage, [[slot(7), '0x07']]);
  assert.deepEqual(dump(base, [A, B, C]), baseDump);
  await assert.rejects(sm.getStateRoot(), /no state root/);
});

// ---------------------------------------------------------------------------------------
// WorldState: change sets
// ---------------------------------------------------------------------------------------

test('world: takeChanges reports new values and the values before the block', () => {
  const world = new WorldState();
  const code = new Uint8Array([0x00]);
  const codeHash = bytesToHex(keccak_256(code));

  // Block 1: A created and changed twice, a slot written twice, code stored twice.
  world.setAccount(A, rec(0n, 10n));
  world.setAccount(A, rec(1n, 9n));
  world.setStorage(A, slot(1), val(1));
  world.setStorage(A, slot(1), val(2));
  world.putCode(codeHash, code);
  world.putCode(codeHash, code);
  const c1 = world.takeChanges();
  assert.deepEqual([...c1.accounts.keys()], [A]);
  assert.deepEqual(c1.accounts.get(A), rec(1n, 9n));
  assert.ok(c1.priorAccounts.has(A));
  assert.equal(c1.priorAccounts.get(A), undefined, 'A did not exist before block 1');
  assert.equal(hex(c1.storage.get(A)!.get(slot(1))), '0x02');
  assert.ok(c1.priorStorage.get(A)!.has(slot(1)));
  assert.equal(c1.priorStorage.get(A)!.get(slot(1)), undefined);
  assert.deepEqual([...c1.codes.keys()], [codeHash]);

  // Block 2: the slot zeroed, a slot set and reset to its old value, A deleted, code again.
  world.setStorage(A, slot(1), undefined);
  world.setStorage(A, slot(2), val(5));
  world.setStorage(A, slot(2), undefined);
  world.setAccount(A, undefined);
  world.putCode(codeHash, code);
  const c2 = world.takeChanges();
  assert.ok(c2.accounts.has(A));
  assert.equal(c2.accounts.get(A), undefined, 'deleted');
  assert.deepEqual(c2.priorAccounts.get(A), rec(1n, 9n));
  assert.equal(c2.storage.get(A)!.get(slot(1)), undefined);
  assert.equal(hex(c2.priorStorage.get(A)!.get(slot(1))), '0x02');
  assert.ok(c2.storage.get(A)!.has(slot(2)), 'a touched slot is reported even if unchanged overall');
  assert.equal(c2.storage.get(A)!.get(slot(2)), undefined);
  assert.equal(c2.priorStorage.get(A)!.get(slot(2)), undefined);
  assert.equal(c2.codes.size, 0, 'code is content-addressed: stored once');
  assert.deepEqual(world.code(codeHash), code);

  // Block 3: nothing.
  const c3 = world.takeChanges();
  assert.equal(c3.accounts.size + c3.storage.size + c3.codes.size + c3.priorAccounts.size + c3.priorStorage.size, 0);
});

test('world: replaying the change sets into a fresh WorldState reproduces state and root', async () => {
  const world = new WorldState();
  const replica = new WorldState();
  const sm = journaled(world);
  const steps: (() => Promise<void>)[] = [
    async () => {
      await sm.modifyAccountFields(addr(A), { balance: 100n });
      await sm.putCode(addr(C), new Uint8Array([0x60, 0x00, 0x60, 0x00]));
      await sm.putStorage(addr(C), key(1), word(1));
      await sm.putStorage(addr(C), key(2), word(2));
    },
    async () => {
      await sm.putStorage(addr(C), key(1), word(0));
      await sm.modifyAccountFields(addr(B), { nonce: 3n });
    },
    async () => {
      await sm.deleteAccount(addr(C));
      await sm.modifyAccountFields(addr(A), { balance: 0n, nonce: 1n });
    },
  ];
  for (const step of steps) {
    await step();
    const root = bytesToHex(await world.stateRoot());
    replica.apply(world.takeChanges());
    replica.takeChanges();
    assert.equal(bytesToHex(await replica.stateRoot()), root);
    assert.deepEqual(dump(replica, [A, B, C]), dump(world, [A, B, C]));
  }
});

// ---------------------------------------------------------------------------------------
// WorldState: the state root is Ethereum's (checked against MerkleStateManager)
// ---------------------------------------------------------------------------------------

/** A deterministic byte stream for the many-accounts phase. */
function stream(seed: string) {
  let state = keccak_256(new TextEncoder().encode(seed));
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        if (i % 32 === 0 && i > 0) state = keccak_256(state);
        out[i] = state[i % 32]!;
      }
      state = keccak_256(state);
      return out;
    },
    int(max: number): number {
      const b = this.bytes(4);
      return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % max;
    },
  };
}

test('world: stateRoot equals MerkleStateManager for the same writes, deletions and storage zeroing included', async () => {
  const world = new WorldState();
  const ours = journaled(world);
  const reference = new MerkleStateManager();
  const both = async (fn: (sm: StateManagerInterface) => Promise<void>) => {
    await fn(ours);
    await fn(reference);
  };
  const roots: string[] = [];
  const compare = async (label: string) => {
    const root = bytesToHex(await ours.getStateRoot());
    assert.equal(root, bytesToHex(await reference.getStateRoot()), label);
    roots.push(root);
  };

  await compare('empty state');
  assert.equal(bytesToHex(await world.stateRoot()), bytesToHex(KECCAK256_RLP));

  // Phase 1: accounts, code, storage (with a padded value, which is stored unpadded).
  await both(async (sm) => {
    await sm.modifyAccountFields(addr(A), { nonce: 1n, balance: 10n ** 18n });
    await sm.modifyAccountFields(addr(B), { balance: 5n });
    await sm.putCode(addr(C), new Uint8Array([0x60, 0x80, 0x60, 0x40, 0x52]));
    await sm.modifyAccountFields(addr(C), { nonce: 1n });
    await sm.putStorage(addr(C), key(1), val(1));
    await sm.putStorage(addr(C), key(2), new Uint8Array(32).fill(0xff));
    await sm.putStorage(addr(C), key(3), word(0x42));
    await sm.modifyAccountFields(addr(D), { nonce: 1n });
    await sm.putStorage(addr(D), key(1), val(0xd1));
    await sm.putStorage(addr(D), key(2), val(0xd2));
  });
  await compare('phase 1: creations');

  // Phase 2: updates, storage zeroing, deletion of an account with storage and of one without.
  await both(async (sm) => {
    await sm.putStorage(addr(C), key(1), new Uint8Array(32));
    await sm.putStorage(addr(C), key(4), val(7));
    await sm.modifyAccountFields(addr(A), { balance: 2n, nonce: 2n });
    await sm.clearStorage(addr(D));
    await sm.deleteAccount(addr(D));
    await sm.deleteAccount(addr(B));
  });
  await compare('phase 2: updates, zeroing, deletions');
  assert.equal(world.account(D), undefined);
  assert.equal(world.account(B), undefined);

  // Phase 3: the deleted account re-created with other storage; all of C's storage zeroed.
  await both(async (sm) => {
    await sm.modifyAccountFields(addr(D), { nonce: 1n, balance: 1n });
    await sm.putStorage(addr(D), key(9), val(9));
    for (const k of [2, 3, 4]) await sm.putStorage(addr(C), key(k), new Uint8Array());
  });
  await compare('phase 3: re-creation, storage emptied');
  assert.deepEqual(world.storageRootOf(C), KECCAK256_RLP);

  // Phase 4: many accounts and slots (deep tries with branch and extension nodes).
  const rnd = stream('conclave-state-root');
  const many: string[] = [];
  for (let i = 0; i < 150; i++) many.push(bytesToHex(rnd.bytes(20)));
  const slotsOf = new Map<string, Uint8Array[]>();
  const balanceOf = new Map<string, bigint>();
  for (const a of many) {
    slotsOf.set(a, Array.from({ length: rnd.int(6) }, () => rnd.bytes(32)));
    balanceOf.set(a, BigInt(bytesToHex(rnd.bytes(8))));
  }
  await both(async (sm) => {
    for (const a of many) {
      await sm.modifyAccountFields(addr(a), { nonce: 1n, balance: balanceOf.get(a)! });
      for (const k of slotsOf.get(a)!) await sm.putStorage(addr(a), k, k.subarray(0, 12));
    }
  });
  assert.ok([...slotsOf.values()].filter((s) => s.length > 0).length > 50, 'many accounts have storage');
  await compare('phase 4: many accounts');

  // Phase 5: half of them deleted, some slots zeroed, a few re-created.
  await both(async (sm) => {
    for (const [i, a] of many.entries()) {
      if (i % 2 === 0) {
        await sm.clearStorage(addr(a));
        await sm.deleteAccount(addr(a));
      } else {
        const first = slotsOf.get(a)![0];
        if (first) await sm.putStorage(addr(a), first, new Uint8Array());
      }
    }
    for (const a of many.slice(0, 10)) await sm.modifyAccountFields(addr(a), { nonce: 9n });
  });
  await compare('phase 5: mass deletion and zeroing');

  // Phase 6: a reverted checkpoint leaves both roots where they were.
  const rootBefore = bytesToHex(await ours.getStateRoot());
  await both(async (sm) => {
    await sm.checkpoint();
    await sm.modifyAccountFields(addr(A), { balance: 12345n });
    await sm.putStorage(addr(C), key(1), val(1));
    await sm.deleteAccount(addr(D));
    await sm.revert();
  });
  await compare('phase 6: after a revert');
  assert.equal(bytesToHex(await ours.getStateRoot()), rootBefore);
  // Every phase changed the root (phase 6 aside): the comparisons were not vacuous.
  assert.equal(new Set(roots.slice(0, -1)).size, roots.length - 1);
});

// ---------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------

test('history: at(n) answers the state at the end of recent blocks', () => {
  const world = new WorldState();
  const history = new History(world, 3, () => world.inProgress());

  // block 0
  world.setAccount(A, rec(0n, 100n));
  world.setStorage(A, slot(1), val(1));
  history.record(0, world.takeChanges());
  // block 1
  world.setAccount(A, rec(1n, 90n));
  world.setStorage(A, slot(1), val(2));
  world.setStorage(A, slot(2), val(5));
  world.setAccount(B, rec(0n, 1n));
  history.record(1, world.takeChanges());
  // block 2
  world.setStorage(A, slot(1), undefined);
  world.setStorage(A, slot(2), val(6));
  world.setAccount(B, undefined);
  history.record(2, world.takeChanges());

  assert.ok(history.covers(0) && history.covers(1) && history.covers(2));
  assert.equal(history.covers(3), false, 'the future is not covered');

  const at0 = history.at(0);
  assert.deepEqual(at0.account(A), rec(0n, 100n));
  assert.equal(hex(at0.storage(A, slot(1))), '0x01');
  assert.equal(at0.storage(A, slot(2)), undefined);
  assert.equal(at0.account(B), undefined);
  assert.deepEqual(dump(at0, [A])[0]!.storage, [[slot(1), '0x01']]);

  const at1 = history.at(1);
  assert.deepEqual(at1.account(A), rec(1n, 90n));
  assert.equal(hex(at1.storage(A, slot(1))), '0x02');
  assert.equal(hex(at1.storage(A, slot(2))), '0x05');
  assert.deepEqual(at1.account(B), rec(0n, 1n));
  assert.deepEqual(dump(at1, [A])[0]!.storage, [
    [slot(1), '0x02'],
    [slot(2), '0x05'],
  ]);

  const at2 = history.at(2);
  assert.equal(at2.storage(A, slot(1)), undefined);
  assert.equal(at2.account(B), undefined);

  // A block being built is invisible at the head until it is recorded.
  world.setStorage(A, slot(1), val(9));
  world.setAccount(B, rec(0n, 7n));
  assert.equal(history.at(2).storage(A, slot(1)), undefined, 'in-progress write hidden');
  assert.equal(history.at(2).account(B), undefined, 'in-progress account hidden');
  assert.equal(hex(history.at(1).storage(A, slot(1))), '0x02');
  world.setStorage(A, slot(1), undefined);
  world.setAccount(B, undefined);
  world.takeChanges();

  // Two more blocks: depth 3 keeps blocks 2..4 undoable, so block 1 is the oldest covered.
  world.setAccount(A, rec(2n, 80n));
  history.record(3, world.takeChanges());
  world.setStorage(A, slot(2), val(7));
  history.record(4, world.takeChanges());
  assert.equal(history.covers(0), false, 'older than the depth');
  assert.ok(history.covers(1));
  assert.deepEqual(history.at(1).account(A), rec(1n, 90n));
  assert.equal(hex(history.at(1).storage(A, slot(2))), '0x05');
  assert.equal(hex(history.at(2).storage(A, slot(2))), '0x06');
  assert.deepEqual(history.at(2).account(A), rec(1n, 90n));
  assert.deepEqual(history.at(3).account(A), rec(2n, 80n));
  assert.equal(hex(history.at(3).storage(A, slot(2))), '0x06');
  assert.equal(hex(history.at(4).storage(A, slot(2))), '0x07');

  // A gap in block numbers starts history over.
  world.setAccount(A, rec(3n, 70n));
  history.record(10, world.takeChanges());
  assert.ok(history.covers(10) && history.covers(9));
  assert.equal(history.covers(8), false);
  assert.deepEqual(history.at(9).account(A), rec(2n, 80n));
});

test('history: a budget of overwritten keys bounds memory whatever the block sizes, above a minimum depth', () => {
  const world = new WorldState();
  const history = new History(world, 100, () => world.inProgress(), { maxKeys: 10, minDepth: 2 });
  // Blocks 0..3 overwrite 4 keys each (an account and three slots): past 10 keys the
  // oldest undo sets go. The undo sets of blocks 2 and 3 answer blocks 1..3.
  for (let n = 0; n <= 3; n++) {
    world.setAccount(A, rec(BigInt(n), 100n));
    for (let i = 0; i < 3; i++) world.setStorage(A, slot(i), val(n + 1));
    history.record(n, world.takeChanges());
  }
  assert.equal(history.covers(0), false);
  assert.ok(history.covers(1) && history.covers(3));
  assert.equal(hex(history.at(1).storage(A, slot(0))), '0x02');
  assert.deepEqual(history.at(1).account(A), rec(1n, 100n));
  // One huge block: over budget on its own, yet the last minDepth blocks stay.
  for (let i = 0; i < 50; i++) world.setStorage(A, slot(i), val(9));
  history.record(4, world.takeChanges());
  assert.ok(history.covers(2) && history.covers(4));
  assert.equal(history.covers(1), false);
  assert.equal(hex(history.at(2).storage(A, slot(0))), '0x03');
  assert.equal(history.at(2).storage(A, slot(40)), undefined);
  assert.equal(hex(history.at(4).storage(A, slot(40))), '0x09');
});

test('history: a view stays the state of its block while later blocks are built, and a pin keeps it covered', () => {
  const world = new WorldState();
  const history = new History(world, 2, () => world.inProgress());
  world.setAccount(A, rec(0n, 100n));
  history.record(0, world.takeChanges());
  world.setAccount(A, rec(1n, 90n));
  history.record(1, world.takeChanges());

  const view = history.at(1);
  const pinned = history.pin(0);
  assert.deepEqual(view.account(A), rec(1n, 90n));
  // Blocks 2..4 are built and recorded while the views are held (a call that yields).
  for (let n = 2; n <= 4; n++) {
    world.setAccount(A, rec(BigInt(n), 100n - 10n * BigInt(n)));
    world.setStorage(A, slot(1), val(n));
    assert.deepEqual(view.account(A), rec(1n, 90n), `mid-block ${n}`);
    history.record(n, world.takeChanges());
    assert.deepEqual(view.account(A), rec(1n, 90n), `after block ${n}`);
    assert.equal(view.storage(A, slot(1)), undefined);
    assert.deepEqual(pinned.state.account(A), rec(0n, 100n));
  }
  // Depth 2 would have let block 0 go long ago: the pin kept it.
  assert.ok(history.covers(0));
  pinned.release();
  pinned.release(); // a second release changes nothing
  world.setAccount(A, rec(5n, 50n));
  history.record(5, world.takeChanges());
  assert.equal(history.covers(0), false, 'released: trimmed to the depth again');
  assert.ok(history.covers(3));
});

test('history: state set between blocks (dev methods) belongs to the block before it; amends merge without touching a shared undo set', () => {
  const world = new WorldState();
  const history = new History(world, 8, () => world.inProgress());
  world.setAccount(A, rec(0n, 100n));
  world.setStorage(A, slot(1), val(1));
  history.record(0, world.takeChanges());
  // Block 1 changes A's balance; its undo set is also handed elsewhere (dev snapshots).
  world.setAccount(A, rec(1n, 90n));
  const block1 = world.takeChanges();
  history.record(1, block1);
  const shared = { accounts: new Map(block1.priorAccounts), slots: block1.priorStorage.size };
  // Many amends after block 1: A again, a slot, a new account B.
  for (let i = 0; i < 50; i++) {
    world.setAccount(A, rec(1n, 80n - BigInt(i)));
    world.setStorage(A, slot(1), val(10 + i));
    world.setAccount(B, rec(0n, BigInt(i)));
    history.amend(world.takeChanges());
  }
  const at0 = history.at(0);
  assert.deepEqual(at0.account(A), rec(0n, 100n), 'before block 1: the oldest prior wins');
  assert.equal(hex(at0.storage(A, slot(1))), '0x01');
  assert.equal(at0.account(B), undefined);
  const at1 = history.at(1);
  assert.deepEqual(at1.account(A), rec(1n, 31n), 'block 1 includes the state set after it');
  assert.deepEqual(at1.account(B), rec(0n, 49n));
  assert.deepEqual(new Map(block1.priorAccounts), shared.accounts, 'the shared undo set is untouched');
  assert.equal(block1.priorStorage.size, shared.slots);
  // A later block: block 1's state (with its amends) is still answered.
  world.setAccount(B, rec(0n, 1000n));
  history.record(2, world.takeChanges());
  assert.deepEqual(history.at(1).account(B), rec(0n, 49n));
  assert.deepEqual(history.at(0).account(B), undefined);
});
