import { Block, createBlock, createBlockFromBytesArray, createBlockHeader, genRequestsRoot, type BlockBytes } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import type { TypedTransaction } from '@ethereumjs/tx';
import { bigIntToHex, bytesToHex, createZeroAddress, equalsBytes, hexToBytes, KECCAK256_NULL, KECCAK256_RLP } from '@ethereumjs/util';
import { Bloom, createVM, encodeReceipt, runTx, type VM } from '@ethereumjs/vm';
import { sha256 } from '@noble/hashes/sha2.js';
import type { BlockEvent } from '../boundary/messages.ts';
import { LedgerCorruptError } from '../ledger/errors.ts';
import { keccak256 } from '../crypto/ethCrypto.ts';
import type { Ledger } from '../ledger/Ledger.ts';
import type { StorageThread } from '../ledger/StorageThread.ts';
import { EnclaveFailure } from '../enclave/EnclaveFailure.ts';
import type { ExecutionBudget } from '../evm/ExecutionBudget.ts';
import { createChainEvm } from '../evm/precompiles.ts';
import { History } from '../state/History.ts';
import { JournaledStateManager } from '../state/JournaledStateManager.ts';
import { MerkleTrie } from '../state/MerkleTrie.ts';
import type { StateReader } from '../state/types.ts';
import { WorldState, type BlockChanges } from '../state/WorldState.ts';
import {
  decodeEntry,
  decodeSnapshot,
  encodeMinedPayload,
  encodePayload,
  encodeSnapshot,
  encodeStatePayload,
  serializeBlock,
  type BlockPolicies,
  type DevClock,
  type MinedPayload,
  type StoredReceipt,
  type WriteSet,
} from './codec.ts';
import { DevSnapshots } from './DevSnapshots.ts';
import { formatBlock } from './format.ts';
import { decodeEnvelope, isReplacement } from '../enclave/inspect.ts';
import { ArchiveStates } from './ArchiveStates.ts';
import { encodeParams, type ChainParams } from './chainParams.ts';
import type { GuardedEvm } from '../evm/messageGuard.ts';
import { Identities } from '../identity/Identities.ts';
import { isPublicLog } from '../policy/decide.ts';
import type { PolicyBook } from '../policy/PolicyBook.ts';
import type { Policy } from '../policy/Policy.ts';
import { StateGuard } from '../policy/StateGuard.ts';
import { directSystemCalls, runSystemCalls } from './systemCalls.ts';
import { EmptyHeaders, nextEmptyBaseFee } from './emptyHeaders.ts';
import { fillBlock } from './fillBlock.ts';
import { ConsoleCapture } from '../evm/consoleCapture.ts';

/** A transaction taken from the ordering log, with the sender recovered at submission. */
export interface QueuedTx {
  tx: TypedTransaction;
  sender: string;
  hash: string;
  /** The transaction's canonical encoding. */
  raw: Uint8Array;
  /** Sent as an impersonated sender (dev network): its signature is a placeholder. */
  impersonated?: true;
}

/**
 * A transaction waiting in the queue: authenticated and decrypted when it came off the
 * log, decoded only when a block reaches it (a backlog stays compact).
 */
export interface WaitingTx {
  plain: Uint8Array;
  decoded?: QueuedTx;
}

/** A decoded ledger entry, as kept in the read cache. */
export interface StoredBlock {
  block: Block;
  senders: string[];
  receipts: StoredReceipt[];
  hash: string;
  txIndex: Map<string, number>;
  /** Length of the block's RLP. */
  size: number;
  /** The policies that governed the block (see BlockPolicies). */
  policies: BlockPolicies;
}


/** An account of the genesis state: funds, and for system contracts their code and storage. */
export interface GenesisAccount {
  balance: bigint;
  code?: Uint8Array;
  /** Non-zero storage words by slot (0x-prefixed 32-byte hex), minimal big-endian values. */
  storage?: Map<string, Uint8Array>;
}

export interface ChainOptions {
  common: Common;
  ledger: Ledger;
  /** Writes the ledger's sealed rows (a thread of its own, so execution goes on meanwhile). */
  storage: StorageThread;
  /** The consensus parameters (pinned at genesis; sealed with the genesis hash). */
  params: ChainParams;
  /** Reads contracts' policies; every transaction runs under its sender's state audiences. */
  policies: PolicyBook;
  /** The open dev network: any funded account transacts. Else only registered identities do. */
  openNetwork: boolean;
  /** Genesis state, used only when the ledger is empty. */
  genesis: { accounts: Map<string, GenesisAccount>; timestamp: bigint };
}

/**
 * Blocks whose state stays answerable from memory (older ones: snapshot + replay): 128,
 * or fewer when blocks are large (at most ~64k overwritten keys, ~10 MB), so memory
 * does not follow block sizes. Always more than the blocks being written.
 */
const HISTORY_DEPTH = 128;
const HISTORY_KEYS = 65_536;
const HISTORY_MIN_DEPTH = 16;
/**
 * A snapshot every so many blocks or transactions, whichever comes first, bounds
 * restart replay and archive reconstruction whatever the block sizes.
 */
const SNAPSHOT_BLOCKS = 1000;
const SNAPSHOT_TXS = 50_000;
/**
 * New blocks kept decoded for reads, bounded by transactions (a decoded transaction with
 * its receipt costs ~4 KB), so memory does not follow block sizes or history. About a
 * second of blocks at full load: what clients read back right after inclusion. More
 * lengthens every full garbage collection (a pause in block production) for reads that
 * the ledger answers anyway.
 */
const BLOCK_CACHE_TXS = 1024;
/**
 * Blocks read back from the ledger, in a cache of their own, so that reading older
 * blocks neither evicts the new ones nor is evicted by them; empty unless older blocks
 * are read (~32 MB when full). Clients read receipts back in the order they sent their
 * transactions, and senders drift apart under load (a full pool refuses some of them
 * for a while): reading a sustained run's receipts in send order touches up to ~15
 * blocks of ~290 transactions per 200 receipts; a smaller cache decodes a whole block
 * for most receipts.
 */
const READ_CACHE_TXS = 8192;
/**
 * The most a block's timestamp may run ahead of its parent's (s). A cut's timestamp is
 * the ordering log's clock, which the enclave cannot check against a clock of its own;
 * bounding the step bounds how far a faulty or hostile log can move chain time at once
 * (contracts read it as block.timestamp), while a node that was down for a day
 * catches up within a few blocks.
 */
export const MAX_TIMESTAMP_STEP = 86_400n;

/**
 * The header fields of the block after `parent`, cut at `cutMs`, before its transactions
 * run (state and result roots, gas used and bloom come from executing it).
 */
export function nextHeader(parent: Block, gasLimit: bigint, cutMs: number, clock?: DevClock) {
  return headerFields(
    parent.hash(),
    parent.header.number + 1n,
    clock ? devTimestamp(clock, cutMs, parent.header.timestamp) : blockTimestamp(cutMs, parent.header.timestamp),
    gasLimit,
    clock?.nextBaseFee ?? parent.header.calcNextBaseFee(),
  );
}

/** A block's header fields before its transactions run; all but these five are fixed. */
function headerFields(parentHash: Uint8Array, number: bigint, timestamp: bigint, gasLimit: bigint, baseFeePerGas: bigint) {
  return {
    parentHash,
    number,
    timestamp,
    gasLimit,
    baseFeePerGas,
    coinbase: createZeroAddress(),
    // No beacon chain: the randomness field is derived from the parent, deterministically.
    mixHash: keccak256(parentHash),
    withdrawalsRoot: KECCAK256_RLP,
    blobGasUsed: 0n,
    excessBlobGas: 0n,
    parentBeaconBlockRoot: ZERO_ROOT,
    requestsHash: EMPTY_REQUESTS_HASH,
  };
}

/**
 * A block's timestamp from its cut's (ms): at least its parent's + 1 s, at most
 * MAX_TIMESTAMP_STEP ahead. It depends on the log's content only, so every node that
 * executes the log agrees.
 */
export function blockTimestamp(cutMs: number, parent: bigint): bigint {
  const asked = BigInt(Math.floor(cutMs / 1000));
  const earliest = parent + 1n;
  const latest = parent + MAX_TIMESTAMP_STEP;
  return asked < earliest ? earliest : asked > latest ? latest : asked;
}

/**
 * A dev-network block's timestamp: the one evm_setNextBlockTimestamp asked for, else the
 * log's clock plus the evm_increaseTime offset, at least its parent's + 1 s. Once time
 * was moved it is not bounded ahead (tests move it by years): the moves are entries of
 * the log, as the cuts are; until then the clamp holds as on any network.
 */
export function devTimestamp(clock: DevClock, cutMs: number, parent: bigint): bigint {
  if (clock.next !== undefined) return clock.next;
  if (clock.offset === 0n) return blockTimestamp(cutMs, parent);
  const asked = BigInt(Math.floor(cutMs / 1000)) + clock.offset;
  return asked > parent ? asked : parent + 1n;
}

/** The most blocks one hardhat_mine / anvil_mine may mine. */
export const MAX_MINE_BLOCKS = 100_000n;
/** Overwritten keys kept for evm_revert while snapshots are live (~100 bytes each). */
const SNAPSHOT_UNDO_KEYS = 4_000_000;
/** Live evm_snapshot snapshots (each holds a copy of the queue, empty while automine is on). */
const MAX_SNAPSHOTS = 65_536;

/** A console.log line, on the node's standard output as Anvil prints them. */
function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Failed transactions whose revert data is kept for their senders' waiting sends. */
const RECENT_FAILURES = 4096;
/** ...and at most so many bytes of their return data (a revert can return megabytes). */
const RECENT_FAILURE_BYTES = 16 * 1024 * 1024;

/** How long block execution runs before letting other requests in. */
const YIELD_EVERY_MS = 1;
const INITIAL_BASE_FEE = 1_000_000_000n;
const EMPTY_REQUESTS_HASH = genRequestsRoot([], sha256);
const ZERO_ROOT = new Uint8Array(32);

/**
 * The chain inside the enclave: committed state, the ledger, and block building.
 * Blocks are built only from entries of the ordering log, so every enclave that
 * executes the same log builds the same blocks.
 */
export class Chain {
  readonly common: Common;
  readonly ledger: Ledger;
  private readonly storage: StorageThread;
  readonly world = new WorldState();
  /** Who senders and readers are, from the identity registry in the world state. */
  readonly identities = new Identities(this.world);
  readonly history: History;
  readonly blockGasLimit: bigint;
  private readonly params: ChainParams;
  readonly policies: PolicyBook;
  readonly openNetwork: boolean;
  private vm!: VM;
  private console?: ConsoleCapture;
  private stateManager!: JournaledStateManager;
  /** What the EVM asks of the chain (BLOCKHASH); call VMs share it. */
  readonly vmBlockchain = {
    getBlock: async (n: number) => ({ hash: () => hexToBytes(this.stored(n).hash as `0x${string}`) }),
    putBlock: async () => {},
    shallowCopy: () => this.vmBlockchain,
  };
  /**
   * Called with each block's number as it becomes durable (and the head), in order;
   * filters and subscriptions hear of a block here, never before it is visible.
   */
  onDurable?: (seq: number) => void;
  /** Called when a ledger write fails: nothing after it will become durable (the node stops). */
  onWriteFailed?: () => void;
  /** The newest durable block: what reads see as the head. */
  private headBlock!: Block;
  /** The newest executed block, the parent of the next; ahead of the head while being written. */
  private tipBlock!: Block;
  /** Writes in flight, by block number; they land in order. */
  private readonly writing = new Map<number, Promise<void>>();
  private readonly blocks = new BlockCache(BLOCK_CACHE_TXS);
  private readonly readBack = new BlockCache(READ_CACHE_TXS);
  private txsSinceSnapshot = 0;
  private readonly archive: ArchiveStates;
  /** Transactions from the log, in log order, not yet in a block. */
  private queue: WaitingTx[] = [];
  /** Changes whenever the tip, its state, the dev clock or the queue change: what the pending view is cached by. */
  private changes = 0;
  /** Whether the queue may hold transactions that are executable now (the last block was full, or new ones came). */
  private unexamined = false;
  /** Since the last takePoolNews: transactions dropped from the queue, accounts blocks changed. */
  private dropped: string[] = [];
  private changedAccounts = new Set<string>();
  /** Dev-network time and base-fee settings; recorded by dev entries and snapshots. */
  clock: DevClock = { offset: 0n };
  /** evm_snapshot's marks and the undo sets they need (dev network). */
  readonly devSnapshots = new DevSnapshots<WaitingTx>(SNAPSHOT_UNDO_KEYS, MAX_SNAPSHOTS);
  /** The newest ledger write: dev entries are answered once it has landed. */
  private lastWrite: Promise<void> = Promise.resolve();
  /**
   * Why recent transactions failed (the VM's error and return data), for their senders'
   * waiting sends on the dev network: RECENT_FAILURES of them, RECENT_FAILURE_BYTES of
   * data at most, the oldest forgotten first (their sends answer a bare revert).
   */
  readonly failures = new Map<string, { error: string; data: Uint8Array }>();
  private failureBytes = 0;
  /** The run of mined blocks read last (or just mined), decoded. */
  private minedRun?: { entry: number; firstBlock: number; parentHash: Uint8Array; payload: MinedPayload };
  recoveredFrom: { snapshot: number | null; replayedBlocks: number } = { snapshot: null, replayedBlocks: 0 };

  private constructor(opts: ChainOptions) {
    this.common = opts.common;
    this.ledger = opts.ledger;
    this.storage = opts.storage;
    this.params = opts.params;
    this.blockGasLimit = opts.params.blockGasLimit;
    this.policies = opts.policies;
    this.openNetwork = opts.openNetwork;
    this.archive = new ArchiveStates(opts.ledger);
    this.history = new History(this.world, HISTORY_DEPTH, () => this.world.inProgress(), {
      maxKeys: HISTORY_KEYS,
      minDepth: HISTORY_MIN_DEPTH,
    });
  }

  /** Opens the chain: genesis on an empty ledger, else the newest snapshot plus the ledger tail. */
  static async open(opts: ChainOptions): Promise<Chain> {
    const chain = new Chain(opts);
    const stateManager = new JournaledStateManager(
      chain.world,
      (a) => chain.world.storageRootOf(a),
      () => chain.world.stateRoot(),
    );
    chain.stateManager = stateManager;
    const blockchain = chain.vmBlockchain as never;
    const evm = await createChainEvm({ common: chain.common, stateManager, blockchain }, 'block');
    chain.vm = await createVM({ common: chain.common, stateManager, blockchain, evm });
    // console.sol's lines, printed as transactions run (never on replay): dev network only.
    if (opts.openNetwork) chain.console = new ConsoleCapture(evm.events, (address) => chain.policies.hashAt(chain.world, address) !== undefined);
    if (opts.ledger.head < 0) await chain.createGenesis(opts.genesis);
    else await chain.recover();
    return chain;
  }

  get head(): Block {
    return this.headBlock;
  }

  get headNumber(): number {
    return Number(this.headBlock.header.number);
  }

  /** The newest executed block (durable or not): admission checks against what follows it. */
  get tip(): Block {
    return this.tipBlock;
  }

  /** Resolves once block `seq` and all before it are durable; rejects if writing failed. */
  async durable(seq: number): Promise<void> {
    if (seq > Number(this.tipBlock.header.number)) throw new EnclaveFailure('invalidInput', `block ${seq} has not been executed`);
    await this.writing.get(seq);
  }

  private async createGenesis(genesis: ChainOptions['genesis']): Promise<void> {
    for (const [address, account] of genesis.accounts) {
      let codeHash = KECCAK256_NULL;
      if (account.code) {
        codeHash = keccak256(account.code);
        this.world.putCode(bytesToHex(codeHash), account.code);
      }
      // EIP-161: an account with code starts at nonce 1, as if created.
      this.world.setAccount(address, { nonce: account.code ? 1n : 0n, balance: account.balance, codeHash });
      for (const [slot, value] of account.storage ?? []) this.world.setStorage(address, slot, value);
    }
    const stateRoot = await this.world.stateRoot();
    const block = createBlock(
      {
        header: {
          number: 0n,
          gasLimit: this.blockGasLimit,
          timestamp: genesis.timestamp,
          baseFeePerGas: INITIAL_BASE_FEE,
          stateRoot,
          withdrawalsRoot: KECCAK256_RLP,
          blobGasUsed: 0n,
          excessBlobGas: 0n,
          parentBeaconBlockRoot: ZERO_ROOT,
          requestsHash: EMPTY_REQUESTS_HASH,
        },
        withdrawals: [],
      },
      { common: this.common },
    );
    // The key file names the genesis before it is written, and commits to it once it is
    // durable: from then on a missing or emptied ledger is refused, never started over.
    const binding = { genesis: bytesToHex(block.hash()), params: encodeParams(this.params), committed: false };
    this.ledger.bind(binding);
    this.commit(block, block.serialize(), [], [], this.world.takeChanges(), new Map());
    await this.durable(0);
    this.ledger.bind({ ...binding, committed: true });
  }

  /** The state from the newest snapshot plus the entries after it (every entry was verified when the ledger opened). */
  private async recover(): Promise<void> {
    const head = this.ledger.head;
    const snapshot = this.ledger.latestSnapshot();
    let from = 0;
    let snapshotBlock: number | null = null;
    if (snapshot) {
      const { seq, writeSet, clock } = decodeSnapshot(snapshot.payload);
      this.world.apply(writeSet);
      this.clock = clock;
      from = snapshot.entry + 1;
      snapshotBlock = seq;
    }
    for (let entry = from; entry <= head; entry++) {
      const payload = decodeEntry(this.ledger.read(entry));
      this.world.apply(payload.writeSet);
      // Building a block takes the next timestamp and base fee that were set.
      this.clock = payload.kind === 'block' ? { offset: this.clock.offset } : payload.clock;
    }
    // The state root the newest entry recorded: a dev entry's own, else its block's header's.
    const expected = recordedRoot(decodeEntry(this.ledger.read(head)));
    this.world.takeChanges();
    const headNumber = this.ledger.lastBlock;
    this.headBlock = this.tipBlock = this.stored(headNumber).block;
    this.history.reset(headNumber);
    const root = await this.world.stateRoot();
    if (bytesToHex(root) !== bytesToHex(expected ?? this.headBlock.header.stateRoot)) {
      throw new LedgerCorruptError(`state recovered from the ledger does not match the state root of block ${headNumber}`, head);
    }
    const binding = this.ledger.binding!;
    if (this.stored(0).hash !== binding.genesis) {
      throw new LedgerCorruptError(`block 0 of the ledger is not the genesis ${binding.genesis} its sealed key names (tampered)`, this.ledger.entryOfBlock(0));
    }
    if (!binding.committed) this.ledger.bind({ ...binding, committed: true });
    this.recoveredFrom = { snapshot: snapshotBlock, replayedBlocks: head - from + 1 };
  }

  /**
   * What blocks did since the last call that the pool must hear of: the transactions
   * dropped from the queue and the accounts changed.
   */
  takePoolNews(): { dropped: string[]; changedAccounts: Set<string> } {
    const news = { dropped: this.dropped, changedAccounts: this.changedAccounts };
    this.dropped = [];
    this.changedAccounts = new Set();
    return news;
  }

  /**
   * Queues a transaction from the ordering log (unsealed; decoded when a block reaches
   * it). A replacement (same sender and nonce, fees bumped: the pool checked) takes the
   * place of the one it replaces if that still waits here; else it goes last, and finds
   * its nonce used when a block reaches it.
   */
  enqueue(plain: Uint8Array): void {
    const waiting: WaitingTx = { plain };
    this.changes++;
    this.unexamined = true;
    if (isReplacement(plain)) {
      try {
        const { sender, tx } = (waiting.decoded = decodeEnvelope(plain, this.common));
        const at = this.queue.findIndex((w) => {
          const d = (w.decoded ??= decodeEnvelope(w.plain, this.common));
          return d.sender === sender && d.tx.nonce === tx.nonce;
        });
        if (at >= 0) {
          this.dropped.push(this.queue[at]!.decoded!.hash);
          this.queue[at] = waiting;
          return;
        }
      } catch {
        // Undecodable: queued as any other, and skipped when a block reaches it.
      }
    }
    this.queue.push(waiting);
  }

  /** Transactions from the log not yet in a block. */
  get queued(): number {
    return this.queue.length;
  }

  /** A number that changes whenever the block after the tip would change: the tip, its state, the dev clock or the queue. */
  get pendingVersion(): number {
    return this.changes;
  }

  /** The transactions waiting for a block, in log order (a copy: the queue moves on). */
  waitingTxs(): WaitingTx[] {
    return [...this.queue];
  }

  /** The header fields of the block after the tip, were it cut at `cutMs`. */
  nextHeader(cutMs: number) {
    return nextHeader(this.tipBlock, this.blockGasLimit, cutMs, this.devClock);
  }

  /**
   * Whether the network runs this sender's transactions: on a consortium network only
   * registered, signing senders' (the pool admits no others; this holds for every node
   * that executes the log). `roles`: the sender's, from the state the block has reached.
   */
  admits(item: QueuedTx, roles: number = this.identities.rolesOf(item.sender)): boolean {
    return this.openNetwork || (!item.impersonated && roles !== 0);
  }

  /**
   * Drops a transaction (hardhat_dropTransaction): from the queue if it waits there, and
   * from the pool, which hears of it with the next update. Whether it was in the queue.
   */
  drop(hash: string): boolean {
    const before = this.queue.length;
    this.changes++;
    this.queue = this.queue.filter((waiting) => (waiting.decoded ??= decodeEnvelope(waiting.plain, this.common)).hash !== hash);
    this.dropped.push(hash);
    return this.queue.length < before;
  }

  /** Transactions waiting that a block could take now (a block was full, or new ones came). */
  get waiting(): number {
    return this.unexamined ? this.queue.length : 0;
  }

  /**
   * Builds one block from the queue at a cut. Returns undefined when nothing was
   * executable and the cut does not ask for empty blocks.
   */
  async buildBlock(timestampMs: number, allowEmpty: boolean): Promise<BlockEvent | undefined> {
    if (this.queue.length === 0 && !allowEmpty) {
      this.unexamined = false;
      return undefined;
    }
    const headerData = nextHeader(this.tipBlock, this.blockGasLimit, timestampMs, this.devClock);
    const context = createBlock({ header: headerData }, { common: this.common });
    // The system calls run first; if the block turns out empty and the cut does not ask
    // for empty blocks, it is not built and they are undone with it.
    await this.stateManager.checkpoint();
    await runSystemCalls(this.vm, context);
    const filled = await fillBlock(this.queue, this.blockGasLimit, this.common, {
      nonceOf: (sender) => this.world.account(sender)?.nonce ?? 0n,
      admits: (item) => this.admits(item),
      run: async (item) => {
        const evm = this.vm.evm as unknown as GuardedEvm;
        const roles = this.identities.rolesOf(item.sender);
        evm.messageGuard = new StateGuard(this.stateManager, this.policies, { address: item.sender, roles, authenticated: true }, this.openNetwork);
        // An impersonated contract or system address sends as Hardhat lets it (EIP-3607 does not apply).
        if (item.impersonated) this.stateManager.exemptFromEip3607(item.sender);
        try {
          const result = await runTx(this.vm, { tx: item.tx, block: context, skipHardForkValidation: true, skipBlockGasLimitValidation: true });
          // Revert data for the waiting send (dev network), unless a governed contract ran
          // at any depth: its data could have been passed up, and whoever submitted the
          // transaction need not be in its audience (the send then answers a bare revert).
          const failed = result.execResult.exceptionError;
          if (failed && this.console && !this.console.ranGoverned()) this.keepFailure(item.hash, failed.error, result.execResult.returnValue);
          return result;
        } catch {
          // No longer valid (e.g. funds spent since submission): dropped, as a pool would.
          return undefined;
        } finally {
          evm.messageGuard = undefined;
          this.stateManager.exemptFromEip3607(undefined);
          this.console?.flush(printLine);
        }
      },
    });
    this.dropped.push(...filled.dropped);
    let rest = filled.rest;
    if (!filled.full) {
      // Still gapped after every pass of the block that reached them: dropped, so a
      // transaction's fate depends only on the log up to its block (every node that
      // executes the log drops the same ones) and nothing waits here across blocks. The
      // pool puts only executable transactions on the log; these come from a stale view.
      for (const waiting of rest) this.dropped.push(waiting.decoded!.hash);
      rest = [];
    }
    this.queue = rest;
    this.changes++;
    this.unexamined = filled.full;
    const included = filled.included.map(({ item }) => item);
    const receipts: StoredReceipt[] = [];
    const encodedReceipts: Uint8Array[] = [];
    let gasUsed = 0n;
    for (const { item, result } of filled.included) {
      gasUsed += result.totalGasSpent;
      const failed = result.execResult.exceptionError;
      result.receipt.cumulativeBlockGasUsed = gasUsed;
      receipts.push({
        status: failed ? 0 : 1,
        cumulativeGasUsed: gasUsed,
        gasUsed: result.totalGasSpent,
        logs: (result.execResult.logs ?? []) as StoredReceipt['logs'],
        contractAddress: result.createdAddress?.toString(),
      });
      encodedReceipts.push(encodeReceipt(result.receipt, item.tx.type));
    }
    if (included.length === 0 && !allowEmpty) {
      await this.stateManager.revert();
      return undefined;
    }
    await this.stateManager.commit();
    this.clock = { offset: this.clock.offset };

    const transactions = included.map((q) => q.tx);
    const policies = this.blockPolicies(transactions, receipts);
    const receiptTrie = new MerkleTrie();
    const transactionTrie = new MerkleTrie();
    for (let i = 0; i < transactions.length; i++) {
      const key = RLP.encode(i);
      receiptTrie.put(key, encodedReceipts[i]!);
      transactionTrie.put(key, included[i]!.raw);
    }
    const stateRoot = await this.world.stateRoot();
    const header = createBlockHeader(
      {
        ...headerData,
        stateRoot,
        transactionsTrie: transactionTrie.root(),
        receiptTrie: receiptTrie.root(),
        logsBloom: publicBloom(receipts, policies, (hash) => this.policies.byHash(this.world, hash), this.common),
        gasUsed,
      },
      { common: this.common },
    );
    // The executed transaction objects go into the block as they are (createBlock
    // would rebuild each one from its fields and lose the cached hash and sender).
    const block = new Block(header, transactions, [], [], { common: this.common });
    const serialized = serializeBlock(header.raw(), included.map((q) => q.raw));
    const stored = this.commit(
      block,
      serialized,
      included.map((q) => q.sender),
      receipts,
      this.world.takeChanges(),
      policies,
    );
    return {
      number: block.header.number,
      hash: stored.hash,
    };
  }

  /**
   * Seals the block for the ledger and hands it to the storage thread; it becomes the
   * tip at once (the next block builds on it) and the head once durable. Until then
   * reads are answered against the parent (History holds this block's undo set), so
   * nobody sees a block before it is durable.
   */
  private commit(
    block: Block,
    serialized: Uint8Array,
    senders: string[],
    receipts: StoredReceipt[],
    changes: ReturnType<WorldState['takeChanges']>,
    policies: BlockPolicies,
  ): StoredBlock {
    const seq = Number(block.header.number);
    const writeSet: WriteSet = changes;
    const logKeys = new Map<string, Uint8Array>();
    for (const r of receipts) {
      for (const [address, topics] of r.logs) {
        logKeys.set(bytesToHex(address), address);
        for (const t of topics) logKeys.set(bytesToHex(t), t);
      }
    }
    const rows = this.ledger.sealAppend({
      firstBlock: seq,
      lastBlock: seq,
      payload: encodePayload({ block: serialized, senders, receipts, writeSet, policies }),
      blocks: [{ number: seq, hash: block.hash(), txHashes: block.transactions.map((tx) => tx.hash()), logKeys: [...logKeys.values()] }],
    });
    this.history.record(seq, changes);
    this.devSnapshots.record(changes);
    for (const address of changes.accounts.keys()) this.changedAccounts.add(address);
    this.tipBlock = block;
    this.changes++;
    const write = this.write(rows, () => {
      this.headBlock = block;
      this.onDurable?.(seq);
    }).finally(() => this.writing.delete(seq));
    write.catch(() => {}); // reported to whoever awaits durable(seq)
    this.writing.set(seq, write);
    this.txsSinceSnapshot += block.transactions.length;
    if (seq > 0 && (seq % SNAPSHOT_BLOCKS === 0 || this.txsSinceSnapshot >= SNAPSHOT_TXS)) this.snapshot();
    return this.blocks.add(seq, storedBlock(block, senders, receipts, serialized.length, policies));
  }

  private keepFailure(hash: string, error: string, data: Uint8Array): void {
    if (data.length > RECENT_FAILURE_BYTES) return;
    this.failures.set(hash, { error, data });
    this.failureBytes += data.length;
    for (const [oldest, { data: old }] of this.failures) {
      if (this.failures.size <= RECENT_FAILURES && this.failureBytes <= RECENT_FAILURE_BYTES) break;
      this.failures.delete(oldest);
      this.failureBytes -= old.length;
    }
  }

  /**
   * Hands sealed rows to the storage thread; `landed` runs once they are written (in
   * append order). A failed write rejects, and stops the node.
   */
  private write(rows: ReturnType<Ledger['sealAppend']>, landed: () => void): Promise<void> {
    const write = this.storage.append(rows).then(
      () => {
        this.ledger.written(rows.seq);
        landed();
      },
      (err: Error) => {
        this.onWriteFailed?.();
        throw new EnclaveFailure('internal', err.message);
      },
    );
    this.lastWrite = write;
    return write;
  }

  /** Resolves once every ledger write so far has landed; rejects if one failed. */
  settled(): Promise<void> {
    return this.lastWrite;
  }

  /** The dev clock, on the dev network only (a consortium network's blocks follow the log's clock alone). */
  private get devClock(): DevClock | undefined {
    return this.openNetwork ? this.clock : undefined;
  }

  /** The base fee of the next block. */
  get nextBaseFee(): bigint {
    return this.devClock?.nextBaseFee ?? this.tipBlock.header.calcNextBaseFee();
  }

  /**
   * Sets state outside any block (hardhat_setBalance and the like, or only the dev
   * clock): one ledger entry that covers no block, with the state root after it. The
   * head block's state includes it, as Hardhat's and Anvil's do. Resolves once durable.
   */
  async amend(change: (world: WorldState) => void): Promise<void> {
    await this.settled();
    change(this.world);
    const { changes, written } = await this.appendState(this.headNumber);
    this.history.amend(changes);
    this.devSnapshots.record(changes);
    await written;
  }

  /**
   * Seals what changed in the world since the last entry as a state entry that ends the
   * chain at block `end` (the head: it covers no block; an earlier one: a rewind).
   */
  private async appendState(end: number): Promise<{ changes: BlockChanges; written: Promise<void> }> {
    const stateRoot = await this.world.stateRoot();
    const changes = this.world.takeChanges();
    this.changes++;
    const rows = this.ledger.sealAppend({
      firstBlock: end + 1,
      lastBlock: end,
      payload: encodeStatePayload({ writeSet: changes, clock: this.clock, stateRoot }),
      blocks: [],
    });
    this.archive.forget();
    for (const address of changes.accounts.keys()) this.changedAccounts.add(address);
    return { changes, written: this.write(rows, () => {}) };
  }

  /**
   * Takes the chain back to a snapshot (evm_revert): an authenticated rewind entry that
   * ends the chain at the snapshot's block and restores its state, so the ledger stays
   * append-only. The blocks after it are gone: their numbers are built again. Resolves
   * once durable, with whether the snapshot existed.
   */
  async revert(id: bigint): Promise<boolean> {
    await this.settled();
    if (this.devSnapshots.forgotten(id)) {
      throw new EnclaveFailure(
        'limitExceeded',
        `snapshot ${bigIntToHex(id)} was dropped: more than ${SNAPSHOT_UNDO_KEYS} state keys changed, or more than ${MAX_SNAPSHOTS} snapshots were taken, since it was taken`,
      );
    }
    const found = this.devSnapshots.revert(id);
    if (!found) return false;
    const { snapshot, restore } = found;
    // Nothing happened since the snapshot (a test that only read): nothing to take back, and nothing to write.
    const unchanged =
      restore.priorAccounts.size === 0 &&
      restore.priorStorage.size === 0 &&
      snapshot.block === this.headNumber &&
      sameClock(snapshot.clock, this.clock) &&
      snapshot.queue.length === this.queue.length &&
      snapshot.queue.every((waiting, i) => waiting === this.queue[i]);
    if (unchanged) return true;
    for (const [address, account] of restore.priorAccounts) this.world.setAccount(address, account);
    for (const [address, slots] of restore.priorStorage) for (const [slot, value] of slots) this.world.setStorage(address, slot, value);
    this.clock = { ...snapshot.clock };
    const { written } = await this.appendState(snapshot.block);
    // Blocks after the snapshot's are no longer the chain's.
    this.blocks.dropFrom(snapshot.block + 1);
    this.readBack.dropFrom(snapshot.block + 1);
    if (this.minedRun && this.minedRun.firstBlock > snapshot.block) this.minedRun = undefined;
    this.history.reset(snapshot.block);
    this.headBlock = this.tipBlock = this.stored(snapshot.block).block;
    // What waited on the log then waits again; what came since is dropped.
    const restored = new Set(snapshot.queue);
    for (const waiting of this.queue) if (!restored.has(waiting)) this.dropped.push(waiting.decoded?.hash ?? decodeEnvelope(waiting.plain, this.common).hash);
    this.queue = [...snapshot.queue];
    this.changes++;
    this.unexamined = this.queue.length > 0;
    await written;
    return true;
  }

  /** evm_snapshot: remembers the chain's end, state, clock and queue; answers the id. */
  async snapshotForDev(): Promise<bigint> {
    await this.settled();
    return this.devSnapshots.take({ block: this.headNumber, clock: { ...this.clock }, queue: [...this.queue] });
  }

  /**
   * Mines `count` empty blocks, `interval` seconds apart, the first at the dev clock's
   * time for `cutMs`, as one ledger entry: each runs the system calls and has its own
   * state root, so block-hash history holds every one of them. Resolves once durable.
   */
  async mineEmpty(count: number, interval: bigint, cutMs: number): Promise<BlockEvent> {
    await this.settled();
    const firstBlock = this.headNumber + 1;
    const parentHash = this.tipBlock.hash();
    const stateRoots = new Uint8Array(32 * count);
    const hashes = new Uint8Array(32 * count);
    const baseFees: bigint[] = [];
    const writeSet: WriteSet = { accounts: new Map(), storage: new Map(), codes: new Map() };
    let fields = nextHeader(this.tipBlock, this.blockGasLimit, cutMs, this.devClock);
    const firstTimestamp = fields.timestamp;
    this.clock = { offset: this.clock.offset };
    const headers = new EmptyHeaders(this.common, fields);
    const direct = await directSystemCalls(this.vm);
    let stateRoot: Uint8Array = ZERO_ROOT;
    let hash = parentHash;
    let yielded = performance.now();
    for (let i = 0; i < count; i++) {
      if (i > 0) {
        const baseFee = nextEmptyBaseFee(this.common, fields.baseFeePerGas);
        fields = headerFields(hash, fields.number + 1n, firstTimestamp + BigInt(i) * interval, this.blockGasLimit, baseFee);
      }
      const blockFields = fields;
      if (direct) direct(this.world, blockFields);
      else await runSystemCalls(this.vm, { ...blockFields, block: () => createBlock({ header: blockFields }, { common: this.common }) });
      stateRoot = await this.world.stateRoot();
      hash = headers.hash({ ...fields, stateRoot });
      stateRoots.set(stateRoot, 32 * i);
      hashes.set(hash, 32 * i);
      baseFees.push(fields.baseFeePerGas);
      const changes = this.world.takeChanges();
      mergeWriteSet(writeSet, changes);
      this.history.record(firstBlock + i, changes);
      this.devSnapshots.record(changes);
      // Reads are answered between blocks: a run of thousands takes seconds.
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        await new Promise(setImmediate);
        yielded = performance.now();
      }
    }
    const parent = new Block(emptyHeader(fields, stateRoot, this.common), [], [], [], { common: this.common });
    if (!equalsBytes(parent.hash(), hash)) {
      // The state holds blocks the ledger will not: an internal failure of an ordered
      // entry stops the node (Sequencer), so nothing after it is made durable.
      throw new EnclaveFailure('internal', `mined block ${fields.number}: its header's hash differs from the run's`);
    }
    const payload: MinedPayload = { firstBlock, firstTimestamp, interval, baseFees, stateRoots, hashes, writeSet, clock: this.clock };
    const lastBlock = firstBlock + count - 1;
    const rows = this.ledger.sealAppend({
      firstBlock,
      lastBlock,
      payload: encodeMinedPayload(payload),
      blocks: Array.from({ length: count }, (_, i) => ({ number: firstBlock + i, hash: hashes.subarray(32 * i, 32 * i + 32), txHashes: [], logKeys: [] })),
    });
    this.minedRun = { entry: rows.seq, firstBlock, parentHash, payload };
    this.changes++;
    for (const address of writeSet.accounts.keys()) this.changedAccounts.add(address);
    this.tipBlock = parent;
    const last = this.blocks.add(lastBlock, emptyStoredBlock(parent));
    const crossed = Math.floor(lastBlock / SNAPSHOT_BLOCKS) > Math.floor((firstBlock - 1) / SNAPSHOT_BLOCKS);
    const write = this.write(rows, () => {
      this.headBlock = parent;
      // Filters and subscriptions hear of every block of the run, as of blocks mined one by one.
      for (let seq = firstBlock; seq <= lastBlock; seq++) this.onDurable?.(seq);
    }).finally(() => this.writing.delete(lastBlock));
    write.catch(() => {});
    this.writing.set(lastBlock, write);
    if (crossed) this.snapshot();
    await write;
    return { number: BigInt(lastBlock), hash: last.hash };
  }

  /** Block `seq` of a run of mined blocks, its header derived from the run's entry (and checked against its hash). */
  private minedBlock(entry: number, seq: number): Block {
    let run = this.minedRun;
    if (run?.entry !== entry) {
      const payload = decodeEntry(this.ledger.read(entry));
      if (payload.kind !== 'mined') throw new LedgerCorruptError(`ledger entry ${entry} holds no mined blocks`, entry);
      const { firstBlock } = payload;
      const parentHash = hexToBytes(this.stored(firstBlock - 1).hash as `0x${string}`);
      run = this.minedRun = { entry, firstBlock, parentHash, payload };
    }
    const { payload, firstBlock, parentHash } = run;
    const i = seq - firstBlock;
    const header = emptyHeader(
      headerFields(
        i === 0 ? parentHash : payload.hashes.subarray(32 * (i - 1), 32 * i),
        BigInt(seq),
        payload.firstTimestamp + BigInt(i) * payload.interval,
        this.blockGasLimit,
        payload.baseFees[i]!,
      ),
      payload.stateRoots.subarray(32 * i, 32 * i + 32),
      this.common,
    );
    if (!equalsBytes(header.hash(), payload.hashes.subarray(32 * i, 32 * i + 32))) {
      throw new LedgerCorruptError(`block ${seq} derived from ledger entry ${entry} does not have the hash the entry records`, entry);
    }
    return new Block(header, [], [], [], { common: this.common });
  }

  /**
   * The policies governing a block, as of its end: for each contract it touched that
   * has one (transactions' targets, created contracts, log emitters).
   */
  private blockPolicies(transactions: TypedTransaction[], receipts: StoredReceipt[]): BlockPolicies {
    const policies: BlockPolicies = new Map();
    const seen = new Set<string>();
    const note = (address: string) => {
      if (seen.has(address)) return;
      seen.add(address);
      const hash = this.policies.hashAt(this.world, address);
      if (hash !== undefined) policies.set(address, hash);
    };
    transactions.forEach((tx, i) => {
      if (tx.to) note(tx.to.toString());
      const created = receipts[i]!.contractAddress;
      if (created) note(created);
      for (const log of receipts[i]!.logs) note(bytesToHex(log[0]));
    });
    return policies;
  }

  /**
   * Writes an encrypted snapshot of the tip's state, after the tip's own write. Not
   * awaited: a failed write stops the storage thread, and the next append reports it.
   */
  private snapshot(): void {
    const seq = Number(this.tipBlock.header.number);
    this.txsSinceSnapshot = 0;
    const sealed = this.ledger.sealSnapshot(encodeSnapshot(seq, this.world.entries(), this.world.allCodes(), this.clock));
    this.storage.snapshot(sealed).catch(() => {});
  }

  /** Snapshots the head, waits for every write to land and closes the ledger. */
  async close(): Promise<void> {
    this.snapshot();
    await this.storage.close();
    this.ledger.close();
  }

  /** A committed block by number, from the caches or the ledger. */
  stored(seq: number): StoredBlock {
    const cached = this.blocks.get(seq) ?? this.readBack.get(seq);
    if (cached) return cached;
    const entry = this.ledger.entryOfBlock(seq);
    if (entry === undefined) throw new EnclaveFailure('internal', `block ${seq} is not in the ledger`);
    if (this.minedRun?.entry === entry) return this.readBack.add(seq, emptyStoredBlock(this.minedBlock(entry, seq)));
    const payload = decodeEntry(this.ledger.read(entry));
    if (payload.kind === 'mined') return this.readBack.add(seq, emptyStoredBlock(this.minedBlock(entry, seq)));
    if (payload.kind !== 'block') throw new LedgerCorruptError(`ledger entry ${entry}, named as block ${seq}'s, holds no block`, entry);
    const values = RLP.decode(payload.block) as unknown as BlockBytes;
    const block = createBlockFromBytesArray(values, { common: this.common });
    // Each transaction's hash from its encoding in the body (typed: the bytes; legacy:
    // the list), rather than ethereumjs encoding every decoded transaction again.
    values[1].forEach((encoded, i) => {
      (block.transactions[i] as unknown as { cache: { hash?: Uint8Array } }).cache.hash = keccak256(
        encoded instanceof Uint8Array ? encoded : RLP.encode(encoded as Uint8Array[]),
      );
    });
    return this.readBack.add(seq, storedBlock(block, payload.senders, payload.receipts, payload.block.length, payload.policies));
  }

  /**
   * The state at the end of block `seq`, held for a read until `release`: recent blocks
   * from memory (kept while the view is held, even as later blocks are built), older
   * ones rebuilt within the read's budget.
   */
  async stateAt(seq: number, budget: ExecutionBudget): Promise<{ state: StateReader; release(): void }> {
    if (this.history.covers(seq)) return this.history.pin(seq);
    return this.archive.hold(seq, budget);
  }

  /** JSON of a block by number. */
  blockJson(seq: number, full: boolean): Record<string, unknown> {
    const s = this.stored(seq);
    return formatBlock(s.block, s.senders, full, s.size);
  }
}

/**
 * A block's logsBloom over its public logs only: a bloom over confidential logs would
 * let anyone confirm a guessed address or topic (an account's involvement in a
 * confidential transfer). Each log counts under the policy that governed the block.
 */
function publicBloom(receipts: StoredReceipt[], policies: BlockPolicies, policy: (hash: string) => Policy, common: Common): Uint8Array {
  const bloom = new Bloom(undefined, common);
  for (const r of receipts) {
    for (const [address, topics] of r.logs) {
      const hash = policies.get(bytesToHex(address));
      if (hash !== undefined && !isPublicLog(policy(hash), topics)) continue;
      bloom.add(address);
      for (const t of topics) bloom.add(t);
    }
  }
  return bloom.bitvector;
}

function sameClock(a: DevClock, b: DevClock): boolean {
  return a.offset === b.offset && a.next === b.next && a.nextBaseFee === b.nextBaseFee;
}

/** The state root a dev entry records after itself; undefined for a block entry (its header has it). */
function recordedRoot(payload: ReturnType<typeof decodeEntry>): Uint8Array | undefined {
  if (payload.kind === 'state') return payload.stateRoot;
  if (payload.kind === 'mined') return payload.stateRoots.subarray(payload.stateRoots.length - 32);
  return undefined;
}

function emptyStoredBlock(block: Block): StoredBlock {
  return storedBlock(block, [], [], block.serialize().length, new Map());
}

/** The header of a block without transactions. */
function emptyHeader(fields: ReturnType<typeof headerFields>, stateRoot: Uint8Array, common: Common) {
  return createBlockHeader(
    { ...fields, stateRoot, transactionsTrie: KECCAK256_RLP, receiptTrie: KECCAK256_RLP, logsBloom: new Uint8Array(256), gasUsed: 0n },
    { common },
  );
}

/** Adds a later write set to an earlier one: the later values win. */
function mergeWriteSet(into: WriteSet, later: WriteSet): void {
  for (const [address, account] of later.accounts) into.accounts.set(address, account);
  for (const [address, slots] of later.storage) {
    let target = into.storage.get(address);
    if (!target) into.storage.set(address, (target = new Map()));
    for (const [slot, value] of slots) target.set(slot, value);
  }
  for (const [hash, code] of later.codes) into.codes.set(hash, code);
}

function storedBlock(block: Block, senders: string[], receipts: StoredReceipt[], size: number, policies: BlockPolicies): StoredBlock {
  const txIndex = new Map<string, number>();
  block.transactions.forEach((tx, i) => txIndex.set(bytesToHex(tx.hash()), i));
  return { block, senders, receipts, hash: bytesToHex(block.hash()), txIndex, size, policies };
}

/** Decoded blocks by number, at most `maxTxs` transactions (and one block) together; the oldest added goes first. */
class BlockCache {
  private readonly blocks = new Map<number, StoredBlock>();
  private txs = 0;

  constructor(private readonly maxTxs: number) {}

  get(seq: number): StoredBlock | undefined {
    return this.blocks.get(seq);
  }

  /** Forgets blocks from `seq` on (the chain was taken back before them). */
  dropFrom(seq: number): void {
    for (const [n, block] of this.blocks) {
      if (n < seq) continue;
      this.blocks.delete(n);
      this.txs -= Math.max(1, block.block.transactions.length);
    }
  }

  add(seq: number, block: StoredBlock): StoredBlock {
    this.blocks.set(seq, block);
    this.txs += Math.max(1, block.block.transactions.length);
    for (const [oldest, old] of this.blocks) {
      if (this.txs <= this.maxTxs || oldest === seq) break;
      this.blocks.delete(oldest);
      this.txs -= Math.max(1, old.block.transactions.length);
    }
    return block;
  }
}
