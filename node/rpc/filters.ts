import { randomBytes } from 'node:crypto';
import type { BlockEvent, LogFilter } from '../../runtime/boundary/messages.ts';
import { logMatches } from './subscriptions.ts';

type Filter =
  | { kind: 'blocks'; changes: string[]; touched: number }
  | { kind: 'pending'; changes: string[]; touched: number }
  | { kind: 'logs'; filter: LogFilter; changes: Record<string, unknown>[]; touched: number };

/** Filters expire when not polled for this long, as geth's do. */
const FILTER_TTL_MS = 5 * 60_000;
const MAX_CHANGES = 10_000;

/** Polling filters (eth_newFilter and friends), for clients that watch over HTTP. */
export class Filters {
  private readonly filters = new Map<string, Filter>();

  add(filter: Filter['kind'], logFilter?: LogFilter): string {
    // A QUANTITY, as the spec types filter ids and geth makes them: no leading zeros.
    const id = '0x' + BigInt('0x' + randomBytes(16).toString('hex')).toString(16);
    const touched = Date.now();
    this.filters.set(
      id,
      filter === 'logs' ? { kind: 'logs', filter: logFilter!, changes: [], touched } : { kind: filter, changes: [], touched },
    );
    return id;
  }

  get(id: string): Filter | undefined {
    return this.filters.get(id);
  }

  remove(id: string): boolean {
    return this.filters.delete(id);
  }

  /** Returns and clears what a filter gathered since the last poll. */
  take(id: string): unknown[] | undefined {
    const f = this.filters.get(id);
    if (!f) return undefined;
    f.touched = Date.now();
    const changes = f.changes;
    f.changes = [];
    return changes;
  }

  publish(block: BlockEvent): void {
    this.expire();
    for (const f of this.filters.values()) {
      if (f.kind === 'blocks') push(f.changes, block.hash);
      else if (f.kind === 'logs') {
        const from = typeof f.filter.fromBlock === 'bigint' ? f.filter.fromBlock : 0n;
        const to = typeof f.filter.toBlock === 'bigint' ? f.filter.toBlock : undefined;
        if (block.number < from || (to !== undefined && block.number > to)) continue;
        for (const log of block.logs) if (logMatches(f.filter, log)) push(f.changes, log);
      }
    }
  }

  pending(hash: string): void {
    for (const f of this.filters.values()) if (f.kind === 'pending') push(f.changes, hash);
  }

  private expire(): void {
    const cutoff = Date.now() - FILTER_TTL_MS;
    for (const [id, f] of this.filters) if (f.touched < cutoff) this.filters.delete(id);
  }
}

function push<T>(list: T[], item: T): void {
  if (list.length < MAX_CHANGES) list.push(item);
}
