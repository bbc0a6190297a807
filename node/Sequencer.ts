import type { BlockEvent, OrderedEntry } from '../runtime/boundary/messages.ts';
import type { EnclaveHandle } from '../runtime/boundary/startEnclave.ts';
import type { OrderingLog } from './ordering/OrderingLog.ts';

/**
 * Drives block production: appends cuts to the ordering log (as soon as transactions
 * wait when blockTime is 0, else every blockTime ms) and feeds the log, in order, to
 * the enclave. Blocks are announced only after the enclave has made them durable.
 */
export class Sequencer {
  private uncut = 0;
  private executing = false;
  private cutPending = false;
  private timer?: NodeJS.Timeout;
  private stop?: () => void;
  private readonly listeners: ((block: BlockEvent) => void)[] = [];

  constructor(
    private readonly log: OrderingLog,
    private readonly enclave: EnclaveHandle,
    private readonly blockTime: number,
    private readonly onFatal: (err: Error) => void,
  ) {}

  start(): void {
    this.stop = this.log.subscribe(0, (entries) => this.execute(entries));
    if (this.blockTime > 0) this.timer = setInterval(() => void this.cut(true), this.blockTime);
  }

  close(): void {
    clearInterval(this.timer);
    this.stop?.();
  }

  onBlock(fn: (block: BlockEvent) => void): void {
    this.listeners.push(fn);
  }

  /** Puts a sealed transaction on the log. */
  async submit(envelope: Uint8Array): Promise<void> {
    await this.log.append({ kind: 'tx', envelope });
    this.uncut++;
    if (this.blockTime === 0 && !this.executing) await this.cut(false);
  }

  private async cut(allowEmpty: boolean): Promise<void> {
    if (this.cutPending) return;
    this.cutPending = true;
    this.uncut = 0;
    await this.log.append({ kind: 'cut', timestamp: this.log.now(), allowEmpty });
  }

  private async execute(entries: OrderedEntry[]): Promise<void> {
    this.executing = true;
    if (entries.some((e) => e.kind === 'cut')) this.cutPending = false;
    try {
      const result = await this.enclave.request({ type: 'order', entries });
      this.executing = false;
      const last = result.blocks.at(-1);
      // The next batch executes while these blocks are written; they are announced once durable.
      if (last) {
        this.enclave.request({ type: 'durable', number: last.number }).then(
          () => {
            for (const block of result.blocks) for (const fn of this.listeners) fn(block);
          },
          (err: Error) => this.onFatal(err),
        );
      }
      // Transactions that arrived while this batch ran, or did not fit, make the next block.
      if (this.blockTime === 0 && (this.uncut > 0 || result.waiting > 0)) await this.cut(false);
    } catch (err) {
      this.executing = false;
      // The enclave could not make a block durable (storage failure): stop rather than
      // announce blocks that a restart would not have.
      this.onFatal(err as Error);
    }
  }
}
