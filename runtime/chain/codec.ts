import { RLP } from '@ethereumjs/rlp';
import { encodeBytes, encodeList } from '../state/encodeRlp.ts';
import { bigIntToUnpaddedBytes, bytesToBigInt, bytesToHex } from '@ethereumjs/util';
import type { AccountRecord } from '../state/types.ts';
import type { BlockChanges } from '../state/WorldState.ts';

/** A log as stored: emitting address, topics, data. */
export type StoredLog = [address: Uint8Array, topics: Uint8Array[], data: Uint8Array];

/** Per-transaction execution results kept in the ledger entry beside the block. */
export interface StoredReceipt {
  status: 0 | 1;
  cumulativeGasUsed: bigint;
  gasUsed: bigint;
  logs: StoredLog[];
  contractAddress?: string;
}

export type WriteSet = Pick<BlockChanges, 'accounts' | 'storage' | 'codes'>;

/**
 * The policies that governed a block: by contract (the transactions' targets, created
 * contracts and log emitters that had one at the end of the block), the hash of its
 * policy. Reads about the block decide with these, never with later policies.
 */
export type BlockPolicies = Map<string, string>;

/** The plaintext of one ledger entry: the block, its senders, receipts, write set and policies. */
export interface LedgerPayload {
  block: Uint8Array;
  senders: string[];
  receipts: StoredReceipt[];
  writeSet: WriteSet;
  policies: BlockPolicies;
}

const hex = (b: Uint8Array) => bytesToHex(b);
const big = (b: Uint8Array) => bytesToBigInt(b);
const num = (n: bigint) => bigIntToUnpaddedBytes(n);
/** 0x-hex of our own keys (valid by construction) to bytes, through Node's decoder. */
const fromHex = (h: string): Uint8Array => Buffer.from(h.slice(2), 'hex');

/**
 * RLP of a block from its header fields and its transactions' canonical encodings,
 * as `Block.serialize()` gives, without encoding each transaction again. A typed
 * transaction is a byte string in the block body, a legacy one the list itself.
 */
export function serializeBlock(headerRaw: Uint8Array[], txs: Uint8Array[]): Uint8Array {
  const body = encodeList(txs.map((tx) => (tx[0]! >= 0xc0 ? tx : encodeBytes(tx))));
  return encodeList([RLP.encode(headerRaw), body, EMPTY_LIST, EMPTY_LIST]);
}

const EMPTY_LIST = Uint8Array.of(0xc0);

/** Encodes a ledger entry payload as RLP (binary: no hex blow-up on disk or across the boundary). */
export function encodePayload(p: LedgerPayload): Uint8Array {
  return RLP.encode([
    p.block,
    p.senders.map((s) => fromHex(s)),
    p.receipts.map((r) => [
      num(BigInt(r.status)),
      num(r.cumulativeGasUsed),
      num(r.gasUsed),
      r.logs,
      r.contractAddress ? fromHex(r.contractAddress) : new Uint8Array(0),
    ]),
    encodeWriteSet(p.writeSet),
    [...p.policies].map(([address, hash]) => [fromHex(address), fromHex(hash)]),
  ]);
}

/**
 * Dev-network time and base-fee settings (evm_increaseTime, evm_setNextBlockTimestamp,
 * hardhat_setNextBlockBaseFeePerGas): part of the chain, so the ledger records them.
 */
export interface DevClock {
  /** Seconds added to the log's clock for block timestamps (may be negative). */
  offset: bigint;
  /** The next block's exact timestamp. */
  next?: bigint;
  /** The next block's base fee. */
  nextBaseFee?: bigint;
}

/**
 * A ledger entry that holds no block: state set by a dev method, or a rewind to an
 * earlier block (evm_revert) with the write set that takes the state back. The state
 * root after it is recorded, as a block header records its own.
 */
export interface StatePayload {
  writeSet: WriteSet;
  clock: DevClock;
  stateRoot: Uint8Array;
}

/**
 * A run of empty blocks mined at once (hardhat_mine): their headers are derived from
 * the chain and these fields, so a run of thousands of blocks is one small entry.
 */
export interface MinedPayload {
  firstBlock: number;
  /** The first block's timestamp; each next one is `interval` seconds later. */
  firstTimestamp: bigint;
  interval: bigint;
  baseFees: bigint[];
  /** Each block's state root and hash, 32 bytes each, concatenated. */
  stateRoots: Uint8Array;
  hashes: Uint8Array;
  writeSet: WriteSet;
  /** The dev clock after the run. */
  clock: DevClock;
}

/** A decoded ledger entry of any kind. */
export type EntryPayload =
  | ({ kind: 'block' } & LedgerPayload)
  | ({ kind: 'state' } & StatePayload)
  | ({ kind: 'mined' } & MinedPayload);

const STATE_TAG = 1;
const MINED_TAG = 2;

export function encodeStatePayload(p: StatePayload): Uint8Array {
  return RLP.encode([num(BigInt(STATE_TAG)), encodeWriteSet(p.writeSet), encodeClock(p.clock), p.stateRoot]);
}

export function encodeMinedPayload(p: MinedPayload): Uint8Array {
  return RLP.encode([
    num(BigInt(MINED_TAG)),
    num(BigInt(p.firstBlock)),
    num(p.firstTimestamp),
    num(p.interval),
    p.baseFees.map(num),
    p.stateRoots,
    p.hashes,
    encodeWriteSet(p.writeSet),
    encodeClock(p.clock),
  ]);
}

/** Decodes an entry: a block entry is a five-item list, the others lead with their tag. */
export function decodeEntry(bytes: Uint8Array): EntryPayload {
  const items = RLP.decode(bytes) as unknown as unknown[];
  if (items.length === 5) return { kind: 'block', ...decodeBlockItems(items) };
  const tag = Number(big(items[0] as Uint8Array));
  if (tag === STATE_TAG) {
    const [, writeSet, clock, stateRoot] = items as [Uint8Array, WriteSetRlp, ClockRlp, Uint8Array];
    return { kind: 'state', writeSet: decodeWriteSet(writeSet), clock: decodeClock(clock), stateRoot };
  }
  if (tag === MINED_TAG) {
    const [, firstBlock, first, interval, baseFees, stateRoots, hashes, writeSet, clock] = items as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array[],
      Uint8Array,
      Uint8Array,
      WriteSetRlp,
      ClockRlp,
    ];
    return {
      kind: 'mined',
      firstBlock: Number(big(firstBlock)),
      firstTimestamp: big(first),
      interval: big(interval),
      baseFees: baseFees.map(big),
      stateRoots,
      hashes,
      writeSet: decodeWriteSet(writeSet),
      clock: decodeClock(clock),
    };
  }
  throw new Error(`ledger entry of unknown kind ${tag}`);
}

type ClockRlp = [sign: Uint8Array, offset: Uint8Array, next: Uint8Array[], nextBaseFee: Uint8Array[]];

function encodeClock(c: DevClock): ClockRlp {
  return [
    num(c.offset < 0n ? 1n : 0n),
    num(c.offset < 0n ? -c.offset : c.offset),
    c.next === undefined ? [] : [num(c.next)],
    c.nextBaseFee === undefined ? [] : [num(c.nextBaseFee)],
  ];
}

function decodeClock([sign, offset, next, nextBaseFee]: ClockRlp): DevClock {
  const clock: DevClock = { offset: big(sign) === 1n ? -big(offset) : big(offset) };
  if (next.length) clock.next = big(next[0]!);
  if (nextBaseFee.length) clock.nextBaseFee = big(nextBaseFee[0]!);
  return clock;
}

/** Decodes a block entry's payload. */
export function decodePayload(bytes: Uint8Array): LedgerPayload {
  return decodeBlockItems(RLP.decode(bytes) as unknown as unknown[]);
}

function decodeBlockItems(items: unknown[]): LedgerPayload {
  const [block, senders, receipts, writeSet, policies] = items as unknown as [
    Uint8Array,
    Uint8Array[],
    [Uint8Array, Uint8Array, Uint8Array, StoredLog[], Uint8Array][],
    WriteSetRlp,
    [Uint8Array, Uint8Array][],
  ];
  return {
    block,
    senders: senders.map(hex),
    receipts: receipts.map(([status, cumulative, gasUsed, logs, created]) => ({
      status: big(status) === 1n ? 1 : 0,
      cumulativeGasUsed: big(cumulative),
      gasUsed: big(gasUsed),
      logs,
      contractAddress: created.length ? hex(created) : undefined,
    })),
    writeSet: decodeWriteSet(writeSet),
    policies: new Map(policies.map(([address, hash]) => [hex(address), hex(hash)])),
  };
}

type WriteSetRlp = [
  accounts: Uint8Array[][],
  storage: [Uint8Array, [Uint8Array, Uint8Array][]][],
  codes: [Uint8Array, Uint8Array][],
];

function encodeWriteSet(w: WriteSet): WriteSetRlp {
  const accounts: Uint8Array[][] = [];
  for (const [address, a] of w.accounts) {
    const key = fromHex(address);
    accounts.push(a ? [key, num(a.nonce), num(a.balance), a.codeHash] : [key]);
  }
  const storage: WriteSetRlp[1] = [];
  for (const [address, slots] of w.storage) {
    const entries: [Uint8Array, Uint8Array][] = [];
    for (const [slot, value] of slots) entries.push([fromHex(slot), value ?? new Uint8Array(0)]);
    storage.push([fromHex(address), entries]);
  }
  const codes: WriteSetRlp[2] = [];
  for (const [hash, code] of w.codes) codes.push([fromHex(hash), code]);
  return [accounts, storage, codes];
}

function decodeWriteSet([accounts, storage, codes]: WriteSetRlp): WriteSet {
  const out: WriteSet = { accounts: new Map(), storage: new Map(), codes: new Map() };
  for (const [key, nonce, balance, codeHash] of accounts) {
    const record: AccountRecord | undefined =
      nonce === undefined ? undefined : { nonce: big(nonce), balance: big(balance!), codeHash: codeHash! };
    out.accounts.set(hex(key!), record);
  }
  for (const [address, entries] of storage) {
    const slots = new Map<string, Uint8Array | undefined>();
    for (const [slot, value] of entries) slots.set(hex(slot), value.length ? value : undefined);
    out.storage.set(hex(address), slots);
  }
  for (const [hash, code] of codes) out.codes.set(hex(hash), code);
  return out;
}

/** A snapshot: the whole state at block `seq`, flat (tries are rebuilt from it). */
export function encodeSnapshot(
  seq: number,
  entries: Iterable<[string, AccountRecord, Map<string, Uint8Array> | undefined]>,
  codes: Map<string, Uint8Array>,
  clock: DevClock = { offset: 0n },
): Uint8Array {
  // Built from encoded parts (the whole state, at once: a general encoder's walk over
  // nested arrays took ~50 ms for 15k slots, a pause in block production).
  const accounts: Uint8Array[] = [];
  for (const [address, a, slots] of entries) {
    const s: Uint8Array[] = [];
    if (slots) for (const [slot, value] of slots) s.push(encodeList([encodeBytes(fromHex(slot)), encodeBytes(value)]));
    accounts.push(
      encodeList([encodeBytes(fromHex(address)), encodeBytes(num(a.nonce)), encodeBytes(num(a.balance)), encodeBytes(a.codeHash), encodeList(s)]),
    );
  }
  const c: Uint8Array[] = [];
  for (const [hash, code] of codes) c.push(encodeList([encodeBytes(fromHex(hash)), encodeBytes(code)]));
  return encodeList([encodeBytes(num(BigInt(seq))), encodeList(accounts), encodeList(c), RLP.encode(encodeClock(clock))]);
}

export function decodeSnapshot(bytes: Uint8Array): { seq: number; writeSet: WriteSet; clock: DevClock } {
  const [seq, accounts, codes, clock] = RLP.decode(bytes) as unknown as [
    Uint8Array,
    [Uint8Array, Uint8Array, Uint8Array, Uint8Array, [Uint8Array, Uint8Array][]][],
    [Uint8Array, Uint8Array][],
    ClockRlp | undefined,
  ];
  const writeSet: WriteSet = { accounts: new Map(), storage: new Map(), codes: new Map() };
  for (const [address, nonce, balance, codeHash, slots] of accounts) {
    const a = hex(address);
    writeSet.accounts.set(a, { nonce: big(nonce), balance: big(balance), codeHash });
    if (slots.length) writeSet.storage.set(a, new Map(slots.map(([k, v]) => [hex(k), v] as const)));
  }
  for (const [hash, code] of codes) writeSet.codes.set(hex(hash), code);
  // Snapshots written before the dev clock existed have none: no time was moved then.
  return { seq: Number(big(seq)), writeSet, clock: clock ? decodeClock(clock) : { offset: 0n } };
}
