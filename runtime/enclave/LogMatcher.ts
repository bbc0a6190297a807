import { bytesToHex } from '@ethereumjs/util';
import type { LogFilter } from '../boundary/messages.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';

/**
 * The address and topic criteria of a log filter (eth_getLogs, eth_newFilter, a logs
 * subscription), checked against filterMaxCriteria and compiled once: position 0 is
 * the address, positions 1 to 4 the topics.
 */
export class LogMatcher {
  /** Per position, the values it accepts; undefined accepts any. */
  readonly sets: readonly (ReadonlySet<string> | undefined)[];
  /** Addresses and topics together: what the filter spends of the node's budget. */
  readonly criteria: number;

  /**
   * Refuses more than `maxCriteria` addresses, or more than `maxCriteria` topics over
   * all positions (the same rule for eth_getLogs, filters and subscriptions).
   */
  constructor(filter: LogFilter, maxCriteria: number) {
    const addresses = filter.addresses.length;
    if (addresses > maxCriteria) {
      throw new EnclaveFailure('limitExceeded', `too many addresses in filter: ${addresses}, at most ${maxCriteria}`);
    }
    let topics = 0;
    for (const t of filter.topics) topics += t?.length ?? 0;
    if (topics > maxCriteria) throw new EnclaveFailure('limitExceeded', `too many topics in filter: ${topics}, at most ${maxCriteria}`);
    this.criteria = addresses + topics;
    this.sets = [filter.addresses, ...filter.topics].map((values) => (values?.length ? new Set(values) : undefined));
  }

  /** Whether a log with this address and these topics (hex or bytes) matches. */
  matches(address: string, topics: readonly (string | Uint8Array)[]): boolean {
    if (this.sets[0] && !this.sets[0].has(address)) return false;
    for (let i = 1; i < this.sets.length; i++) {
      const wanted = this.sets[i];
      if (!wanted) continue;
      const topic = topics[i - 1];
      if (topic === undefined || !wanted.has(typeof topic === 'string' ? topic : bytesToHex(topic))) return false;
    }
    return true;
  }
}
