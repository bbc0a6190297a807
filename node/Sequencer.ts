import { randomBytes } from 'node:crypto';
import type { Admitted, DevOp, OrderedEntry } from '../runtime/boundary/messages.ts';
import { MESSAGE_BOUNDS } from '../runtime/boundary/validate.ts';
import { EnclaveReplyError, type EnclaveHandle } from '../runtime/boundary/startEnclave.ts';
import type { OrderingLog } from './ordering/OrderingLog.ts';

/**
 * Drives block production: appends cuts to the ordering log (as soon as transactions
 * wait while automine is on, and every `interval` ms when interval mining is on) and
 * feeds the log, in order, to the enclave. Dev operations go on the log too, and their
 * callers are answered with their outcome. The enclave tells filters and subscriptions of each block once it is
 * durable; a block that cannot be made durable stops the node.
 */
export class Sequencer {
  private uncut = 0;
  private executing = false;
  private cutPending = false;
  private timer?: NodeJS.Timeout;
  /** Cut as soon as transactions wait (evm_setAutomine). */
  private automine: boolean;
  /** Dev operations this node appended, waiting for their outcome, by ref. */
  private readonly devCallers = new Map<string, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private stop?: () => void;
  /** The `seq` of the admission whose envelopes go onto the log next. */
  private nextSeq = 0;
  /** Admissions that arrived before an earlier one, by seq. */
  private readonly early = new Map<number, { envelopes: Uint8Array[]; appended: (p: Promise<unknown>) => void }>();

  constructor(
    private readonly log: OrderingLog,
    private readonly enclave: EnclaveHandle,
    private blockTime: number,
    private readonly onFatal: (err: Error) => void,
    /** Reports an entry the enclave skipped (malformed or unauthenticated): its log position and why. */
    private readonly report: (position: number, reason: string) => void = () => {},
  ) {
    this.automine = blockTime === 0;
  }

  /** Ordering-log entries the enclave skipped since start. */
  skipped = 0;
  /** Told of blocks once durable (announced): how many, and the newest's number. */
  onAnnounced?: (count: number, head: bigint) => void;
  /** Entries delivered to the enclave since start (a skipped entry is named by its position). */
  private delivered = 0;
  /** Transactions the enclave held, not yet in a block, after the last batch. */
  private waiting = 0;
  /**
   * Told of the log's clock minus this host's wall clock at each cut appended (ms). Only
   * here is time compared with a wall clock: the enclave judges a cut's timestamp by
   * content alone (clamped after its parent's), so every node agrees on it.
   */
  onCutDrift?: (driftMs: number) => void;

  /** Transactions on the ordering log that are not yet in a block. */
  get pending(): number {
    return this.uncut + this.waiting;
  }

  start(): void {
    this.stop = this.log.subscribe(0, (entries) => this.execute(entries));
    this.setIntervalMining(this.blockTime);
  }

  close(): void {
    clearInterval(this.timer);
    this.stop?.();
    for (const caller of this.devCallers.values()) caller.reject(new EnclaveReplyError({ kind: 'internal', message: 'node closing' }));
    this.devCallers.clear();
  }

  /** Whether a block is cut as soon as transactions wait. */
  get automining(): boolean {
    return this.automine;
  }

  /** evm_setAutomine. */
  setAutomine(on: boolean): void {
    this.automine = on;
  }

  /** evm_setIntervalMining: a block (empty or not) every `ms`; 0 stops. */
  setIntervalMining(ms: number): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.blockTime = ms;
    if (ms > 0) this.timer = setInterval(() => void this.cut(true), ms);
  }

  /**
   * Puts a dev operation on the log, after the transactions before it (with automine on,
   * they make a block first, as each would have at once on Hardhat's node), and answers
   * its outcome once the enclave has executed it (and made what it wrote durable).
   */
  async dev(op: DevOp): Promise<unknown> {
    const ref = randomBytes(12).toString('hex');
    const outcome = new Promise<unknown>((resolve, reject) => this.devCallers.set(ref, { resolve, reject }));
    if (this.automine && this.uncut > 0) await this.cut(false);
    await this.log.append({ kind: 'dev', ref, timestamp: this.log.now(), op });
    return outcome;
  }

  /**
   * Puts an admission's envelopes on the log, in the order the enclave's pool sealed
   * them (their `seq`), whichever reply reached the host first: replies come back on two
   * ports (submit, sendTransaction), and a sender's transactions must reach the log in
   * nonce order. Resolves once they are appended.
   */
  async submit({ envelopes, seq }: Admitted): Promise<void> {
    if (seq === undefined || envelopes.length === 0) return;
    let cutting: Promise<void> | undefined;
    await new Promise<unknown>((appended) => {
      this.early.set(seq, { envelopes, appended });
      for (let next; (next = this.early.get(this.nextSeq)); this.nextSeq++) {
        this.early.delete(this.nextSeq);
        next.appended(Promise.all(next.envelopes.map((envelope) => this.log.append({ kind: 'tx', envelope }))));
        this.uncut += next.envelopes.length;
      }
      // Idle: the cut goes onto the log right behind them, so the enclave takes them and
      // makes their block in one batch. While a batch executes, the cut comes after it.
      if (this.uncut > 0 && this.automine && !this.executing) {
        cutting = this.cut(false);
        // Awaited below; handled here too, in case the appends fail first.
        cutting.catch(() => {});
      }
    });
    await cutting;
  }

  private async cut(allowEmpty: boolean): Promise<void> {
    if (this.cutPending) return;
    this.cutPending = true;
    this.uncut = 0;
    const timestamp = this.log.now();
    this.onCutDrift?.(timestamp - Date.now());
    await this.log.append({ kind: 'cut', timestamp, allowEmpty });
  }

  private async execute(entries: OrderedEntry[]): Promise<void> {
    this.executing = true;
    if (entries.some((e) => e.kind === 'cut')) this.cutPending = false;
    try {
      // One `order` message holds at most MESSAGE_BOUNDS.orderEntries entries.
      for (let from = 0; from < entries.length; from += MESSAGE_BOUNDS.orderEntries) {
        const chunk = entries.slice(from, from + MESSAGE_BOUNDS.orderEntries);
        const result = await this.enclave.request({ type: 'order', entries: chunk });
        this.waiting = result.waiting;
        for (const outcome of result.dev) {
          const caller = this.devCallers.get(outcome.ref);
          if (!caller) continue; // appended by another node
          this.devCallers.delete(outcome.ref);
          if (outcome.ok) caller.resolve(outcome.value);
          else caller.reject(new EnclaveReplyError(outcome.error));
        }
        for (const { position, reason } of result.skipped) {
          const entry = chunk[position];
          const caller = entry?.kind === 'dev' ? this.devCallers.get(entry.ref) : undefined;
          if (caller) {
            this.devCallers.delete((entry as { ref: string }).ref);
            caller.reject(new EnclaveReplyError({ kind: 'invalidParams', message: reason }));
          }
          this.skipped++;
          this.report(this.delivered + from + position, reason);
        }
        const last = result.blocks.at(-1);
        // The next batch executes while these blocks are written; a failed write stops the node.
        if (last) {
          const count = result.blocks.length;
          this.enclave.request({ type: 'durable', number: last.number }).then(
            () => this.onAnnounced?.(count, last.number),
            (err: Error) => this.onFatal(err),
          );
        }
      }
      this.delivered += entries.length;
      this.executing = false;
      // Transactions that arrived while this batch ran, or did not fit, make the next block.
      if (this.automine && (this.uncut > 0 || this.waiting > 0)) await this.cut(false);
    } catch (err) {
      this.executing = false;
      // The enclave could not make a block durable (storage failure): stop rather than
      // announce blocks that a restart would not have.
      this.onFatal(err as Error);
    }
  }
}
