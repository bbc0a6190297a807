import { createBlock, type Block } from '@ethereumjs/block';
import { createTx, type TypedTransaction } from '@ethereumjs/tx';
import { EthereumJSError, bigIntToHex, bytesToHex, createAddressFromString, hexToBytes, KECCAK256_NULL_S, setLengthLeft, bigIntToBytes, toChecksumAddress } from '@ethereumjs/util';
import type { RunTxResult } from '@ethereumjs/vm';
import type { EnclaveLimits } from '../boundary/limits.ts';
import type { BlockRef, CallRequest, LogFilter, Query } from '../boundary/messages.ts';
import type { Chain } from '../chain/Chain.ts';
import { formatBlock, formatLog, formatReceipt, formatReceipts, formatTransaction } from '../chain/format.ts';
import { ExecutionAborted, ExecutionBudget } from '../evm/ExecutionBudget.ts';
import { PrecompileCapExceeded } from '../evm/precompiles.ts';
import type { StateReader } from '../state/types.ts';
import type { CallLease, CallSlots } from './CallSlots.ts';
import { EnclaveFailure, invalidInput, invalidParams } from './EnclaveFailure.ts';
import { LogMatcher } from './LogMatcher.ts';
import { PendingView, type PendingBlock } from './PendingView.ts';
import { ANONYMOUS, decide, type Principal } from '../policy/decide.ts';
import type { Disclosure } from '../policy/Disclosure.ts';
import type { PolicyBook } from '../policy/PolicyBook.ts';
import { StateGuard } from '../policy/StateGuard.ts';
import type { Identities } from '../identity/Identities.ts';

/** The fixed answer to a read that a policy refuses (it depends on public facts only). */
export const notPermitted = () => new EnclaveFailure('notPermitted', 'not permitted');

/** What reads ask of the pool (on the admission thread). */
export interface PoolReads {
  nextNonce(address: string): Promise<bigint>;
  pending(hash: string): Promise<{ tx: TypedTransaction; sender: string } | undefined>;
}

/** The tip suggested to clients and used when eth_sendTransaction names none (1 gwei, as Anvil and Hardhat). */
export const DEFAULT_PRIORITY_FEE = 1_000_000_000n;
const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';
/** Context blocks kept for calls (see Reads.contextBlock). */
const CONTEXT_BLOCKS = 8;

/** What reads need to decide for each caller. */
export interface ReadPolicy {
  book: PolicyBook;
  disclosure: Disclosure;
  identities: Identities;
  openNetwork: boolean;
  /** Whether an address is an unlocked dev account (a `from` naming one authenticates as it). */
  isDevAccount(address: string): boolean;
}

/**
 * Answers reads. Every read passes through here with the principal its credential
 * proved, so the enclave decides what each caller sees (see Disclosure and decide).
 * Each read sees the state of the block it names through a view of its own, never a
 * block that is not yet durable; what a read may spend (gas, time, blocks, results)
 * is bounded by the enclave's limits.
 */
export class Reads {
  private readonly contextBlocks = new Map<string, Block>();
  private readonly pending: PendingView;

  constructor(
    private readonly chain: Chain,
    private readonly pool: PoolReads,
    private readonly accounts: () => string[],
    private readonly limits: EnclaveLimits,
    private readonly calls: CallSlots,
    private readonly policy: ReadPolicy,
  ) {
    this.pending = new PendingView(chain, calls, limits, policy.book);
  }

  async answer(query: Query, who: Principal = ANONYMOUS): Promise<unknown> {
    switch (query.kind) {
      case 'blockNumber':
        return BigInt(this.chain.headNumber);
      case 'balance':
        return this.withState(query.block, (state) => state.account(query.address)?.balance ?? 0n);
      case 'nonce':
        if (query.block === 'pending') return this.pool.nextNonce(query.address);
        return this.withState(query.block, (state) => state.account(query.address)?.nonce ?? 0n);
      case 'code':
        return this.withState(query.block, (state) => {
          const hash = state.account(query.address)?.codeHash;
          if (!hash) return '0x';
          const hex = bytesToHex(hash);
          return hex === KECCAK256_NULL_S ? '0x' : bytesToHex(state.code(hex) ?? new Uint8Array());
        });
      case 'storage': {
        const slot = bytesToHex(setLengthLeft(bigIntToBytes(query.slot), 32));
        return this.withState(query.block, (state) => {
          // Raw storage of a contract with a policy goes to auditors only: slots are hashes, so no finer rule can hold.
          if (decide(who, query.address, this.policy.book.at(state, query.address), 'storage', {}, this.policy.openNetwork) !== 'visible') throw notPermitted();
          return bytesToHex(setLengthLeft(state.storage(query.address, slot) ?? new Uint8Array(), 32));
        });
      }
      case 'policy':
        return this.withState(query.block, (state) => {
          const hash = this.policy.book.hashAt(state, query.address);
          if (hash === undefined) return null;
          return { hash, policy: JSON.parse(this.policy.book.bodyText(state, hash)) as unknown };
        });
      case 'call':
        return this.call(query.request, query.block, who);
      case 'estimateGas':
        return this.estimateGas(query.request, query.block, who);
      case 'block': {
        if (query.block === 'pending') return this.pending.read((p) => this.pendingJson(p, query.fullTransactions, who));
        const seq = this.resolve(query.block, false);
        if (seq === undefined) return null;
        const json = this.chain.blockJson(seq, query.fullTransactions);
        if (!query.fullTransactions) return json;
        const stored = this.chain.stored(seq);
        if (stored.policies.size === 0) return json;
        const { disclosure } = this.policy;
        return { ...json, transactions: (json.transactions as Record<string, unknown>[]).map((tx, i) => disclosure.transaction(tx, disclosure.seesInput(who, stored, i))) };
      }
      case 'blockTxCount': {
        if (query.block === 'pending') return this.pending.read((p) => BigInt(p.block.transactions.length));
        const seq = this.resolve(query.block, false);
        return seq === undefined ? null : BigInt(this.chain.stored(seq).block.transactions.length);
      }
      case 'transaction':
        return this.transaction(query.hash, who);
      case 'transactionByBlockAndIndex': {
        if (query.block === 'pending') {
          return this.pending.read((p) => {
            const tx = p.block.transactions[query.index];
            return tx ? this.pendingTransaction(tx, p.senders[query.index]!, who) : null;
          });
        }
        const seq = this.resolve(query.block, false);
        if (seq === undefined) return null;
        const s = this.chain.stored(seq);
        const tx = s.block.transactions[query.index];
        if (!tx) return null;
        const json = formatTransaction(tx, s.senders[query.index]!, { block: s.block, index: query.index });
        return this.policy.disclosure.transaction(json, this.policy.disclosure.seesInput(who, s, query.index));
      }
      case 'receipt':
        return this.receipt(query.hash, who);
      case 'blockReceipts': {
        if (query.block === 'pending') return [];
        const seq = this.resolve(query.block, false);
        if (seq === undefined) return null;
        const s = this.chain.stored(seq);
        return formatReceipts(s.block, s.senders, s.receipts, this.policy.disclosure.logView(who, s));
      }
      case 'logs':
        return this.heavy((budget) => this.logs(query.filter, budget, who));
      case 'feeHistory':
        return this.heavy((budget) => this.feeHistory(query.count, query.newest, query.percentiles, budget));
      case 'gasPrice':
        // The next block builds on the tip (which may still be being written), as admission does.
        return this.chain.tip.header.calcNextBaseFee() + DEFAULT_PRIORITY_FEE;
      case 'maxPriorityFee':
        return DEFAULT_PRIORITY_FEE;
      case 'accounts':
        return this.accounts();
    }
  }

  /**
   * The pending block as eth_getBlockByNumber answers it: no hash or nonce yet, as geth
   * and Hardhat; its transactions as pending ones (no block), each input shown as the
   * pool shows it to this reader.
   */
  private pendingJson(pending: PendingBlock, fullTransactions: boolean, who: Principal): Record<string, unknown> {
    const { block, senders, size } = pending;
    const json: Record<string, unknown> = { ...formatBlock(block, senders, false, size), hash: null, nonce: null };
    if (fullTransactions) json.transactions = block.transactions.map((tx, i) => this.pendingTransaction(tx, senders[i]!, who));
    return json;
  }

  private pendingTransaction(tx: TypedTransaction, sender: string, who: Principal): unknown {
    const { disclosure } = this.policy;
    return disclosure.transaction(formatTransaction(tx, sender, undefined), disclosure.seesPendingInput(who, tx, sender));
  }

  /**
   * A block reference as a block number; undefined if there is no such block. `safe` and
   * `finalized` are the latest: a block is final once durable. `pending` names no stored
   * block: reads of it go to the pending view before they get here (else: the latest).
   */
  resolve(ref: BlockRef, required = true): number | undefined {
    const head = this.chain.headNumber;
    let seq: number | undefined;
    if (typeof ref === 'bigint') seq = ref <= BigInt(head) ? Number(ref) : undefined;
    else if (typeof ref === 'object') {
      seq = this.chain.ledger.blockOfHash(hexToBytes(ref.hash as `0x${string}`));
      // Index rows are not authenticated: the host could point a hash at another block.
      // Trust the row only if the (authenticated) block it names has that hash.
      if (seq !== undefined && (seq > head || this.chain.stored(seq).hash !== ref.hash.toLowerCase())) seq = undefined;
    } else seq = ref === 'earliest' ? 0 : head;
    if (seq === undefined && required) throw invalidInput('header not found');
    return seq;
  }

  /** Runs a read that can take long in a slot of its own, within a budget that starts now. */
  private heavy<T>(fn: (budget: ExecutionBudget) => Promise<T>): Promise<T> {
    const budget = new ExecutionBudget(this.limits.callTimeoutMs);
    return this.calls.enter(budget, () => fn(budget));
  }

  /**
   * Runs `fn` on the state at a block, held for it. Recent blocks answer at once; older
   * ones are rebuilt, which is a read that can take long.
   */
  private async withState<T>(ref: BlockRef, fn: (state: StateReader) => T): Promise<T> {
    if (ref === 'pending') return this.pending.read((p) => fn(p.state));
    const seq = this.resolve(ref)!;
    const run = async (budget: ExecutionBudget) => {
      const view = await this.chain.stateAt(seq, budget);
      try {
        return fn(view.state);
      } finally {
        view.release();
      }
    };
    return this.chain.history.covers(seq) ? run(new ExecutionBudget(this.limits.callTimeoutMs)) : this.heavy(run);
  }

  private async transaction(hash: string, who: Principal): Promise<unknown> {
    const { disclosure } = this.policy;
    let found = this.locate(hash);
    if (!found) {
      const pending = await this.pool.pending(hash);
      if (pending) {
        const json = formatTransaction(pending.tx, pending.sender, undefined);
        return disclosure.transaction(json, disclosure.seesPendingInput(who, pending.tx, pending.sender));
      }
      // Included while the pool was asked.
      found = this.locate(hash);
      if (!found) return null;
    }
    const { stored, index } = found;
    const json = formatTransaction(stored.block.transactions[index]!, stored.senders[index]!, { block: stored.block, index });
    return disclosure.transaction(json, disclosure.seesInput(who, stored, index));
  }

  private receipt(hash: string, who: Principal): unknown {
    const found = this.locate(hash);
    if (!found) return null;
    const { stored, index } = found;
    // Log indexes run across the block: this receipt's first is the count of the logs before it.
    let firstLogIndex = 0;
    for (let i = 0; i < index; i++) firstLogIndex += stored.receipts[i]!.logs.length;
    return formatReceipt(stored.block, index, stored.senders[index]!, stored.receipts[index]!, firstLogIndex, this.policy.disclosure.logView(who, stored));
  }

  /** A transaction in a durable block: the block and its index there; undefined if none. */
  locate(hash: string) {
    const seq = this.chain.ledger.blockOfTx(hexToBytes(hash as `0x${string}`));
    // A block whose rows just landed is not the head until the enclave hears so.
    if (seq === undefined || seq > this.chain.headNumber) return undefined;
    const stored = this.chain.stored(seq);
    const index = stored.txIndex.get(hash);
    return index === undefined ? undefined : { stored, index };
  }

  private async logs(filter: LogFilter, budget: ExecutionBudget, who: Principal): Promise<unknown[]> {
    const { logsBlockRange, logsMaxResults, filterMaxCriteria } = this.limits;
    const matcher = new LogMatcher(filter, filterMaxCriteria);
    let from: number;
    let to: number;
    if (filter.blockHash) {
      const seq = this.resolve({ hash: filter.blockHash }, false);
      if (seq === undefined) throw new EnclaveFailure('notFound', 'unknown block');
      from = to = seq;
    } else {
      const head = this.chain.headNumber;
      // A range that starts beyond the head has nothing yet (a filter waiting for blocks).
      from = this.resolve(filter.fromBlock ?? 'latest', false) ?? Infinity;
      to = Math.min(this.resolve(filter.toBlock ?? 'latest', false) ?? head, head);
      if (from === Infinity) return [];
      if (from > to) throw invalidParams(`invalid block range params: fromBlock 0x${from.toString(16)} is after toBlock 0x${to.toString(16)}`);
      if (to - from + 1 > logsBlockRange) {
        throw new EnclaveFailure('limitExceeded', `block range too large: ${to - from + 1} blocks, at most ${logsBlockRange} per query`);
      }
    }
    const candidates = await this.candidateBlocks(filter, from, to, budget);
    const out: unknown[] = [];
    for (const seq of candidates) {
      const s = this.chain.stored(seq);
      let logIndex = 0;
      s.receipts.forEach((r, txIndex) => {
        const txHash = bytesToHex(s.block.transactions[txIndex]!.hash());
        for (const log of r.logs) {
          const index = logIndex++;
          if (!matcher.matches(bytesToHex(log[0]), log[1])) continue;
          if (!this.policy.disclosure.seesLog(who, s, txIndex, log)) continue;
          out.push(formatLog(log, s.block, txHash, txIndex, index));
        }
      });
      if (out.length > logsMaxResults) throw new EnclaveFailure('limitExceeded', `query returned more than ${logsMaxResults} results`);
      // Decrypting blocks takes time: yield between them, within the read's budget.
      await budget.tick();
    }
    return out;
  }

  /** Blocks that may hold matching logs, from the keyed log index (no block is decrypted for nothing). */
  private async candidateBlocks(filter: LogFilter, from: number, to: number, budget: ExecutionBudget): Promise<number[]> {
    const limit = this.limits.logsBlockRange + 1;
    // One index query per distinct key (a key listed twice is looked up once), yielding
    // between them: a filter of many keys costs its keys, within the read's budget.
    const union = async (keys: string[]) => {
      const set = new Set<number>();
      for (const k of new Set(keys)) {
        for (const seq of this.chain.ledger.blocksWithLogKey(hexToBytes(k as `0x${string}`), from, to, limit)) set.add(seq);
        await budget.tick();
      }
      return set;
    };
    let result: Set<number> | undefined;
    const constraints: string[][] = [];
    if (filter.addresses.length) constraints.push(filter.addresses);
    for (const t of filter.topics) if (t && t.length) constraints.push(t);
    for (const keys of constraints) {
      const set = await union(keys);
      result = result ? new Set([...result].filter((s) => set.has(s))) : set;
      if (result.size === 0) break;
    }
    const seqs = result ? [...result] : this.chain.ledger.blocksWithLogKey('any', from, to, limit);
    return seqs.sort((a, b) => a - b);
  }

  private async feeHistory(count: number, newest: BlockRef, percentiles: number[], budget: ExecutionBudget) {
    const { feeHistoryMaxBlocks, feeHistoryMaxPercentiles } = this.limits;
    if (count > feeHistoryMaxBlocks) throw invalidParams(`invalid argument 0 (blockCount): at most ${feeHistoryMaxBlocks} blocks`);
    if (percentiles.length > feeHistoryMaxPercentiles) {
      throw invalidParams(`invalid argument 2 (rewardPercentiles): at most ${feeHistoryMaxPercentiles} percentiles`);
    }
    for (let i = 0; i < percentiles.length; i++) {
      const p = percentiles[i]!;
      if (!(p >= 0 && p <= 100) || (i > 0 && p < percentiles[i - 1]!)) {
        throw invalidParams('invalid argument 2 (rewardPercentiles): increasing numbers between 0 and 100 expected');
      }
    }
    const last = this.resolve(newest)!;
    const n = Math.max(0, Math.min(count, last + 1));
    const first = last - n + 1;
    const baseFees: string[] = [];
    const blobBaseFees: string[] = [];
    const ratios: number[] = [];
    const rewards: string[][] = [];
    for (let seq = first; seq <= last; seq++) {
      const { block, receipts } = this.chain.stored(seq);
      const h = block.header;
      baseFees.push(bigIntToHex(h.baseFeePerGas ?? 0n));
      // EIP-4844: never below MIN_BASE_FEE_PER_BLOB_GAS (1 wei), whatever the excess blob gas.
      blobBaseFees.push(bigIntToHex(h.getBlobGasPrice()));
      ratios.push(Number(h.gasUsed) / Number(h.gasLimit));
      if (percentiles.length) rewards.push(rewardPercentiles(block, receipts.map((r) => r.gasUsed), percentiles));
      // Blocks beyond the cache are decrypted and decoded: yield between them, within the budget.
      await budget.tick();
    }
    const next = n ? this.chain.stored(last).block.header : undefined;
    baseFees.push(bigIntToHex(next ? next.calcNextBaseFee() : 0n));
    blobBaseFees.push(bigIntToHex(next ? next.calcNextBlobGasPrice(this.chain.common) : 0n));
    const result: Record<string, unknown> = {
      oldestBlock: bigIntToHex(BigInt(n ? first : last)),
      baseFeePerGas: baseFees,
      gasUsedRatio: ratios,
      baseFeePerBlobGas: blobBaseFees,
      blobGasUsedRatio: ratios.map(() => 0),
    };
    if (percentiles.length) result.reward = rewards;
    return result;
  }

  /**
   * The block a call runs in: a stored block (`hash` given), or the pending one. Built
   * once per stored block and kind of call (blocks are frozen and runs only read them),
   * keyed by hash: a number could name another block later.
   */
  private contextBlock(request: CallRequest, base: Block, hash: string | undefined): Block {
    const priced = request.gasPrice !== undefined || request.maxFeePerGas !== undefined;
    const key = hash === undefined ? undefined : priced ? hash + ' priced' : hash;
    let block = key === undefined ? undefined : this.contextBlocks.get(key);
    if (block === undefined) {
      const header = base.header;
      block = createBlock(
        {
          header: {
            ...header.toJSON(),
            // As geth: a call that names no fee runs with a zero base fee, so it needs no funds for gas.
            baseFeePerGas: priced ? header.baseFeePerGas : 0n,
          } as never,
        },
        { common: this.chain.common },
      );
      // Calls go mostly to the head: a few recent blocks are enough (oldest out first).
      if (key === undefined) return block;
      if (this.contextBlocks.size >= CONTEXT_BLOCKS) this.contextBlocks.delete(this.contextBlocks.keys().next().value!);
      this.contextBlocks.set(key, block);
    }
    return block;
  }

  private buildCallTx(request: CallRequest, gasLimit: bigint, block: Block): TypedTransaction {
    const legacy = request.gasPrice !== undefined;
    const baseFee = block.header.baseFeePerGas ?? 0n;
    const tx = createTx(
      {
        type: legacy ? (request.accessList ? 1 : 0) : 2,
        to: request.to,
        value: request.value ?? 0n,
        data: request.data ?? new Uint8Array(),
        gasLimit,
        nonce: request.nonce ?? 0n,
        ...(legacy
          ? { gasPrice: request.gasPrice }
          : {
              maxFeePerGas: request.maxFeePerGas ?? baseFee,
              maxPriorityFeePerGas: request.maxPriorityFeePerGas ?? 0n,
            }),
        accessList: request.accessList?.map((e) => ({ address: e.address as `0x${string}`, storageKeys: e.storageKeys as `0x${string}`[] })),
      } as never,
      { common: this.chain.common, freeze: false },
    );
    const from = createAddressFromString(request.from ?? ZERO_ADDRESS);
    // The call is unsigned: its sender is whoever the request names.
    (tx as { getSenderAddress: () => typeof from }).getSenderAddress = () => from;
    return tx;
  }

  /** The gas a call runs with: what it asks for (else the block gas limit), capped by --rpc-gas-cap, as geth. */
  private gasFor(request: CallRequest): bigint {
    const asked = request.gas ?? this.chain.blockGasLimit;
    return asked < this.limits.rpcGasCap ? asked : this.limits.rpcGasCap;
  }

  /**
   * Runs `fn` with an EVM of the call's own and the state of the block it names, held
   * for the whole call (an estimateGas search runs every attempt on the same block).
   */
  private runCall<T>(
    asked: CallRequest,
    ref: BlockRef,
    who: Principal,
    fn: (execute: (gasLimit: bigint) => Promise<RunTxResult>, shown: boolean, funds: Funds | undefined) => Promise<T>,
  ): Promise<T> {
    const budget = new ExecutionBudget(this.limits.callTimeoutMs);
    // The pending block is built (in a slot of its own) before the call takes a slot.
    if (ref === 'pending') {
      return this.pending.read((p) => this.calls.run(budget, (lease) => this.callOn(lease, asked, who, p.state, p.block, undefined, fn)));
    }
    return this.calls.run(budget, async (lease: CallLease) => {
      const seq = this.resolve(ref)!;
      const view = await this.chain.stateAt(seq, budget);
      try {
        const stored = this.chain.stored(seq);
        return await this.callOn(lease, asked, who, view.state, stored.block, stored.hash, fn);
      } finally {
        view.release();
      }
    });
  }

  /** A call on `state` in (a copy of) block `base`, as runCall describes. */
  private async callOn<T>(
    lease: CallLease,
    asked: CallRequest,
    who: Principal,
    state: StateReader,
    base: Block,
    hash: string | undefined,
    fn: (execute: (gasLimit: bigint) => Promise<RunTxResult>, shown: boolean, funds: Funds | undefined) => Promise<T>,
  ): Promise<T> {
    const { request, principal } = this.caller(asked, who, state);
    const block = this.contextBlock(request, base, hash);
    const { book, openNetwork } = this.policy;
    // Return data and revert reasons follow the output audience of the contract called.
    const target = request.to?.toLowerCase();
    const targetPolicy = target === undefined ? undefined : book.at(state, target);
    const shown =
      target === undefined || decide(principal, target, targetPolicy, 'output', { sender: principal.address }, openNetwork) === 'visible';
    const funds = fundsOf(request, state);
    return await fn(async (gasLimit) => {
      if (funds) checkFunds(funds, gasLimit);
      let guard: StateGuard | undefined;
      let result: RunTxResult;
      try {
        result = await lease.simulate(this.buildCallTx(request, gasLimit, block), state, block, (manager) => (guard = new StateGuard(manager, book, principal, openNetwork)));
      } catch (err) {
        // ethereumjs refuses a transaction with an EthereumJSError naming the reason
        // (intrinsic gas, funds); anything else is a failure of ours, answered as
        // internal without its message.
        if (err instanceof EthereumJSError) throw invalidInput(cleanVmMessage(err));
        throw err;
      }
      // Reaching a contract outside the reader's state audience, at any depth, refuses
      // the whole read: the decision rests on who asks and the policy, both public.
      if (guard?.refused) throw notPermitted();
      return result;
    }, shown, funds);
  }

  /**
   * Who a call runs as. With a credential: as the identity it proves (a `from` naming
   * anyone else is refused). Without: a `from` naming an unlocked dev account
   * authenticates as it (dev network); any other `from` is honoured as msg.sender only
   * for a contract without a policy, and the reader stays unauthenticated, so reaching a
   * contract with a policy finds no identity.
   */
  private caller(request: CallRequest, who: Principal, state: StateReader): { request: CallRequest; principal: Principal } {
    // The zero address names nobody: tools that send it by default (cast) mean "no from".
    const named = request.from?.toLowerCase();
    const from = named === ZERO_ADDRESS ? undefined : named;
    if (who.authenticated) {
      if (from !== undefined && from !== who.address) throw notPermitted();
      return { request: { ...request, from: who.address }, principal: who };
    }
    if (from === undefined) return { request, principal: ANONYMOUS };
    if (this.policy.openNetwork && this.policy.isDevAccount(from)) {
      return { request, principal: { address: from, roles: this.policy.identities.rolesOf(from), authenticated: true } };
    }
    const to = request.to?.toLowerCase();
    const governed = to === undefined || this.policy.book.at(state, to) !== undefined;
    return { request: governed ? { ...request, from: undefined } : request, principal: ANONYMOUS };
  }

  private call(request: CallRequest, ref: BlockRef, who: Principal): Promise<string> {
    return this.runCall(request, ref, who, async (execute, shown) => {
      const result = await execute(this.gasFor(request));
      const error = result.execResult.exceptionError;
      if (error) throw failure(error.error, result.execResult.returnValue, shown);
      return shown ? bytesToHex(result.execResult.returnValue) : '0x';
    });
  }

  private estimateGas(request: CallRequest, ref: BlockRef, who: Principal): Promise<bigint> {
    const asked = this.gasFor(request);
    return this.runCall(request, ref, who, async (execute, shown, funds) => {
      const cap = recap(asked, funds);
      const first = await execute(cap);
      if (first.execResult.exceptionError) {
        const e = first.execResult.exceptionError.error;
        if (e === 'revert' || !shown) throw failure(e, first.execResult.returnValue, shown);
        throw invalidInput(`gas required exceeds allowance (${cap})`);
      }
      // As geth: a plain value transfer that ran no code needs exactly the 21000 it spent.
      if (request.to && !request.data?.length && first.totalGasSpent === 21_000n) return 21_000n;
      const ok = async (gas: bigint) => {
        try {
          return !(await execute(gas)).execResult.exceptionError;
        } catch (err) {
          // Refused by ethereumjs (below intrinsic gas): this amount is too low; anything else ends the search.
          const refused = err instanceof EnclaveFailure && err.kind === 'invalidInput';
          if (refused && !(err instanceof ExecutionAborted) && !(err instanceof PrecompileCapExceeded)) return false;
          throw err;
        }
      };
      // As geth: the used gas plus refunds and the call stipend, with 1/64 held back per call
      // frame, is almost always enough; otherwise search between it and the cap.
      let lo = first.totalGasSpent - 1n;
      let hi = cap;
      const optimistic = ((first.totalGasSpent + first.gasRefund + 2300n) * 64n) / 63n;
      if (optimistic < hi) {
        if (await ok(optimistic)) hi = optimistic;
        else lo = optimistic;
      }
      while (lo + 1n < hi && (hi - lo) * 1000n > hi * 15n) {
        const mid = (lo + hi) / 2n;
        if (await ok(mid)) hi = mid;
        else lo = mid;
      }
      return hi;
    });
  }
}

/** What a call's named sender holds and must pay: value plus gas at its fee cap (0 for a call that names no fee). */
interface Funds {
  from: string;
  balance: bigint;
  value: bigint;
  feeCap: bigint;
}

/**
 * The funds of a call that names its sender, checked as geth does before running it
 * (calls run with ethereumjs's skipBalance, which would otherwise top the sender up). A
 * call that names no sender runs as the zero address and is not checked.
 */
function fundsOf(request: CallRequest, state: StateReader): Funds | undefined {
  const from = request.from?.toLowerCase();
  if (from === undefined || from === ZERO_ADDRESS) return undefined;
  return {
    from,
    balance: state.account(from)?.balance ?? 0n,
    value: request.value ?? 0n,
    feeCap: request.gasPrice ?? request.maxFeePerGas ?? 0n,
  };
}

/** geth's buyGas check, in its words: `insufficient funds for gas * price + value: address 0x… have X want Y`. */
function checkFunds(funds: Funds, gasLimit: bigint): void {
  const want = gasLimit * funds.feeCap + funds.value;
  if (funds.balance < want) {
    throw invalidInput(`insufficient funds for gas * price + value: address ${toChecksumAddress(funds.from)} have ${funds.balance} want ${want}`);
  }
}

/**
 * As geth's estimator: with a fee cap, the gas searched is capped by what the balance
 * left after the value can buy, and a value the balance cannot cover is refused outright.
 */
function recap(cap: bigint, funds: Funds | undefined): bigint {
  if (!funds || funds.feeCap === 0n) return cap;
  if (funds.value >= funds.balance) throw invalidInput('insufficient funds for transfer');
  const allowance = (funds.balance - funds.value) / funds.feeCap;
  return allowance < cap ? allowance : cap;
}

function rewardPercentiles(block: Block, gasUsed: bigint[], percentiles: number[]): string[] {
  const baseFee = block.header.baseFeePerGas ?? 0n;
  const tips = block.transactions
    .map((tx, i) => ({ tip: tipOf(tx, baseFee), gas: gasUsed[i] ?? 0n }))
    .sort((a, b) => (a.tip < b.tip ? -1 : a.tip > b.tip ? 1 : 0));
  if (tips.length === 0) return percentiles.map(() => '0x0');
  const total = tips.reduce((s, t) => s + t.gas, 0n);
  return percentiles.map((p) => {
    const threshold = (total * BigInt(Math.round(p * 100))) / 10000n;
    let sum = 0n;
    for (const t of tips) {
      sum += t.gas;
      if (sum >= threshold) return bigIntToHex(t.tip);
    }
    return bigIntToHex(tips[tips.length - 1]!.tip);
  });
}

function tipOf(tx: TypedTransaction, baseFee: bigint): bigint {
  if ('maxFeePerGas' in tx) {
    const room = tx.maxFeePerGas - baseFee;
    return tx.maxPriorityFeePerGas < room ? tx.maxPriorityFeePerGas : room;
  }
  return (tx as { gasPrice: bigint }).gasPrice - baseFee;
}

/**
 * Maps an EVM exception to the answer geth gives: code 3 with data for reverts. When
 * the caller may not see the contract's output (`shown` false), every failure reads as
 * a bare revert: neither revert data nor the VM's error text leaves the enclave.
 */
export function failure(error: string, returnValue: Uint8Array, shown: boolean): EnclaveFailure {
  if (!shown) return new EnclaveFailure('reverted', 'execution reverted', '0x');
  if (error === 'revert') {
    const data = bytesToHex(returnValue);
    return new EnclaveFailure('reverted', revertMessage(returnValue), data);
  }
  return invalidInput(error);
}

function revertMessage(data: Uint8Array): string {
  // Error(string): selector 0x08c379a0, then an ABI-encoded string.
  if (data.length >= 68 && bytesToHex(data.subarray(0, 4)) === '0x08c379a0') {
    const length = Number(BigInt(bytesToHex(data.subarray(36, 68))));
    if (68 + length <= data.length) {
      return `execution reverted: ${new TextDecoder().decode(data.subarray(68, 68 + length))}`;
    }
  }
  return 'execution reverted';
}

function cleanVmMessage(err: unknown): string {
  const message = String((err as Error)?.message ?? err);
  // ethereumjs appends the VM, block and tx state (" (vm hf=… -> block … -> tx …)"); callers need only the reason.
  const reason = message.split(' -> ')[0]!.split('\n')[0]!.split(' (vm hf=')[0]!;
  if (/INTRINSIC_GAS_TOO_LOW/.test(reason)) return `intrinsic gas too low: ${reason.replace(/^INTRINSIC_GAS_TOO_LOW: /, '')}`;
  if (/enough funds/.test(reason)) return `insufficient funds for gas * price + value: ${reason}`;
  return reason;
}
