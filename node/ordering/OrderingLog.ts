import type { OrderedEntry } from '../../runtime/boundary/messages.ts';

/**
 * The ordered log every validating node executes. Block contents, block cuts and
 * block timestamps all come from here, never from the RPC server or a node's clock,
 * so every enclave that executes the same log builds the same blocks. One node uses
 * the embedded log; a network uses a replicated one behind the same interface.
 */
export interface OrderingLog {
  /**
   * Appends an entry; resolves with its position once the log has accepted it. Entries
   * appended by one node land in the order of the calls (a sender's transactions, and a
   * cut right behind them, rely on it).
   */
  append(entry: OrderedEntry): Promise<number>;
  /**
   * Delivers entries in log order from position `from`: each batch holds every entry
   * available, and the next batch waits until the handler's promise settles.
   * Returns a function that stops delivery.
   */
  subscribe(from: number, handler: (entries: OrderedEntry[]) => Promise<void>): () => void;
  /** The log's clock, which stamps cuts (ms since the epoch). */
  now(): number;
}
