import { randomBytes } from 'node:crypto';
import type { BlockEvent, LogFilter } from '../../runtime/boundary/messages.ts';
import type { Connection } from './types.ts';

type Kind = { kind: 'newHeads' } | { kind: 'logs'; filter: LogFilter } | { kind: 'newPendingTransactions' };
type Subscription = Kind & { id: string; connection: Connection };

/** eth_subscribe over WebSocket: pushes new heads and matching logs as blocks become durable. */
export class Subscriptions {
  private readonly subs = new Map<string, Subscription>();

  add(connection: Connection, kind: Kind): string {
    // A quantity-shaped id without leading zeros, as geth's are.
    const id = '0x' + BigInt('0x' + randomBytes(16).toString('hex')).toString(16);
    this.subs.set(id, { ...kind, id, connection });
    connection.onClose(() => this.subs.delete(id));
    return id;
  }

  remove(connection: Connection, id: string): boolean {
    const sub = this.subs.get(id);
    if (!sub || sub.connection.id !== connection.id) return false;
    return this.subs.delete(id);
  }

  /** Called once per durable block, in order. */
  publish(block: BlockEvent): void {
    for (const sub of this.subs.values()) {
      if (sub.kind === 'newHeads') {
        send(sub, block.header);
      } else if (sub.kind === 'logs') {
        for (const log of block.logs) if (logMatches(sub.filter, log)) send(sub, log);
      }
    }
  }

  /** Announces an accepted transaction hash to newPendingTransactions subscribers. */
  pending(hash: string): void {
    for (const sub of this.subs.values()) if (sub.kind === 'newPendingTransactions') send(sub, hash);
  }
}

function send(sub: Subscription, result: unknown): void {
  sub.connection.send({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: sub.id, result } });
}

/** Whether a JSON log matches a filter's addresses and topics (block range is checked by the caller). */
export function logMatches(filter: LogFilter, log: Record<string, unknown>): boolean {
  if (filter.addresses.length && !filter.addresses.includes(log.address as string)) return false;
  const topics = log.topics as string[];
  for (let i = 0; i < filter.topics.length; i++) {
    const wanted = filter.topics[i];
    if (!wanted || wanted.length === 0) continue;
    if (!topics[i] || !wanted.includes(topics[i]!)) return false;
  }
  return true;
}
