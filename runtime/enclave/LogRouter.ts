import { bytesToHex } from '@ethereumjs/util';
import type { EnclaveLimits } from '../boundary/limits.ts';
import type { LogFilter } from '../boundary/messages.ts';
import type { StoredBlock } from '../chain/Chain.ts';
import { formatLog } from '../chain/format.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';
import { LogMatcher } from './LogMatcher.ts';
import type { Principal } from '../policy/decide.ts';
import type { Disclosure } from '../policy/Disclosure.ts';

/** A log filter or logs subscription, as the router sees it. */
export interface LogWatcher {
  readonly matcher: LogMatcher;
  /** Who installed it: it takes only the logs this principal may see. */
  readonly who: Principal;
  /**
   * Takes a log it matches, in JSON-RPC shape. The object is shared with every other
   * watcher the log matches: keep it, never change it. `dataBytes` is the length of
   * the log's data.
   */
  take(log: Record<string, unknown>, dataBytes: number): void;
}

export type RouterLimits = Pick<EnclaveLimits, 'filterMaxCriteria' | 'filterMaxCriteriaTotal'>;

/**
 * Up to this many combinations of values over its positions, a watcher is indexed
 * under every combination, so a log finds exactly the watchers it matches; a broader
 * one is indexed under the values of its widest position and checked on each hit.
 * Kept small: the combinations are extra keys held for as long as the watcher is.
 */
const EXACT_KEYS = 16;

interface Slot {
  /** The indexed positions (0 the address, 1 to 4 the topics), ascending. */
  positions: number[];
  /** Watchers by the values at those positions, concatenated (each position has a fixed length). */
  byKey: Map<string, Set<LogWatcher>>;
}

/**
 * Routes the logs of each durable block to the log filters and subscriptions they
 * match, for all of them in one pass: watchers are indexed by the values they ask
 * for (match-all ones apart), so a log meets only the watchers that may want it, and
 * it is formatted once, when the first one does. Holds the node's budget of filter
 * criteria (filterMaxCriteriaTotal): every installed filter and subscription keeps
 * its addresses and topics in memory, a thousand or more each.
 */
export class LogRouter {
  private criteria = 0;
  /** Indexed watchers, each with whether its index key alone decides a match. */
  private readonly members = new Map<LogWatcher, boolean>();
  private readonly matchAll = new Set<LogWatcher>();
  /** One slot per set of indexed positions in use (at most 31). */
  private readonly slots = new Map<number, Slot>();

  constructor(
    private readonly limits: RouterLimits,
    private readonly disclosure: Disclosure,
  ) {}

  /** Compiles a filter's criteria (filterMaxCriteria) and spends them from the node's budget until release(). */
  matcher(filter: LogFilter): LogMatcher {
    const matcher = new LogMatcher(filter, this.limits.filterMaxCriteria);
    const max = this.limits.filterMaxCriteriaTotal;
    if (this.criteria + matcher.criteria > max) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many addresses and topics in installed filters and subscriptions: at most ${max} on the node (filterMaxCriteriaTotal); uninstall unused ones`,
      );
    }
    this.criteria += matcher.criteria;
    return matcher;
  }

  /** Gives a matcher's criteria back to the node's budget (its watcher was removed). */
  release(matcher: LogMatcher): void {
    this.criteria -= matcher.criteria;
  }

  /** Starts routing logs to a watcher (again); no-op if it is routed to already. */
  add(w: LogWatcher): void {
    if (this.members.has(w)) return;
    const plan = planOf(w.matcher);
    this.members.set(w, plan?.exact ?? true);
    if (!plan) {
      this.matchAll.add(w);
      return;
    }
    const mask = plan.positions.reduce((m, p) => m | (1 << p), 0);
    let slot = this.slots.get(mask);
    if (!slot) this.slots.set(mask, (slot = { positions: plan.positions, byKey: new Map() }));
    for (const key of plan.keys) {
      const set = slot.byKey.get(key);
      if (set) set.add(w);
      else slot.byKey.set(key, new Set([w]));
    }
  }

  /** Stops routing logs to a watcher (safe while a block is being routed). */
  remove(w: LogWatcher): void {
    if (!this.members.delete(w)) return;
    const plan = planOf(w.matcher);
    if (!plan) {
      this.matchAll.delete(w);
      return;
    }
    const mask = plan.positions.reduce((m, p) => m | (1 << p), 0);
    const slot = this.slots.get(mask)!;
    for (const key of plan.keys) {
      const set = slot.byKey.get(key)!;
      set.delete(w);
      if (set.size === 0) slot.byKey.delete(key);
    }
    if (slot.byKey.size === 0) this.slots.delete(mask);
  }

  /** Hands each log of a durable block to the watchers it matches, in block order. */
  route(s: StoredBlock): void {
    if (this.members.size === 0) return;
    const slots = [...this.slots.values()];
    const hits: LogWatcher[] = [];
    // A block's logs mostly come in runs from one contract: its address is converted once per run.
    let lastBytes: Uint8Array | undefined;
    let address = '';
    let logIndex = 0;
    let shared: Record<string, unknown> | undefined;
    // Blocks that touched no contract with a policy hold public logs only.
    const confidential = s.policies.size > 0;
    for (let txIndex = 0; txIndex < s.receipts.length; txIndex++) {
      let txHash: string | undefined;
      for (const log of s.receipts[txIndex]!.logs) {
        const index = logIndex++;
        hits.length = 0;
        for (const w of this.matchAll) hits.push(w);
        if (slots.length) {
          if (!lastBytes || !sameBytes(lastBytes, log[0])) address = bytesToHex((lastBytes = log[0]));
          const topicCount = log[1].length;
          let topics: string[] | undefined;
          for (const { positions, byKey } of slots) {
            // A position p >= 1 is topic p - 1, which the log must have.
            if (positions[positions.length - 1]! > topicCount) continue;
            let key: string;
            if (positions.length === 1 && positions[0] === 0) key = address;
            else {
              topics ??= log[1].map(bytesToHex);
              key = positions.length === 1 ? topics[positions[0]! - 1]! : positions.map((p) => (p === 0 ? address : topics![p - 1])).join('');
            }
            const found = byKey.get(key);
            if (!found) continue;
            for (const w of found) {
              if (this.members.get(w) || w.matcher.matches(address, (topics ??= log[1].map(bytesToHex)))) hits.push(w);
            }
          }
        }
        if (confidential && hits.length > 0) {
          let n = 0;
          for (const w of hits) if (this.disclosure.seesLog(w.who, s, txIndex, log)) hits[n++] = w;
          hits.length = n;
        }
        if (hits.length === 0) continue;
        txHash ??= bytesToHex(s.block.transactions[txIndex]!.hash());
        const json = formatLog(log, s.block, txHash, txIndex, index);
        // Filters may keep many of a block's logs until polled: strings that are the same
        // for the whole block, or the run of logs of one contract, are kept once (the
        // copies formatLog made die young, which costs the collector next to nothing).
        shared ??= json;
        json.blockHash = shared.blockHash;
        json.blockNumber = shared.blockNumber;
        json.blockTimestamp = shared.blockTimestamp;
        if (slots.length) json.address = address;
        for (const w of hits) if (this.members.has(w)) w.take(json, log[2].length);
      }
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Where a watcher is indexed; undefined if it matches every log. */
function planOf(m: LogMatcher): { positions: number[]; keys: Iterable<string>; exact: boolean } | undefined {
  const positions: number[] = [];
  let combinations = 1;
  m.sets.forEach((set, p) => {
    if (!set) return;
    positions.push(p);
    combinations *= set.size;
  });
  if (positions.length === 0) return undefined;
  if (positions.length === 1) return { positions, keys: m.sets[positions[0]!]!, exact: true };
  if (combinations <= EXACT_KEYS) {
    let keys = [''];
    for (const p of positions) keys = keys.flatMap((k) => [...m.sets[p]!].map((v) => k + v));
    return { positions, keys, exact: true };
  }
  const widest = positions.reduce((a, b) => (m.sets[b]!.size > m.sets[a]!.size ? b : a));
  return { positions: [widest], keys: m.sets[widest]!, exact: false };
}
