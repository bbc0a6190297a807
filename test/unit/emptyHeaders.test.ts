/**
 * Hashes of empty blocks computed without header objects (a mine of thousands of blocks)
 * equal the hashes of the headers ethereumjs builds, and the base fee after an empty
 * block is ethereumjs's calcNextBaseFee.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBlockHeader } from '@ethereumjs/block';
import { bytesToHex, createZeroAddress, KECCAK256_RLP } from '@ethereumjs/util';
import fc from 'fast-check';
import { createChainCommon } from '../../runtime/chain/common.ts';
import { EmptyHeaders, nextEmptyBaseFee } from '../../runtime/chain/emptyHeaders.ts';

const common = createChainCommon(31337n);
const fixed = {
  gasLimit: 30_000_000n,
  coinbase: createZeroAddress(),
  withdrawalsRoot: KECCAK256_RLP,
  blobGasUsed: 0n,
  excessBlobGas: 0n,
  parentBeaconBlockRoot: new Uint8Array(32),
};
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

test('an empty block hash equals the hash of the header ethereumjs builds', () => {
  const headers = new EmptyHeaders(common, { ...fixed, number: 1n, timestamp: 1n, baseFeePerGas: 7n });
  fc.assert(
    fc.property(bytes32, bytes32, bytes32, fc.bigInt(1n, 2n ** 63n), fc.bigInt(0n, 2n ** 64n - 1n), fc.bigInt(0n, 2n ** 80n), (parentHash, stateRoot, mixHash, number, timestamp, baseFeePerGas) => {
      const fields = { parentHash, stateRoot, mixHash, number, timestamp, baseFeePerGas };
      const header = createBlockHeader(
        { ...fixed, ...fields, transactionsTrie: KECCAK256_RLP, receiptTrie: KECCAK256_RLP, gasUsed: 0n },
        { common },
      );
      assert.equal(bytesToHex(headers.hash(fields)), bytesToHex(header.hash()));
    }),
    { numRuns: 200 },
  );
});

test('the base fee after an empty block is calcNextBaseFee', () => {
  fc.assert(
    fc.property(fc.oneof(fc.bigInt(0n, 100n), fc.bigInt(0n, 2n ** 80n)), (baseFeePerGas) => {
      const header = createBlockHeader({ ...fixed, number: 5n, baseFeePerGas, gasUsed: 0n }, { common });
      assert.equal(nextEmptyBaseFee(common, baseFeePerGas), header.calcNextBaseFee());
    }),
    { numRuns: 300 },
  );
});
