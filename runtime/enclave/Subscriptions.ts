import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Credential, Notification, SubscriptionRequest } from '../boundary/messages.ts';
import type { StoredBlock } from '../chain/Chain.ts';
import { formatHeader } from '../chain/format.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';
import type { LogMatcher } from './LogMatcher.ts';
import type { LogRouter, LogWatcher } from './LogRouter.ts';
import { randomId } from './randomId.ts';
import type { Principal } from '../policy/decide.ts';

export type SubscriptionLimits = Pick<EnclaveLimits, 'maxSubscriptions' | 'maxSubscriptionsPerConnection'>;

interface Common {
  id: string;
  connection: number;
  caller: Credential;
  /** Who the caller is: a logs subscription is sent what this principal may see. */
  who: Principal;
}
type LogsSubscription = Common & LogWatcher & { kind: 'logs'; matcher: LogMatcher };
type Subscription = (Common & { kind: 'newHeads' | 'newPendingTransactions' }) | LogsSubscription;

/**
 * eth_subscribe over WebSocket, kept in the enclave so that what each subscriber is
 * sent is decided here: new heads and matching logs as blocks become durable,
 * transaction hashes as the pool admits them. Each notification names the host's
 * connection, which the host sends it on. A subscription belongs to its connection:
 * only that connection can end it, and it ends when the connection closes. Logs
 * reach logs subscriptions through the LogRouter, which formats each log once for
 * all of them.
 */
export class Subscriptions {
  private readonly subs = new Map<string, Subscription>();
  private readonly byConnection = new Map<number, Set<string>>();
  private readonly heads = new Set<Subscription>();
  private readonly pending = new Set<Subscription>();

  constructor(
    private readonly limits: SubscriptionLimits,
    private readonly router: LogRouter,
    private readonly notify: (n: Notification) => void,
  ) {}

  get size(): number {
    return this.subs.size;
  }

  add(caller: Credential, who: Principal, connection: number, request: SubscriptionRequest): string {
    const { maxSubscriptions, maxSubscriptionsPerConnection } = this.limits;
    if (this.subs.size >= maxSubscriptions) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many subscriptions: at most ${maxSubscriptions} on the node (maxSubscriptions); unsubscribe unused ones`,
      );
    }
    const mine = this.byConnection.get(connection);
    if (mine && mine.size >= maxSubscriptionsPerConnection) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many subscriptions on this connection: at most ${maxSubscriptionsPerConnection} (maxSubscriptionsPerConnection); unsubscribe unused ones`,
      );
    }
    const id = randomId();
    const common = { id, connection, caller, who };
    let sub: Subscription;
    if (request.kind === 'logs') {
      const logs: LogsSubscription = {
        ...common,
        kind: 'logs',
        matcher: this.router.matcher(request.filter),
        take: (log) => this.send(logs, log),
      };
      this.router.add(logs);
      sub = logs;
    } else {
      sub = { ...common, kind: request.kind };
      (request.kind === 'newHeads' ? this.heads : this.pending).add(sub);
    }
    this.subs.set(id, sub);
    if (mine) mine.add(id);
    else this.byConnection.set(connection, new Set([id]));
    return id;
  }

  /** Ends a subscription of this connection; false if it has none by that id. */
  remove(connection: number, id: string): boolean {
    const sub = this.subs.get(id);
    if (!sub || sub.connection !== connection) return false;
    this.end(sub);
    const mine = this.byConnection.get(connection)!;
    mine.delete(id);
    if (mine.size === 0) this.byConnection.delete(connection);
    return true;
  }

  /** A WebSocket connection closed: its subscriptions end. */
  dropConnection(connection: number): void {
    for (const id of this.byConnection.get(connection) ?? []) this.end(this.subs.get(id)!);
    this.byConnection.delete(connection);
  }

  /** Sends a durable block's header (its logs come from the router). */
  blockDurable(s: StoredBlock): void {
    if (this.heads.size === 0) return;
    const header = formatHeader(s.block.header, s.size);
    for (const sub of this.heads) this.send(sub, header);
  }

  /** Sends the hashes of transactions the pool admitted. */
  admitted(hashes: string[]): void {
    for (const sub of this.pending) for (const h of hashes) this.send(sub, h);
  }

  /** A session ended: the subscriptions its credential made end with it. */
  endCaller(ended: (caller: Credential) => boolean): void {
    for (const sub of [...this.subs.values()]) {
      if (sub.caller.length === 0 || !ended(sub.caller)) continue;
      this.end(sub);
      const mine = this.byConnection.get(sub.connection);
      mine?.delete(sub.id);
      if (mine?.size === 0) this.byConnection.delete(sub.connection);
    }
  }

  private end(sub: Subscription): void {
    this.subs.delete(sub.id);
    if (sub.kind === 'logs') {
      this.router.remove(sub);
      this.router.release(sub.matcher);
    } else (sub.kind === 'newHeads' ? this.heads : this.pending).delete(sub);
  }

  private send(sub: Subscription, result: unknown): void {
    this.notify({ connection: sub.connection, subscription: sub.id, result });
  }
}
