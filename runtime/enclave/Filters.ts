import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Credential, FilterRequest, LogFilter } from '../boundary/messages.ts';
import type { StoredBlock } from '../chain/Chain.ts';
import { EnclaveFailure, invalidInput } from './EnclaveFailure.ts';
import type { LogMatcher } from './LogMatcher.ts';
import type { LogRouter, LogWatcher } from './LogRouter.ts';
import { randomId } from './randomId.ts';
import type { Principal } from '../policy/decide.ts';

export type FilterLimits = Pick<
  EnclaveLimits,
  'maxFilters' | 'maxFiltersPerConnection' | 'filterIdleMs' | 'filterMaxChanges' | 'filterMaxRetained'
>;

interface Common {
  /** Only the caller that installed a filter can use it. */
  caller: Credential;
  /** Who that caller is: the filter gathers what this principal may see. */
  readonly who: Principal;
  /** The WebSocket connection it was installed over; the filter ends with it. */
  connection?: number;
  /** When it was installed or last used (performance.now()). */
  touched: number;
}

/** A block or pending-transaction filter: its place in the hashes kept once for all of them. */
interface HashFilter extends Common {
  kind: 'blocks' | 'pending';
  cursor: number;
}

interface LogsFilter extends Common, LogWatcher {
  kind: 'logs';
  filter: LogFilter;
  matcher: LogMatcher;
  from: bigint;
  to?: bigint;
  /** Logs gathered since the last poll, shared with the other filters they match. */
  changes: Record<string, unknown>[];
  /**
   * What it gathered since the last poll, as filterMaxRetained counts it; still counted
   * once dropped, so that dropping frees no room for others to fill again in the same block.
   */
  spent: number;
  /** The limit that made it drop its changes since the last poll (the next poll says so); it gathers nothing meanwhile. */
  dropped?: 'filterMaxChanges' | 'filterMaxRetained';
}

type Filter = HashFilter | LogsFilter;

/**
 * Polling filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter),
 * kept in the enclave so that each poll is answered for its caller here. They gather
 * block hashes and logs as blocks become durable, and transaction hashes as the pool
 * admits them. Bounded: filters on the node and per connection, changes kept per
 * filter and for all log filters together, and an idle expiry on a timer (geth's
 * 5 minutes), so an idle node frees them too. Block and transaction hashes are kept
 * once for all filters; logs reach a filter through the LogRouter's index, and one
 * that dropped its changes is left out of it until it is polled again.
 */
export class Filters {
  private readonly filters = new Map<string, Filter>();
  private readonly byConnection = new Map<number, Set<string>>();
  private readonly logFilters = new Set<LogsFilter>();
  private readonly blocks: HashFeed;
  private readonly pending: HashFeed;
  private readonly following = { blocks: 0, pending: 0 };
  /** What all log filters gathered since their last polls, weighed as filterMaxRetained counts it. */
  private spent = 0;
  private readonly timer: NodeJS.Timeout;

  /** `logs` answers eth_getFilterLogs (the eth_getLogs query, with its budgets). */
  constructor(
    private readonly limits: FilterLimits,
    private readonly router: LogRouter,
    private readonly logs: (filter: LogFilter, who: Principal) => Promise<unknown>,
  ) {
    this.blocks = new HashFeed(limits.filterMaxChanges);
    this.pending = new HashFeed(limits.filterMaxChanges);
    // Checked a few times per idle period, so a filter lives at most 1.25 times it.
    const every = Math.min(Math.max(limits.filterIdleMs / 4, 10), 60_000);
    this.timer = setInterval(() => this.expire(), every);
    this.timer.unref();
  }

  get size(): number {
    return this.filters.size;
  }

  handle(caller: Credential, who: Principal, connection: number | undefined, request: FilterRequest): unknown {
    switch (request.kind) {
      case 'newBlocks':
        this.makeRoom(connection);
        return this.install(connection, { kind: 'blocks', caller, who, connection, touched: performance.now(), cursor: this.blocks.end });
      case 'newPending':
        this.makeRoom(connection);
        return this.install(connection, { kind: 'pending', caller, who, connection, touched: performance.now(), cursor: this.pending.end });
      case 'newLogs': {
        this.makeRoom(connection);
        const filter = request.filter;
        const f: LogsFilter = {
          kind: 'logs',
          caller,
          who,
          connection,
          touched: performance.now(),
          filter,
          matcher: this.router.matcher(filter),
          from: typeof filter.fromBlock === 'bigint' ? filter.fromBlock : 0n,
          to: typeof filter.toBlock === 'bigint' ? filter.toBlock : undefined,
          changes: [],
          spent: 0,
          take: (log, dataBytes) => this.gather(f, log, dataBytes),
        };
        // It joins the router's index at the next block in its range.
        return this.install(connection, f);
      }
      case 'changes':
        return this.changes(caller, request.filterId);
      case 'logs': {
        const f = this.find(caller, request.filterId);
        if (f?.kind !== 'logs') throw invalidInput('filter not found');
        return this.logs(f.filter, f.who);
      }
      case 'uninstall': {
        const found = this.find(caller, request.filterId) !== undefined;
        if (found) this.remove(request.filterId);
        return found;
      }
    }
  }

  /**
   * A block became durable: gathers its hash, and puts into the router's index the log
   * filters this block is for (in range, not waiting to report dropped changes) and
   * only those. The router then hands them the block's logs.
   */
  blockDurable(s: StoredBlock): void {
    if (this.following.blocks) this.blocks.push([s.hash]);
    const number = s.block.header.number;
    for (const f of this.logFilters) {
      const wanted =
        f.dropped === undefined &&
        number >= f.from &&
        (f.to === undefined || number <= f.to) &&
        (f.filter.blockHash === undefined || f.filter.blockHash === s.hash);
      if (wanted) this.router.add(f);
      else this.router.remove(f);
    }
  }

  /** Gathers the hashes of transactions the pool admitted. */
  admitted(hashes: string[]): void {
    if (this.following.pending) this.pending.push(hashes);
  }

  /** A WebSocket connection closed: the filters installed over it end. */
  dropConnection(connection: number): void {
    for (const id of this.byConnection.get(connection) ?? []) this.remove(id);
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Refuses a new filter over the node's or the connection's limit. */
  private makeRoom(connection: number | undefined): void {
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
  }

  private install(connection: number | undefined, f: Filter): string {
    const id = randomId();
    this.filters.set(id, f);
    if (f.kind === 'logs') this.logFilters.add(f);
    else this.following[f.kind]++;
    if (connection !== undefined) {
      const mine = this.byConnection.get(connection);
      if (mine) mine.add(id);
      else this.byConnection.set(connection, new Set([id]));
    }
    return id;
  }

  /** Keeps a log for a filter, or drops all it kept if that would pass a limit. */
  private gather(f: LogsFilter, log: Record<string, unknown>, dataBytes: number): void {
    const { filterMaxChanges, filterMaxRetained } = this.limits;
    // A log counts once, and once more per KiB of its data: logs can be megabytes each.
    const weight = 1 + (dataBytes >> 10);
    if (f.changes.length >= filterMaxChanges) this.drop(f, 'filterMaxChanges');
    else if (this.spent + weight > filterMaxRetained) this.drop(f, 'filterMaxRetained');
    else {
      f.changes.push(log);
      f.spent += weight;
      this.spent += weight;
    }
  }

  /** Dropped rather than kept partially: the poller is told, and reads the range itself. */
  private drop(f: LogsFilter, limit: LogsFilter['dropped']): void {
    f.changes = [];
    f.dropped = limit;
    this.router.remove(f);
  }

  /** A poll (or removal) ends a filter's gathering period: what it spent is given back. */
  private release(f: LogsFilter): void {
    this.spent -= f.spent;
    f.spent = 0;
    f.changes = [];
  }

  /** Returns and clears what a filter gathered since the last poll. */
  private changes(caller: Credential, id: string): unknown[] {
    const f = this.find(caller, id);
    if (!f) throw invalidInput('filter not found');
    if (f.kind !== 'logs') {
      const feed = f.kind === 'blocks' ? this.blocks : this.pending;
      const hashes = feed.since(f.cursor);
      f.cursor = feed.end;
      if (!hashes) throw dropped('filterMaxChanges', this.limits);
      return hashes;
    }
    const changes = f.changes;
    this.release(f);
    if (f.dropped) {
      const limit = f.dropped;
      // Gathers again from the next block on.
      f.dropped = undefined;
      throw dropped(limit, this.limits);
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

  /** A session ended: the filters its credential installed end with it. */
  endCaller(ended: (caller: Credential) => boolean): void {
    for (const [id, f] of this.filters) if (f.caller.length > 0 && ended(f.caller)) this.remove(id);
  }

  private remove(id: string): void {
    const f = this.filters.get(id);
    if (!f) return;
    this.filters.delete(id);
    if (f.kind === 'logs') {
      this.logFilters.delete(f);
      this.router.remove(f);
      this.router.release(f.matcher);
      this.release(f);
    } else if (--this.following[f.kind] === 0) (f.kind === 'blocks' ? this.blocks : this.pending).clear();
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

/**
 * Hashes (of blocks, or of admitted transactions) kept once for every filter that
 * follows them; each filter reads from its own cursor. Keeps the last `keep` and at
 * most twice that: a filter further behind has missed more than it may gather.
 */
class HashFeed {
  private hashes: string[] = [];
  /** The position of hashes[0] since the feed began. */
  private start = 0;

  constructor(private readonly keep: number) {}

  /** The position after the last hash: where a new filter starts. */
  get end(): number {
    return this.start + this.hashes.length;
  }

  push(hashes: string[]): void {
    for (const h of hashes) this.hashes.push(h);
    if (this.hashes.length > 2 * this.keep + 1) {
      const cut = this.hashes.length - this.keep;
      this.hashes = this.hashes.slice(cut);
      this.start += cut;
    }
  }

  /** Forgets the hashes (nobody follows them); positions go on from the end. */
  clear(): void {
    this.start = this.end;
    this.hashes = [];
  }

  /** The hashes after `cursor`; undefined if there are more than `keep` (they were dropped). */
  since(cursor: number): string[] | undefined {
    if (this.end - cursor > this.keep) return undefined;
    return this.hashes.slice(cursor - this.start);
  }
}

function dropped(limit: 'filterMaxChanges' | 'filterMaxRetained', limits: FilterLimits): EnclaveFailure {
  const why =
    limit === 'filterMaxChanges'
      ? `filter gathered more than ${limits.filterMaxChanges} changes since it was last polled (filterMaxChanges); they were dropped`
      : `log filters on the node gather at most ${limits.filterMaxRetained} logs between their polls (filterMaxRetained); ` +
        `to stay within it, what this filter gathered since it was last polled was dropped`;
  return new EnclaveFailure('limitExceeded', `${why}: poll more often, or read the blocks with eth_getLogs`);
}

function sameCaller(a: Credential, b: Credential): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
