import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Block, createBlockHeader } from '@ethereumjs/block';
import { createTx, type TypedTransaction } from '@ethereumjs/tx';
import { RLP } from '@ethereumjs/rlp';
import { bigIntToUnpaddedBytes, bytesToHex, createAddressFromString, hexToBytes, intToBytes, KECCAK256_NULL, KECCAK256_RLP, setLengthLeft } from '@ethereumjs/util';
import { decodeSnapshot, encodeSnapshot, serializeBlock } from '../../runtime/chain/codec.ts';
import { keccak256 } from '../../runtime/crypto/ethCrypto.ts';
import type { AccountRecord } from '../../runtime/state/types.ts';
import { createChainCommon } from '../../runtime/chain/common.ts';

const common = createChainCommon(31337n);
const key = hexToBytes('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const to = createAddressFromString('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');

function signed(type: number, nonce: number, data: string): TypedTransaction {
  const fees = type === 2 ? { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n } : { gasPrice: 10n ** 10n };
  return createTx({ type, nonce, to, value: 5n, gasLimit: 100_000n, data: hexToBytes(data as `0x${string}`), ...fees }, { common }).sign(key);
}

test('serializeBlock gives the RLP of Block.serialize from the transactions\' encodings', () => {
  // Legacy (a list in the body), typed (a byte string), and enough data for long-form lengths.
  const bodies: TypedTransaction[][] = [
    [],
    [signed(0, 0, '0x')],
    [signed(2, 0, '0x')],
    [signed(0, 0, '0x' + 'ab'.repeat(300)), signed(1, 1, '0x01'), signed(2, 2, '0x' + '00'.repeat(70))],
    Array.from({ length: 40 }, (_, i) => signed(i % 3, i, '0x' + 'cd'.repeat(i))),
  ];
  for (const txs of bodies) {
    const header = createBlockHeader(
      { number: 7n, gasLimit: 30_000_000n, baseFeePerGas: 7n, withdrawalsRoot: KECCAK256_RLP, parentBeaconBlockRoot: new Uint8Array(32), requestsHash: KECCAK256_RLP },
      { common },
    );
    const block = new Block(header, txs, [], [], { common });
    const ours = serializeBlock(
      header.raw(),
      txs.map((tx) => tx.serialize()),
    );
    assert.equal(bytesToHex(ours), bytesToHex(block.serialize()), `${txs.length} transactions`);
  }
});

test('snapshots encode as the general RLP encoder would, and decode back', () => {
  const slots = new Map<string, Uint8Array>();
  for (let i = 0; i < 300; i++) slots.set(bytesToHex(setLengthLeft(intToBytes(i * 7919), 32)), i % 5 === 0 ? Uint8Array.of(i & 0x7f) : randomBytes(1 + (i % 32)));
  const code = randomBytes(3000);
  const codeHash = bytesToHex(keccak256(code));
  const entries: [string, AccountRecord, Map<string, Uint8Array> | undefined][] = [
    ['0x00000000000000000000000000000000000000aa', { nonce: 0n, balance: 0n, codeHash: KECCAK256_NULL }, undefined],
    ['0x00000000000000000000000000000000000000bb', { nonce: 7n, balance: 10n ** 24n, codeHash: hexToBytes(codeHash as `0x${string}`) }, slots],
  ];
  const codes = new Map([[codeHash, code]]);
  const bytes = encodeSnapshot(1234, entries, codes, { offset: -3600n, nextBaseFee: 0n });
  const expected = RLP.encode([
    bigIntToUnpaddedBytes(1234n),
    entries.map(([address, a, s]) => [
      hexToBytes(address as `0x${string}`),
      bigIntToUnpaddedBytes(a.nonce),
      bigIntToUnpaddedBytes(a.balance),
      a.codeHash,
      [...(s ?? [])].map(([k, v]) => [hexToBytes(k as `0x${string}`), v]),
    ]) as never,
    [[hexToBytes(codeHash as `0x${string}`), code]],
    // The dev clock: sign, offset, next timestamp (none), next base fee (0).
    [Uint8Array.of(1), bigIntToUnpaddedBytes(3600n), [], [new Uint8Array(0)]],
  ]);
  assert.equal(bytesToHex(bytes), bytesToHex(expected));
  const { seq, writeSet, clock } = decodeSnapshot(bytes);
  assert.equal(seq, 1234);
  assert.deepEqual(clock, { offset: -3600n, nextBaseFee: 0n });
  assert.equal(writeSet.accounts.get('0x00000000000000000000000000000000000000bb')?.balance, 10n ** 24n);
  assert.deepEqual([...writeSet.storage.get('0x00000000000000000000000000000000000000bb')!].map(([k, v]) => [k, bytesToHex(v!)]), [...slots].map(([k, v]) => [k, bytesToHex(v)]));
  assert.equal(bytesToHex(writeSet.codes.get(codeHash)!), bytesToHex(code));
});

test('a snapshot written before the dev clock existed decodes with no time moved', () => {
  const old = RLP.encode([bigIntToUnpaddedBytes(7n), [], []]);
  const { seq, clock } = decodeSnapshot(old);
  assert.equal(seq, 7);
  assert.deepEqual(clock, { offset: 0n });
});
