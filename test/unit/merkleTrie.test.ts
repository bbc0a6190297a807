import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createMPT } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex } from '@ethereumjs/util';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { MerkleTrie } from '../../runtime/state/MerkleTrie.ts';

/** Applies the same operations to ours and to @ethereumjs/mpt and compares roots after each round. */
async function compare(keyOf: (i: number) => Uint8Array, rounds: number, perRound: number, deleteEvery: number) {
  const ours = new MerkleTrie();
  const theirs = await createMPT();
  const live: Uint8Array[] = [];
  let i = 0;
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < perRound; j++, i++) {
      const key = keyOf(i);
      // Values of every length class: single byte, short, long (embedded vs hashed nodes).
      const value = RLP.encode(randomBytes([1, 3, 20, 40, 80][i % 5]!));
      ours.put(key, value);
      await theirs.put(key, value);
      live.push(key);
      if (deleteEvery && i % deleteEvery === 0) {
        const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
        ours.del(victim);
        await theirs.del(victim);
      }
    }
    assert.equal(bytesToHex(ours.root()), bytesToHex(theirs.root()), `round ${round}`);
  }
  // Delete everything: back to the empty root.
  for (const key of live) {
    ours.del(key);
    await theirs.del(key);
  }
  assert.equal(bytesToHex(ours.root()), bytesToHex(theirs.root()));
  assert.ok(ours.empty);
}

test('hashed 32-byte keys (state and storage tries) match @ethereumjs/mpt, with deletions', async () => {
  await compare(() => keccak_256(randomBytes(20)), 8, 150, 3);
});

test('short RLP index keys (receipt and transaction tries) match @ethereumjs/mpt', async () => {
  await compare((i) => RLP.encode(i), 6, 60, 0);
});

test('keys that are prefixes of one another, and deleting absent keys', async () => {
  const keys = ['', '01', '0102', '010203', '0103', 'ff', 'ff00', '0f'].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  await compare((i) => keys[i % keys.length]!, 1, keys.length, 0);
  const trie = new MerkleTrie();
  trie.put(keys[1]!, RLP.encode(1));
  const before = bytesToHex(trie.root());
  trie.del(keys[6]!);
  trie.del(keys[3]!);
  assert.equal(bytesToHex(trie.root()), before);
});

test('a node larger than any encoded before (the encoding buffer grows) hashes the same as @ethereumjs/mpt', async () => {
  for (const size of [5_000, 20_000, 70_000]) {
    const ours = new MerkleTrie();
    const theirs = await createMPT();
    const first = RLP.encode(randomBytes(size));
    ours.put(Uint8Array.of(1), first);
    await theirs.put(Uint8Array.of(1), first);
    assert.equal(bytesToHex(ours.root()), bytesToHex(theirs.root()), `a ${size}-byte root node`);
    // A larger leaf below a branch: the buffer grows while a child is encoded.
    const second = RLP.encode(randomBytes(size * 3));
    ours.put(Uint8Array.of(2), second);
    await theirs.put(Uint8Array.of(2), second);
    assert.equal(bytesToHex(ours.root()), bytesToHex(theirs.root()), `a ${size * 3}-byte leaf under a branch`);
  }
});
