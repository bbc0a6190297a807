import { createBlockHeader, type HeaderData } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { bigIntToUnpaddedBytes, equalsBytes, KECCAK256_RLP } from '@ethereumjs/util';
import { keccak256 } from '../crypto/ethCrypto.ts';

/** The header fields that vary between empty blocks of one chain. */
export interface EmptyHeaderFields {
  parentHash: Uint8Array;
  number: bigint;
  timestamp: bigint;
  baseFeePerGas: bigint;
  mixHash: Uint8Array;
  stateRoot: Uint8Array;
}

/** Fields for the template's check: each differs from the others and from the fixed ones. */
const PROBE: EmptyHeaderFields = {
  parentHash: new Uint8Array(32).fill(1),
  number: 0x0102n,
  timestamp: 0x010203n,
  baseFeePerGas: 0x01020304n,
  mixHash: new Uint8Array(32).fill(5),
  stateRoot: new Uint8Array(32).fill(6),
};

/** Positions in the header's RLP list (the order Ethereum defines: yellow paper, EIP-1559, EIP-4895, EIP-4844, EIP-4788, EIP-7685). */
const PARENT_HASH = 0;
const STATE_ROOT = 3;
const NUMBER = 8;
const TIMESTAMP = 11;
const MIX_HASH = 13;
const BASE_FEE = 15;

/**
 * Hashes of blocks without transactions, from the fields that vary and a header
 * ethereumjs built once for the rest, without a header object per block: a mine of
 * thousands of blocks spends its time on state roots, not on headers. Chain checks the
 * last block of each run against the header ethereumjs builds.
 */
export class EmptyHeaders {
  private readonly template: Uint8Array[];

  /** `fixed`: the fields every block of the run shares (gas limit, coinbase, roots of empty lists). */
  constructor(common: Common, fixed: HeaderData) {
    const header = createBlockHeader(
      { ...fixed, transactionsTrie: KECCAK256_RLP, receiptTrie: KECCAK256_RLP, logsBloom: new Uint8Array(256), gasUsed: 0n },
      { common },
    );
    this.template = header.raw();
    // Checked against ethereumjs before any block of a run changes the state.
    const probe = createBlockHeader(
      { ...fixed, ...PROBE, transactionsTrie: KECCAK256_RLP, receiptTrie: KECCAK256_RLP, logsBloom: new Uint8Array(256), gasUsed: 0n },
      { common },
    );
    if (!equalsBytes(this.hash(PROBE), probe.hash())) throw new Error('empty block headers: the template does not hash as ethereumjs does');
  }

  hash(fields: EmptyHeaderFields): Uint8Array {
    const raw = this.template.slice();
    raw[PARENT_HASH] = fields.parentHash;
    raw[STATE_ROOT] = fields.stateRoot;
    raw[NUMBER] = bigIntToUnpaddedBytes(fields.number);
    raw[TIMESTAMP] = bigIntToUnpaddedBytes(fields.timestamp);
    raw[MIX_HASH] = fields.mixHash;
    raw[BASE_FEE] = bigIntToUnpaddedBytes(fields.baseFeePerGas);
    return keccak256(RLP.encode(raw));
  }
}

/**
 * The base fee after a block that used no gas (EIP-1559: the parent's fee less
 * fee * (target - 0) / target / denominator), as ethereumjs's calcNextBaseFee.
 */
export function nextEmptyBaseFee(common: Common, parentBaseFee: bigint): bigint {
  return parentBaseFee - parentBaseFee / common.param('baseFeeMaxChangeDenominator');
}
