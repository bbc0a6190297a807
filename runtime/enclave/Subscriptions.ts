import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Credential, Notification, SubscriptionRequest } from '../boundary/messages.ts';
import type { StoredBlock } from '../chain/Chain.ts';
import { formatHeader } from '../chain/format.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';
import { LogMatcher } from './LogMatcher.ts';
import { randomId } from './randomId.ts';

export type SubscriptionLimits = Pick<EnclaveLimits, 'maxSubscriptionsPerConnection' | 'filterMaxCriteria'>;

type Subscription = { id: string; connection: number; caller: Credential } & (
  | { kind: 'newHeads' }
  | { kind: 'newPendingTransactions' }
  | { kind: 'logs'; matcher: LogMatcher }
);

/**
 * eth_subscribe over WebSocket, kept in the enclave so that what each subscriber is
 * sent is decided here: new heads and matching logs as blocks become durable,
 * transaction hashes as the pool admits them. Each notification names the host's
 * connection, which the host sends it on. A subscription belongs to its connection:
 * only that connection can end it, and it ends when the connection closes.
 */
export class Subscriptions {
  private readonly subs = new Map<string, Subscription>();
  private readonly byConnection = new Map<number, Set<string>>();

  constructor(
    private readonly limits: SubscriptionLimits,
    private readonly notify: (n: Notification) => void,
  ) {}

  get size(): number {
    return this.subs.size;
  }

  add(caller: Credential, connection: number, request: SubscriptionRequest): string {
    const max = this.limits.maxSubscriptionsPerConnection;
    const mine = this.byConnection.get(connection);
    if (mine && mine.size >= max) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many subscriptions on this connection: at most ${max} (maxSubscriptionsPerConnection); unsubscribe unused ones`,
      );
    }
    const id = randomId();
    const common = { id, connection, caller };
    this.subs.set(
      id,
      request.kind === 'logs'
        ? { ...common, kind: 'logs', matcher: new LogMatcher(request.filter, this.limits.filterMaxCriteria) }
        : { ...common, kind: request.kind },
    );
    if (mine) mine.add(id);
    else this.byConnection.set(connection, new Set([id]));
    return id;
  }

  /** Ends a subscription of this connection; false if it has none by that id. */
  remove(connection: number, id: string): boolean {
    const sub = this.subs.get(id);
    if (!sub || sub.connection !== connection) return false;
    this.subs.delete(id);
    const mine = this.byConnection.get(connection)!;
    mine.delete(id);
    if (mine.size === 0) this.byConnection.delete(connection);
    return true;
  }

  /** A WebSocket connection closed: its subscriptions end. */
  dropConnection(connection: number): void {
    for (const id of this.byConnection.get(connection) ?? []) this.subs.delete(id);
    this.byConnection.delete(connection);
  }

  /** Sends a durable block's header and matching logs. */
  blockDurable(s: StoredBlock): void {
    let header: Record<string, unknown> | undefined;
    for (const sub of this.subs.values()) {
      if (sub.kind === 'newHeads') {
        header ??= formatHeader(s.block.header, s.size);
        this.send(sub, header);
      } else if (sub.kind === 'logs') {
        for (const log of sub.matcher.logs(s)) this.send(sub, log);
      }
    }
  }

  /** Sends the hashes of transactions the pool admitted. */
  admitted(hashes: string[]): void {
    for (const sub of this.subs.values()) {
      if (sub.kind === 'newPendingTransactions') for (const h of hashes) this.send(sub, h);
    }
  }

  private send(sub: Subscription, result: unknown): void {
    this.notify({ connection: sub.connection, subscription: sub.id, result });
  }
}
