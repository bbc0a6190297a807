import { bytesToHex } from '@ethereumjs/util';
import type { LogFilter } from '../boundary/messages.ts';
import type { StoredBlock } from '../chain/Chain.ts';
import { formatLog } from '../chain/format.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';

/**
 * The address and topic criteria of a log filter or logs subscription, compiled once
 * when it is installed and run against each block as it becomes durable.
 */
export class LogMatcher {
  private readonly addresses?: Set<string>;
  private readonly topics: (Set<string> | null)[];

  /** Refuses a filter with more than `maxCriteria` addresses and topics together. */
  constructor(filter: LogFilter, maxCriteria: number) {
    let criteria = filter.addresses.length;
    for (const t of filter.topics) criteria += t?.length ?? 0;
    if (criteria > maxCriteria) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many addresses and topics in filter: ${criteria}, at most ${maxCriteria} allowed (filterMaxCriteria)`,
      );
    }
    if (filter.addresses.length) this.addresses = new Set(filter.addresses);
    this.topics = filter.topics.map((t) => (t && t.length ? new Set(t) : null));
  }

  /** The block's logs that match, in JSON-RPC shape and block order (only those are formatted). */
  logs(s: StoredBlock): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    let logIndex = 0;
    s.receipts.forEach((r, txIndex) => {
      let txHash: string | undefined;
      for (const log of r.logs) {
        const index = logIndex++;
        if (this.addresses && !this.addresses.has(bytesToHex(log[0]))) continue;
        if (!this.topicsMatch(log[1])) continue;
        txHash ??= bytesToHex(s.block.transactions[txIndex]!.hash());
        out.push(formatLog(log, s.block, txHash, txIndex, index));
      }
    });
    return out;
  }

  private topicsMatch(topics: Uint8Array[]): boolean {
    for (let i = 0; i < this.topics.length; i++) {
      const wanted = this.topics[i];
      if (!wanted) continue;
      const topic = topics[i];
      if (!topic || !wanted.has(bytesToHex(topic))) return false;
    }
    return true;
  }
}
