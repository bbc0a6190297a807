import { Block, createBlock, createBlockFromBytesArray, createBlockHeader, genRequestsRoot, type BlockBytes } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import type { TypedTransaction } from '@ethereumjs/tx';
import { bytesToHex, createZeroAddress, hexToBytes, KECCAK256_NULL, KECCAK256_RLP } from '@ethereumjs/util';
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
import { WorldState } from '../state/WorldState.ts';
import {
  decodePayload,
  decodeSnapshot,
  encodePayload,
  encodeSnapshot,
  serializeBlock,
  type BlockPolicies,
  type StoredReceipt,
  type WriteSet,
} from './codec.ts';
import { formatBlock } from './format.ts';
import { decodeEnvelope } from '../enclave/inspect.ts';
import { ArchiveStates } from './ArchiveStates.ts';
import { encodeParams, type ChainParams } from './chainParams.ts';
import type { GuardedEvm } from '../evm/messageGuard.ts';
import { Identities } from '../identity/Identities.ts';
import { isPublicLog } from '../policy/decide.ts';
import type { PolicyBook } from '../policy/PolicyBook.ts';
import type { Policy } from '../policy/Policy.ts';
import { StateGuard } from '../policy/StateGuard.ts';
import { runSystemCalls } from './systemCalls.ts';

/** A transaction taken from the ordering log, with the sender recovered at submission. */
export interface QueuedTx {
  tx: TypedTransaction;
  sender: string;
  hash: string;
  /** The transaction's canonical encoding. */
  raw: Uint8Array;
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
export function nextHeader(parent: Block, gasLimit: bigint, cutMs: number) {
  return {
    parentHash: parent.hash(),
    number: parent.header.number + 1n,
    timestamp: blockTimestamp(cutMs, parent.header.timestamp),
    gasLimit,
    baseFeePerGas: parent.header.calcNextBaseFee(),
    coinbase: createZeroAddress(),
    // No beacon chain: the randomness field is derived from the parent, deterministically.
    mixHash: keccak256(parent.hash()),
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
  /** Whether the queue may hold transactions that are executable now (the last block was full, or new ones came). */
  private unexamined = false;
  /** Since the last takePoolNews: transactions dropped from the queue, accounts blocks changed. */
  private dropped: string[] = [];
  private changedAccounts = new Set<string>();
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
      const { seq, writeSet } = decodeSnapshot(snapshot.payload);
      this.world.apply(writeSet);
      from = snapshot.entry + 1;
      snapshotBlock = seq;
    }
    for (let entry = from; entry <= head; entry++) this.world.apply(decodePayload(this.ledger.read(entry)).writeSet);
    this.world.takeChanges();
    const headNumber = this.ledger.lastBlock;
    this.headBlock = this.tipBlock = this.stored(headNumber).block;
    const root = await this.world.stateRoot();
    if (bytesToHex(root) !== bytesToHex(this.headBlock.header.stateRoot)) {
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

  /** Queues a transaction from the ordering log (unsealed; decoded when a block reaches it). */
  enqueue(plain: Uint8Array): void {
    this.queue.push({ plain });
    this.unexamined = true;
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
    const headerData = nextHeader(this.tipBlock, this.blockGasLimit, timestampMs);
    const context = createBlock({ header: headerData }, { common: this.common });
    // The system calls run first; if the block turns out empty and the cut does not ask
    // for empty blocks, it is not built and they are undone with it.
    await this.stateManager.checkpoint();
    await runSystemCalls(this.vm, context);
    const included: QueuedTx[] = [];
    const receipts: StoredReceipt[] = [];
    const encodedReceipts: Uint8Array[] = [];
    let gasUsed = 0n;

    // Passes over the queue in log order; a transaction whose nonce is ahead of its
    // sender waits, and becomes executable once the gap is filled in a later pass (else
    // it is dropped when the passes end). The
    // first executable transaction that does not fit ends the block, so building a block
    // costs what it includes, whatever the backlog. Every few milliseconds the loop
    // yields, so reads are answered while a large block executes (reads see the
    // committed head, see History).
    let yielded = performance.now();
    let rest = this.queue;
    let full = false;
    let progressed = true;
    while (progressed && !full) {
      progressed = false;
      const pass = rest;
      rest = [];
      for (let i = 0; i < pass.length; i++) {
        const waiting = pass[i]!;
        let item: QueuedTx;
        try {
          item = waiting.decoded ??= decodeEnvelope(waiting.plain, this.common);
        } catch {
          // Authenticated but undecodable (sealed by a faulty enclave): skipped, on every node alike.
          continue;
        }
        const nonce = this.world.account(item.sender)?.nonce ?? 0n;
        if (item.tx.nonce > nonce) {
          rest.push(waiting);
          continue;
        }
        if (item.tx.nonce < nonce) {
          this.dropped.push(item.hash);
          continue;
        }
        const roles = this.identities.rolesOf(item.sender);
        if (!this.openNetwork && roles === 0) {
          // A consortium network runs registered senders' transactions only (the pool
          // admits no others; this holds for every node that executes the log).
          this.dropped.push(item.hash);
          continue;
        }
        // Blocks are filled to the EIP-1559 gas target (half the limit), so batching a
        // backlog never raises the base fee; a single larger transaction still fits alone.
        const room = (included.length === 0 ? this.blockGasLimit : this.blockGasLimit / 2n) - gasUsed;
        if (item.tx.gasLimit > room) {
          full = true;
          for (let j = i; j < pass.length; j++) rest.push(pass[j]!);
          break;
        }
        let result;
        const evm = this.vm.evm as unknown as GuardedEvm;
        evm.messageGuard = new StateGuard(this.stateManager, this.policies, { address: item.sender, roles, authenticated: true }, this.openNetwork);
        try {
          result = await runTx(this.vm, {
            tx: item.tx,
            block: context,
            skipHardForkValidation: true,
            skipBlockGasLimitValidation: true,
          });
        } catch {
          // No longer valid (e.g. funds spent since submission): dropped, as a pool would.
          this.dropped.push(item.hash);
          continue;
        } finally {
          evm.messageGuard = undefined;
        }
        gasUsed += result.totalGasSpent;
        const receipt = result.receipt;
        receipt.cumulativeBlockGasUsed = gasUsed;
        included.push(item);
        receipts.push({
          status: result.execResult.exceptionError ? 0 : 1,
          cumulativeGasUsed: gasUsed,
          gasUsed: result.totalGasSpent,
          logs: (result.execResult.logs ?? []) as StoredReceipt['logs'],
          contractAddress: result.createdAddress?.toString(),
        });
        encodedReceipts.push(encodeReceipt(receipt, item.tx.type));
        progressed = true;
        if (performance.now() - yielded > YIELD_EVERY_MS) {
          await new Promise(setImmediate);
          yielded = performance.now();
        }
      }
    }
    if (!full) {
      // Still gapped after every pass of the block that reached them: dropped, so a
      // transaction's fate depends only on the log up to its block (every node that
      // executes the log drops the same ones) and nothing waits here across blocks. The
      // pool puts only executable transactions on the log; these come from a stale view.
      for (const waiting of rest) this.dropped.push(waiting.decoded!.hash);
      rest = [];
    }
    this.queue = rest;
    this.unexamined = full;
    if (included.length === 0 && !allowEmpty) {
      await this.stateManager.revert();
      return undefined;
    }
    await this.stateManager.commit();

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
    for (const address of changes.accounts.keys()) this.changedAccounts.add(address);
    this.tipBlock = block;
    const write = this.storage.append(rows).then(
      () => {
        this.ledger.written(rows.seq);
        this.headBlock = block;
        this.writing.delete(seq);
        this.onDurable?.(seq);
      },
      (err: Error) => {
        this.writing.delete(seq);
        throw new EnclaveFailure('internal', err.message);
      },
    );
    write.catch(() => {}); // reported to whoever awaits durable(seq)
    this.writing.set(seq, write);
    this.txsSinceSnapshot += block.transactions.length;
    if (seq > 0 && (seq % SNAPSHOT_BLOCKS === 0 || this.txsSinceSnapshot >= SNAPSHOT_TXS)) this.snapshot();
    return this.blocks.add(seq, storedBlock(block, senders, receipts, serialized.length, policies));
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
    const sealed = this.ledger.sealSnapshot(encodeSnapshot(seq, this.world.entries(), this.world.allCodes()));
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
    const payload = decodePayload(this.ledger.read(entry));
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
