import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Inspected } from '../../runtime/enclave/inspect.ts';
import { TxPool } from '../../runtime/enclave/TxPool.ts';

const A = '0x00000000000000000000000000000000000000aa';
const tx = (nonce: bigint, over: Partial<Inspected> = {}): Inspected => ({
  hash: `0x${nonce.toString(16).padStart(64, '0')}`,
  sender: A,
  nonce,
  gasLimit: 21_000n,
  maxFee: 10n,
  value: 0n,
  envelope: new Uint8Array(40),
  ...over,
});

test('pool: checks against the followed account, and forgets what blocks included or dropped', () => {
  const pool = new TxPool(30_000_000n, 7n);
  assert.equal(pool.follows(A), false);
  pool.update({ accounts: [[A, 2n, 10n ** 6n]], baseFee: 7n, dropped: [] });
  assert.equal(pool.follows(A), true);

  assert.throws(() => pool.admit(tx(1n)), /nonce too low: next nonce 2, tx nonce 1/);
  assert.throws(() => pool.admit(tx(2n, { maxFee: 6n })), /max fee per gas less than block base fee/);
  assert.throws(() => pool.admit(tx(2n, { gasLimit: 31_000_000n })), /exceeds block gas limit/);
  assert.throws(() => pool.admit(tx(2n, { value: 10n ** 6n })), /insufficient funds for gas \* price \+ value/);
  pool.admit(tx(2n));
  assert.throws(() => pool.admit(tx(2n)), /already known/);
  assert.throws(() => pool.admit(tx(2n, { hash: '0x01' })), /replacement transaction underpriced/);
  pool.admit(tx(3n));
  pool.admit(tx(5n));
  assert.equal(pool.nextNonce(A), 4n, 'counts the pending run from the account nonce');
  assert.equal(pool.pending.size, 3);

  // A block included nonces 2 and 3 and dropped 5; the base fee moved.
  pool.update({ accounts: [[A, 4n, 10n ** 6n]], baseFee: 9n, dropped: [tx(5n).hash] });
  assert.equal(pool.pending.size, 0);
  assert.equal(pool.nextNonce(A), 4n);
  assert.throws(() => pool.admit(tx(4n, { maxFee: 8n })), /baseFee: 9/);
  assert.deepEqual(pool.admit(tx(4n, { maxFee: 9n })), { hash: tx(4n).hash, envelope: tx(4n).envelope });
});
