import type { Common } from '@ethereumjs/common';
import type { TypedTransaction } from '@ethereumjs/tx';
import type { Chain, QueuedTx } from '../chain/Chain.ts';
import { invalidInput } from './EnclaveFailure.ts';
import { inspectTransaction, openEnvelope, type Inspected } from './inspect.ts';

/** A transaction admitted here and not yet in a block. */
export interface PendingTx {
  hash: string;
  sender: string;
  nonce: bigint;
  envelope: Uint8Array;
}

/**
 * Admission of signed transactions: the stateful half of geth's pool checks (nonce,
 * funds, base fee), with its messages, which ethers and viem map to their own error
 * types. The stateless half ({@link inspectTransaction}) runs on the recovery thread.
 */
export class TxPool {
  /** Admitted here and not yet in a block, by hash. */
  readonly pending = new Map<string, PendingTx>();
  private readonly bySender = new Map<string, Map<bigint, string>>();

  constructor(
    private readonly chain: Chain,
    private readonly common: Common,
    /**
     * The embedded ordering log lives in host memory for one run only, so envelopes are
     * sealed under a key that lives exactly as long; a network log would use a key
     * derived from the ledger secret that every member enclave holds.
     */
    readonly envelopeKey: Uint8Array,
  ) {}

  /** Admits a transaction inspected on the recovery thread (or inspects it here). */
  admit(raw: Uint8Array, inspected?: Inspected): { hash: string; envelope: Uint8Array } {
    const t = inspected ?? inspectTransaction(raw, this.common, this.envelopeKey);
    if (this.pending.has(t.hash)) throw invalidInput('already known');
    const account = this.chain.world.account(t.sender);
    const nonce = account?.nonce ?? 0n;
    if (t.nonce < nonce) throw invalidInput(`nonce too low: next nonce ${nonce}, tx nonce ${t.nonce}`);
    if (this.bySender.get(t.sender)?.has(t.nonce)) {
      throw invalidInput(
        `replacement transaction underpriced: nonce ${t.nonce} of ${t.sender} is taken by a pending transaction (transactions are ordered on arrival and not replaced)`,
      );
    }
    if (t.gasLimit > this.chain.blockGasLimit) throw invalidInput('exceeds block gas limit');
    const baseFee = this.chain.tip.header.calcNextBaseFee();
    if (t.maxFee < baseFee) {
      throw invalidInput(`max fee per gas less than block base fee: address ${t.sender}, maxFeePerGas: ${t.maxFee}, baseFee: ${baseFee}`);
    }
    const cost = t.gasLimit * t.maxFee + t.value;
    const balance = account?.balance ?? 0n;
    if (balance < cost) {
      throw invalidInput(`insufficient funds for gas * price + value: address ${t.sender} have ${balance} want ${cost}`);
    }
    this.pending.set(t.hash, { hash: t.hash, sender: t.sender, nonce: t.nonce, envelope: t.envelope });
    let mine = this.bySender.get(t.sender);
    if (!mine) this.bySender.set(t.sender, (mine = new Map()));
    mine.set(t.nonce, t.hash);
    return { hash: t.hash, envelope: t.envelope };
  }

  /** The next nonce for a sender, counting transactions waiting here. */
  nextNonce(sender: string): bigint {
    let nonce = this.chain.world.account(sender)?.nonce ?? 0n;
    const mine = this.bySender.get(sender);
    while (mine?.has(nonce)) nonce++;
    return nonce;
  }

  /** A waiting transaction as an object (for eth_getTransactionByHash). */
  transaction(p: PendingTx): TypedTransaction {
    return this.open(p.envelope).tx;
  }

  /** Forgets transactions that made it into a block or can no longer be included. */
  settle(): void {
    for (const hash of this.chain.dropped.splice(0)) this.forget(hash);
    for (const [hash, p] of this.pending) {
      const nonce = this.chain.world.account(p.sender)?.nonce ?? 0n;
      if (p.nonce < nonce) this.forget(hash);
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

  /** Opens an envelope from the ordering log into an executable transaction. */
  open(envelope: Uint8Array): QueuedTx {
    return openEnvelope(envelope, this.common, this.envelopeKey);
  }
}

