import type { EnclaveLimits } from '../boundary/limits.ts';
import { EnclaveFailure, invalidInput } from './EnclaveFailure.ts';
import type { Inspected } from './inspect.ts';

/** The pool's budgets, from the enclave's limits. */
export type PoolLimits = Pick<
  EnclaveLimits,
  'poolSlots' | 'poolAccountPending' | 'poolAccountQueued' | 'poolMaxNonceGap' | 'poolQueuedLifetimeMs' | 'poolFollowedAccounts'
>;

/** geth's price bump: a replacement pays at least this much more (%) in fee cap and tip. */
const PRICE_BUMP = 10n;

/** A transaction in the pool: pending (on the ordering log, not yet in a block) or queued (waiting for a nonce gap). */
export interface PoolTx {
  hash: string;
  sender: string;
  nonce: bigint;
  maxFee: bigint;
  tip: bigint;
  /** gas limit * max fee + value: what the sender must be able to pay. */
  cost: bigint;
  envelope: Uint8Array;
  /** When it entered the pool (ms, the pool's clock): queued ones expire. */
  since: number;
}

/** A sender's account as of the newest executed block (or a little later). */
export interface SenderAccount {
  nonce: bigint;
  balance: bigint;
}

/**
 * What the executing thread reports after its blocks: the new accounts of the senders
 * the pool follows, the base fee of the next block, and the transactions it dropped.
 */
export interface PoolUpdate {
  accounts: [address: string, nonce: bigint, balance: bigint][];
  baseFee: bigint;
  dropped: string[];
}

/** A sender's transactions in the pool, by nonce. */
interface SenderTxs {
  pending: Map<bigint, PoolTx>;
  queued: Map<bigint, PoolTx>;
  /** Sum of their costs, for the cumulative funds check. */
  committed: bigint;
}

const limitExceeded = (message: string) => new EnclaveFailure('limitExceeded', message);

/**
 * Admission of signed transactions: the stateful half of geth's pool checks (nonce,
 * funds, base fee) and its limits, with its messages, which ethers and viem map to their
 * own error types. It lives on the admission thread and checks against a view of the
 * senders' accounts that the executing thread keeps current after every block, so
 * accepting a transaction never waits for execution. The view can be a block behind:
 * execution checks again, and drops what no longer applies (as a pool would).
 *
 * Only transactions executable at the tip (nonce = account nonce + pending ones) are
 * pending and sealed for the ordering log; one with a nonce gap is queued here, given
 * to nobody, until a transaction fills the gap and takes it along. So the log, which
 * every node executes, never carries a transaction that cannot run, and this pool alone
 * bounds what waits: pending ones cannot be evicted or replaced (they are on the log),
 * queued ones can, and expire.
 */
export class TxPool {
  /** Every transaction here, pending or queued, by hash. */
  private readonly txs = new Map<string, PoolTx>();
  private readonly senders = new Map<string, SenderTxs>();
  /** The followed accounts, least recently used first. */
  private readonly accounts = new Map<string, SenderAccount>();
  private queuedCount = 0;

  constructor(
    private readonly blockGasLimit: bigint,
    private baseFee: bigint,
    private readonly limits: PoolLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Transactions here: pending (on the log) and queued (waiting for a nonce gap). */
  get size(): { pending: number; queued: number } {
    return { pending: this.txs.size - this.queuedCount, queued: this.queuedCount };
  }

  /** Accounts the pool follows now. */
  get followedCount(): number {
    return this.accounts.size;
  }

  /** A transaction in the pool, pending or queued. */
  get(hash: string): PoolTx | undefined {
    return this.txs.get(hash);
  }

  /** Whether the pool follows this sender's account (if not, ask the executing thread first). */
  follows(sender: string): boolean {
    return this.accounts.has(sender);
  }

  /**
   * Admits an inspected transaction of a followed sender; throws geth's messages. Returns
   * the envelopes that became executable, in nonce order (none if it waits for a gap).
   */
  admit(t: Inspected): { hash: string; envelopes: Uint8Array[]; executable: string[] } {
    if (this.txs.has(t.hash)) throw invalidInput('already known');
    const account = this.touch(t.sender);
    if (t.nonce < account.nonce) throw invalidInput(`nonce too low: next nonce ${account.nonce}, tx nonce ${t.nonce}`);
    if (t.gasLimit > this.blockGasLimit) throw invalidInput('exceeds block gas limit');
    if (t.maxFee < this.baseFee) {
      throw invalidInput(`max fee per gas less than block base fee: address ${t.sender}, maxFeePerGas: ${t.maxFee}, baseFee: ${this.baseFee}`);
    }
    const { poolSlots, poolAccountPending, poolAccountQueued, poolMaxNonceGap } = this.limits;
    const mine = this.senders.get(t.sender);
    const next = this.pendingNonce(account, mine);
    if (t.nonce - next > BigInt(poolMaxNonceGap)) {
      throw invalidInput(
        `nonce too high: next nonce ${next}, tx nonce ${t.nonce}: more than the maximum nonce gap (poolMaxNonceGap) of ${poolMaxNonceGap} ahead`,
      );
    }
    // A pending one is on the ordering log, not yet in a block: its replacement goes onto
    // the log marked as one, and takes its place in the queue there (see Chain.enqueue).
    const replacedPending = mine?.pending.get(t.nonce);
    const replaced = replacedPending ?? mine?.queued.get(t.nonce);
    if (replaced) {
      const minFee = (replaced.maxFee * (100n + PRICE_BUMP)) / 100n;
      const minTip = (replaced.tip * (100n + PRICE_BUMP)) / 100n;
      if (t.maxFee < minFee || t.tip < minTip || t.maxFee <= replaced.maxFee || t.tip <= replaced.tip) {
        throw invalidInput(
          `replacement transaction underpriced: replacing ${replacedPending ? 'pending' : 'queued'} nonce ${t.nonce} of ${t.sender} takes at least ${PRICE_BUMP}% more in both max fee per gas (at least ${bigMax(minFee, replaced.maxFee + 1n)}, have ${t.maxFee}) and priority fee (at least ${bigMax(minTip, replaced.tip + 1n)}, have ${t.tip})`,
        );
      }
      if (replacedPending && !t.replaces) throw new EnclaveFailure('internal', 'a replacement of a pending transaction must be sealed as one');
    }
    const executable = t.nonce === next || replacedPending !== undefined;
    if (executable && !replacedPending && (mine?.pending.size ?? 0) >= poolAccountPending) {
      throw limitExceeded(
        `account limit exceeded: ${t.sender} has ${poolAccountPending} pending transactions not yet in a block, the most one sender may have (poolAccountPending)`,
      );
    }
    if (!executable && !replaced && (mine?.queued.size ?? 0) >= poolAccountQueued) {
      throw limitExceeded(
        `account limit exceeded: ${t.sender} has ${poolAccountQueued} queued transactions waiting for a nonce gap, the most one sender may have (poolAccountQueued)`,
      );
    }
    const cost = t.gasLimit * t.maxFee + t.value;
    // Counted with what its other transactions here may spend, as geth does: admitting
    // what cannot all be paid would let one funded key fill the pool for free.
    const others = (mine?.committed ?? 0n) - (replaced?.cost ?? 0n);
    if (account.balance < others + cost) {
      const count = (mine ? mine.pending.size + mine.queued.size : 0) - (replaced ? 1 : 0);
      throw invalidInput(
        `insufficient funds for gas * price + value: address ${t.sender} have ${account.balance} want ${cost}` +
          (count ? ` (plus ${others} for its ${count} other transaction${count === 1 ? '' : 's'} in the pool)` : ''),
      );
    }
    if (!replaced && this.txs.size >= poolSlots) this.makeRoom(t);

    if (replaced) this.remove(replaced);
    const entry: PoolTx = {
      hash: t.hash,
      sender: t.sender,
      nonce: t.nonce,
      maxFee: t.maxFee,
      tip: t.tip,
      cost,
      envelope: t.envelope,
      since: this.now(),
    };
    const txs = this.add(entry, executable);
    if (!executable) return { hash: t.hash, envelopes: [], executable: [] };
    if (replacedPending) return { hash: t.hash, envelopes: [t.envelope], executable: [t.hash] };
    // The gap is filled: the queued ones it makes contiguous go onto the log behind it.
    const envelopes = [t.envelope];
    const hashes = [t.hash];
    for (let n = t.nonce + 1n; txs.pending.size < poolAccountPending; n++) {
      const q = txs.queued.get(n);
      if (!q) break;
      txs.queued.delete(n);
      this.queuedCount--;
      txs.pending.set(n, q);
      envelopes.push(q.envelope);
      hashes.push(q.hash);
    }
    return { hash: t.hash, envelopes, executable: hashes };
  }

  /** Whether a pending transaction (on the ordering log) holds this sender's nonce: one for it must be sealed as a replacement. */
  pendingAt(sender: string, nonce: bigint): boolean {
    return this.senders.get(sender)?.pending.has(nonce) ?? false;
  }

  /** The next nonce of a followed sender, counting its pending transactions (not queued ones). */
  nextNonce(sender: string): bigint {
    return this.pendingNonce(this.touch(sender), this.senders.get(sender));
  }

  /**
   * Takes the executing thread's report: followed accounts move on, and transactions
   * that made it into a block (their sender's nonce passed them) or were dropped are
   * forgotten. Accounts the pool does not follow are taken only if `asked` says the
   * pool asked for them (a report can cross an unfollow on its way). Returns the
   * accounts it stopped following to stay within its bound.
   */
  update({ accounts, baseFee, dropped }: PoolUpdate, asked: (address: string) => boolean = () => false): string[] {
    this.baseFee = baseFee;
    for (const hash of dropped) {
      const p = this.txs.get(hash);
      if (p) this.remove(p);
    }
    for (const [address, nonce, balance] of accounts) {
      if (!this.accounts.has(address) && !asked(address)) continue;
      this.accounts.set(address, { nonce, balance });
      const mine = this.senders.get(address);
      if (!mine) continue;
      for (const [n, p] of mine.pending) if (n < nonce) this.remove(p);
      for (const [n, p] of mine.queued) if (n < nonce) this.remove(p);
    }
    return this.trim(asked);
  }

  /** Drops queued transactions older than poolQueuedLifetimeMs; returns how many. */
  expire(): number {
    const horizon = this.now() - this.limits.poolQueuedLifetimeMs;
    let expired = 0;
    for (const mine of this.senders.values()) {
      for (const q of mine.queued.values()) {
        if (q.since > horizon) continue;
        this.remove(q);
        expired++;
      }
    }
    return expired;
  }

  /** The pool is full: evicts the cheapest queued transaction if `t` pays more, else refuses. */
  private makeRoom(t: Inspected): void {
    const { poolSlots } = this.limits;
    // A linear scan: it runs only when the pool is full, over at most poolSlots entries.
    let cheapest: PoolTx | undefined;
    for (const mine of this.senders.values()) {
      for (const q of mine.queued.values()) if (!cheapest || paysLess(q, cheapest)) cheapest = q;
    }
    if (!cheapest) {
      throw limitExceeded(
        `txpool is full: ${poolSlots} transactions (poolSlots) are pending, on the ordering log and not yet in a block; try again after the next block`,
      );
    }
    if (!paysLess(cheapest, t)) {
      throw limitExceeded(
        `txpool is full: ${poolSlots} transactions (poolSlots) wait, and this one pays no more than the cheapest queued one (max fee per gas ${cheapest.maxFee}, priority fee ${cheapest.tip})`,
      );
    }
    this.remove(cheapest);
  }

  /** Marks an account as used (it goes last in eviction order) and returns it. */
  private touch(sender: string): SenderAccount {
    const account = this.accounts.get(sender);
    if (!account) throw new EnclaveFailure('internal', 'the pool does not follow this sender yet');
    this.accounts.delete(sender);
    this.accounts.set(sender, account);
    return account;
  }

  private pendingNonce(account: SenderAccount, mine: SenderTxs | undefined): bigint {
    let nonce = account.nonce;
    while (mine?.pending.has(nonce)) nonce++;
    return nonce;
  }

  /**
   * Stops following the least recently used accounts beyond the bound, except senders
   * with transactions here and accounts just asked for (their admissions are waiting for
   * them: dropping one would send the admission to ask again, and again).
   */
  private trim(asked: (address: string) => boolean): string[] {
    let excess = this.accounts.size - this.limits.poolFollowedAccounts;
    const dropped: string[] = [];
    if (excess <= 0) return dropped;
    for (const address of this.accounts.keys()) {
      if (excess === 0) break;
      if (this.senders.has(address) || asked(address)) continue;
      this.accounts.delete(address);
      dropped.push(address);
      excess--;
    }
    return dropped;
  }

  private add(p: PoolTx, pending: boolean): SenderTxs {
    let mine = this.senders.get(p.sender);
    if (!mine) this.senders.set(p.sender, (mine = { pending: new Map(), queued: new Map(), committed: 0n }));
    (pending ? mine.pending : mine.queued).set(p.nonce, p);
    if (!pending) this.queuedCount++;
    mine.committed += p.cost;
    this.txs.set(p.hash, p);
    return mine;
  }

  private remove(p: PoolTx): void {
    if (this.txs.get(p.hash) !== p) return;
    this.txs.delete(p.hash);
    const mine = this.senders.get(p.sender)!;
    if (mine.queued.get(p.nonce) === p) {
      mine.queued.delete(p.nonce);
      this.queuedCount--;
    } else {
      mine.pending.delete(p.nonce);
    }
    mine.committed -= p.cost;
    if (mine.pending.size === 0 && mine.queued.size === 0) this.senders.delete(p.sender);
  }
}

/** Whether `a` pays less than `b`: lower fee cap, or the same fee cap and a lower tip. */
function paysLess(a: { maxFee: bigint; tip: bigint }, b: { maxFee: bigint; tip: bigint }): boolean {
  return a.maxFee < b.maxFee || (a.maxFee === b.maxFee && a.tip < b.tip);
}

const bigMax = (a: bigint, b: bigint) => (a > b ? a : b);
