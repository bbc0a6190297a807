import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Credential, FilterRequest, LogFilter } from '../boundary/messages.ts';
import type { StoredBlock } from '../chain/Chain.ts';
import { EnclaveFailure, invalidInput } from './EnclaveFailure.ts';
import { LogMatcher } from './LogMatcher.ts';
import { randomId } from './randomId.ts';

export type FilterLimits = Pick<
  EnclaveLimits,
  'maxFilters' | 'maxFiltersPerConnection' | 'filterIdleMs' | 'filterMaxChanges' | 'filterMaxCriteria'
>;

interface Common {
  /** Only the caller that installed a filter can use it. */
  caller: Credential;
  /** The WebSocket connection it was installed over; the filter ends with it. */
  connection?: number;
  changes: unknown[];
  /** More than filterMaxChanges came since the last poll; the next poll says so. */
  overflowed: boolean;
  /** When it was installed or last used (performance.now()). */
  touched: number;
}

type FilterKind =
  | { kind: 'blocks' }
  | { kind: 'pending' }
  | { kind: 'logs'; filter: LogFilter; matcher: LogMatcher; from: bigint; to?: bigint };
type Filter = Common & FilterKind;

/**
 * Polling filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter),
 * kept in the enclave so that each poll is answered for its caller here. They gather
 * block hashes and logs as blocks become durable, and transaction hashes as the pool
 * admits them. Bounded: filters on the node and per connection, changes kept between
 * polls, and an idle expiry on a timer (geth's 5 minutes), so an idle node frees them
 * too.
 */
export class Filters {
  private readonly filters = new Map<string, Filter>();
  private readonly byConnection = new Map<number, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  /** `logs` answers eth_getFilterLogs (the eth_getLogs query, with its budgets). */
  constructor(
    private readonly limits: FilterLimits,
    private readonly logs: (filter: LogFilter) => Promise<unknown>,
  ) {
    // Checked a few times per idle period, so a filter lives at most 1.25 times it.
    const every = Math.min(Math.max(limits.filterIdleMs / 4, 10), 60_000);
    this.timer = setInterval(() => this.expire(), every);
    this.timer.unref();
  }

  get size(): number {
    return this.filters.size;
  }

  handle(caller: Credential, connection: number | undefined, request: FilterRequest): unknown {
    switch (request.kind) {
      case 'newBlocks':
        return this.install(caller, connection, { kind: 'blocks' });
      case 'newPending':
        return this.install(caller, connection, { kind: 'pending' });
      case 'newLogs': {
        const filter = request.filter;
        const matcher = new LogMatcher(filter, this.limits.filterMaxCriteria);
        const from = typeof filter.fromBlock === 'bigint' ? filter.fromBlock : 0n;
        const to = typeof filter.toBlock === 'bigint' ? filter.toBlock : undefined;
        return this.install(caller, connection, { kind: 'logs', filter, matcher, from, to });
      }
      case 'changes':
        return this.changes(caller, request.filterId);
      case 'logs': {
        const f = this.find(caller, request.filterId);
        if (f?.kind !== 'logs') throw invalidInput('filter not found');
        return this.logs(f.filter);
      }
      case 'uninstall': {
        const found = this.find(caller, request.filterId) !== undefined;
        if (found) this.remove(request.filterId);
        return found;
      }
    }
  }

  /** Gathers a durable block's hash and matching logs. */
  blockDurable(s: StoredBlock): void {
    const number = s.block.header.number;
    for (const f of this.filters.values()) {
      if (f.kind === 'blocks') push(f, s.hash, this.limits.filterMaxChanges);
      else if (f.kind === 'logs') {
        if (number < f.from || (f.to !== undefined && number > f.to)) continue;
        if (f.filter.blockHash !== undefined && f.filter.blockHash !== s.hash) continue;
        for (const log of f.matcher.logs(s)) push(f, log, this.limits.filterMaxChanges);
      }
    }
  }

  /** Gathers the hashes of transactions the pool admitted. */
  admitted(hashes: string[]): void {
    for (const f of this.filters.values()) {
      if (f.kind === 'pending') for (const h of hashes) push(f, h, this.limits.filterMaxChanges);
    }
  }

  /** A WebSocket connection closed: the filters installed over it end. */
  dropConnection(connection: number): void {
    for (const id of this.byConnection.get(connection) ?? []) this.remove(id);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private install(caller: Credential, connection: number | undefined, kind: FilterKind): string {
    const { maxFilters, maxFiltersPerConnection } = this.limits;
    if (this.filters.size >= maxFilters) this.expire();
    if (this.filters.size >= maxFilters) {
      throw new EnclaveFailure('limitExceeded', `too many filters: at most ${maxFilters} on the node (maxFilters); uninstall unused ones`);
    }
    const mine = connection === undefined ? undefined : this.byConnection.get(connection);
    if (mine && mine.size >= maxFiltersPerConnection) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many filters on this connection: at most ${maxFiltersPerConnection} (maxFiltersPerConnection); uninstall unused ones`,
      );
    }
    const id = randomId();
    this.filters.set(id, { ...kind, caller, connection, changes: [], overflowed: false, touched: performance.now() });
    if (connection !== undefined) {
      if (mine) mine.add(id);
      else this.byConnection.set(connection, new Set([id]));
    }
    return id;
  }

  /** Returns and clears what a filter gathered since the last poll. */
  private changes(caller: Credential, id: string): unknown[] {
    const f = this.find(caller, id);
    if (!f) throw invalidInput('filter not found');
    const changes = f.changes;
    f.changes = [];
    if (f.overflowed) {
      f.overflowed = false;
      throw new EnclaveFailure(
        'limitExceeded',
        `filter gathered more than ${this.limits.filterMaxChanges} changes since it was last polled (filterMaxChanges); ` +
          `they were dropped: poll more often, or read the blocks with eth_getLogs`,
      );
    }
    return changes;
  }

  /** The caller's filter, marked as used; undefined if there is none (or it is another caller's). */
  private find(caller: Credential, id: string): Filter | undefined {
    const f = this.filters.get(id);
    if (!f || !sameCaller(f.caller, caller)) return undefined;
    f.touched = performance.now();
    return f;
  }

  private remove(id: string): void {
    const f = this.filters.get(id);
    if (!f) return;
    this.filters.delete(id);
    if (f.connection === undefined) return;
    const mine = this.byConnection.get(f.connection);
    mine?.delete(id);
    if (mine?.size === 0) this.byConnection.delete(f.connection);
  }

  private expire(): void {
    const cutoff = performance.now() - this.limits.filterIdleMs;
    for (const [id, f] of this.filters) if (f.touched < cutoff) this.remove(id);
  }
}

function push(f: Filter, change: unknown, max: number): void {
  if (f.overflowed) return;
  if (f.changes.length < max) f.changes.push(change);
  else {
    // Dropped rather than kept partially: the poller is told, and reads the range itself.
    f.changes = [];
    f.overflowed = true;
  }
}

function sameCaller(a: Credential, b: Credential): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
