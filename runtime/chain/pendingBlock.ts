import { createBlock, genRequestsRoot, type Block } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { createZeroAddress, KECCAK256_RLP } from '@ethereumjs/util';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak256 } from '../crypto/ethCrypto.ts';
import { blockTimestamp } from './Chain.ts';

const EMPTY_REQUESTS_HASH = genRequestsRoot([], sha256);

/**
 * The block that would follow `parent` if it were cut now with nothing in it: what the
 * `pending` tag names while the pool is empty. Its header is the one Chain.buildBlock
 * starts from (same fee, randomness and roots; no transaction changes the state, so the
 * state root is the parent's), timed by this enclave's clock where a built block takes
 * its cut's time. It is never stored: its hash names no block anyone can fetch.
 */
export function pendingBlock(parent: Block, gasLimit: bigint, common: Common, nowMs: number): Block {
  const header = parent.header;
  return createBlock(
    {
      header: {
        parentHash: parent.hash(),
        number: header.number + 1n,
        timestamp: blockTimestamp(nowMs, header.timestamp),
        gasLimit,
        baseFeePerGas: header.calcNextBaseFee(),
        coinbase: createZeroAddress(),
        stateRoot: header.stateRoot,
        mixHash: keccak256(parent.hash()),
        withdrawalsRoot: KECCAK256_RLP,
        blobGasUsed: 0n,
        excessBlobGas: 0n,
        parentBeaconBlockRoot: new Uint8Array(32),
        requestsHash: EMPTY_REQUESTS_HASH,
      },
    },
    { common },
  );
}
