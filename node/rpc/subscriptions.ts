import type { Notification } from '../../runtime/boundary/messages.ts';
import type { EnclaveHandle } from '../../runtime/boundary/startEnclave.ts';
import type { Connection } from './types.ts';

/**
 * The host's end of subscriptions and WebSocket filters, which the enclave keeps: it
 * sends the enclave's notifications on the connections they name, and tells the
 * enclave when a connection that may hold subscriptions or filters closes.
 */
export class Subscriptions {
  private readonly connections = new Map<number, Connection>();
  private outbox: Notification[] = [];

  constructor(private readonly enclave: EnclaveHandle) {
    enclave.onNotification((n) => {
      // Sent on the next turn: the reply to eth_subscribe travels through promise
      // callbacks, and a subscription's first notification must not overtake it.
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push(n);
    });
  }

  /** Called before a connection asks the enclave for a subscription or filter. */
  track(connection: Connection): void {
    if (this.connections.has(connection.id)) return;
    this.connections.set(connection.id, connection);
    connection.onClose(() => {
      this.connections.delete(connection.id);
      this.enclave.request({ type: 'connectionClosed', connection: connection.id }).catch(() => {});
    });
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    for (const n of batch) {
      this.connections.get(n.connection)?.send({
        jsonrpc: '2.0',
        method: 'eth_subscription',
        params: { subscription: n.subscription, result: n.result },
      });
    }
  }
}
