import type { OrderedEntry } from '../../runtime/boundary/messages.ts';
import type { OrderingLog } from './OrderingLog.ts';

/**
 * The single-node log: in host memory, holding only sealed envelopes and cuts.
 * Delivered entries are dropped, so memory follows what is waiting, not history.
 * What it loses on a crash was never acknowledged with a receipt.
 */
export class EmbeddedLog implements OrderingLog {
  private entries: OrderedEntry[] = [];
  /** Log position of entries[0]. */
  private base = 0;
  private consumer?: { next: number; handler: (entries: OrderedEntry[]) => Promise<void>; busy: boolean };

  async append(entry: OrderedEntry): Promise<number> {
    this.entries.push(entry);
    queueMicrotask(() => this.pump());
    return this.base + this.entries.length - 1;
  }

  subscribe(from: number, handler: (entries: OrderedEntry[]) => Promise<void>): () => void {
    if (this.consumer) throw new Error('the embedded log has one consumer');
    this.consumer = { next: Math.max(from, this.base), handler, busy: false };
    queueMicrotask(() => this.pump());
    return () => {
      this.consumer = undefined;
    };
  }

  now(): number {
    return Date.now();
  }

  private pump(): void {
    const c = this.consumer;
    if (!c || c.busy) return;
    const start = c.next - this.base;
    if (start >= this.entries.length) return;
    const batch = this.entries.slice(start);
    c.next = this.base + this.entries.length;
    this.entries = [];
    this.base = c.next;
    c.busy = true;
    c.handler(batch)
      .catch(() => {})
      .finally(() => {
        c.busy = false;
        this.pump();
      });
  }
}
