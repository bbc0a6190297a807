import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Block, createBlockHeader } from '@ethereumjs/block';
import { createTx, type TypedTransaction } from '@ethereumjs/tx';
import { bytesToHex, createAddressFromString, hexToBytes, KECCAK256_RLP } from '@ethereumjs/util';
import { serializeBlock } from '../../runtime/chain/codec.ts';
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
