import { invalidInput } from './EnclaveFailure.ts';
import type { Inspected } from './inspect.ts';

/** A transaction admitted here and not yet in a block. */
export interface PendingTx {
  hash: string;
  sender: string;
  nonce: bigint;
  envelope: Uint8Array;
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

/**
 * Admission of signed transactions: the stateful half of geth's pool checks (nonce,
 * funds, base fee), with its messages, which ethers and viem map to their own error
 * types. It lives on the admission thread and checks against a view of the senders'
 * accounts that the executing thread keeps current after every block, so accepting a
 * transaction never waits for execution. The view can be a block behind: execution
 * checks again, and drops what no longer applies (as a pool would).
 */
export class TxPool {
  /** Admitted here and not yet in a block, by hash. */
  readonly pending = new Map<string, PendingTx>();
  private readonly bySender = new Map<string, Map<bigint, string>>();
  private readonly accounts = new Map<string, SenderAccount>();

  constructor(
    private readonly blockGasLimit: bigint,
    private baseFee: bigint,
  ) {}

  /** Whether the pool follows this sender's account (if not, ask the executing thread first). */
  follows(sender: string): boolean {
    return this.accounts.has(sender);
  }

  /** Admits an inspected transaction of a followed sender; throws geth's messages. */
  admit(t: Inspected): { hash: string; envelope: Uint8Array } {
    if (this.pending.has(t.hash)) throw invalidInput('already known');
    const account = this.accounts.get(t.sender) ?? { nonce: 0n, balance: 0n };
    if (t.nonce < account.nonce) throw invalidInput(`nonce too low: next nonce ${account.nonce}, tx nonce ${t.nonce}`);
    if (this.bySender.get(t.sender)?.has(t.nonce)) {
      throw invalidInput(
        `replacement transaction underpriced: nonce ${t.nonce} of ${t.sender} is taken by a pending transaction (transactions are ordered on arrival and not replaced)`,
      );
    }
    if (t.gasLimit > this.blockGasLimit) throw invalidInput('exceeds block gas limit');
    if (t.maxFee < this.baseFee) {
      throw invalidInput(`max fee per gas less than block base fee: address ${t.sender}, maxFeePerGas: ${t.maxFee}, baseFee: ${this.baseFee}`);
    }
    const cost = t.gasLimit * t.maxFee + t.value;
    if (account.balance < cost) {
      throw invalidInput(`insufficient funds for gas * price + value: address ${t.sender} have ${account.balance} want ${cost}`);
    }
    this.pending.set(t.hash, { hash: t.hash, sender: t.sender, nonce: t.nonce, envelope: t.envelope });
    let mine = this.bySender.get(t.sender);
    if (!mine) this.bySender.set(t.sender, (mine = new Map()));
    mine.set(t.nonce, t.hash);
    return { hash: t.hash, envelope: t.envelope };
  }

  /** The next nonce of a followed sender, counting transactions waiting here. */
  nextNonce(sender: string): bigint {
    let nonce = this.accounts.get(sender)?.nonce ?? 0n;
    const mine = this.bySender.get(sender);
    while (mine?.has(nonce)) nonce++;
    return nonce;
  }

  /**
   * Takes the executing thread's report: followed accounts move on, and transactions
   * that made it into a block (their sender's nonce passed them) or were dropped are
   * forgotten.
   */
  update({ accounts, baseFee, dropped }: PoolUpdate): void {
    this.baseFee = baseFee;
    for (const hash of dropped) this.forget(hash);
    for (const [address, nonce, balance] of accounts) {
      this.accounts.set(address, { nonce, balance });
      const mine = this.bySender.get(address);
      if (!mine) continue;
      for (const [n, hash] of mine) if (n < nonce) this.forget(hash);
    }
  }

  private forget(hash: string): void {
    const p = this.pending.get(hash);
    if (!p) return;
    this.pending.delete(hash);
    const mine = this.bySender.get(p.sender);
    if (mine?.get(p.nonce) === hash) mine.delete(p.nonce);
    if (mine?.size === 0) this.bySender.delete(p.sender);
  }
}
