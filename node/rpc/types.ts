/**
 * Shared types of the JSON-RPC layer: the method table that `node/rpc/methods/`
 * fills in, and what the server hands to each handler.
 */

/**
 * How a method is exposed: `supported` runs its handler; `gated` also runs its
 * handler, which enforces the node's policy itself; `unsupported` is answered with
 * -32004 without calling anything.
 */
export type MethodStatus = 'supported' | 'gated' | 'unsupported';

/**
 * What a method's answer may disclose, and so who decides it: every method declares
 * one, and test/unit/methodTable.test.ts walks the table so none ships without it.
 *
 * - `public`: public by rule, the same answer for every caller: balances, nonces, code,
 *   block headers, transaction counts, fees, chain and node facts, policies (which are
 *   public), and the hash of a transaction the caller submits. No policy is consulted,
 *   though the enclave still refuses a credential that is no live session (4100).
 * - `perCaller`: decided per caller inside the enclave by the one policy decision point:
 *   the handler passes the caller's credential with the request (`read`, `filter`,
 *   `subscribe` of services.ts), and the enclave runs the read as the identity it proves,
 *   filters the answer (logs, transaction input, return data and revert reasons) or
 *   refuses it as not permitted (-32010). Calls and gas estimates, raw storage,
 *   transactions, receipts, blocks (which may carry full transactions), logs, filters
 *   and subscriptions.
 * - `caller`: the caller's own and nobody else's: its session (nonce, login, logout),
 *   its subscriptions on its own connection, or signatures by a dev account's key held
 *   by the node (refused to untrusted browser pages: `usesNodeKeys`).
 * - `none`: nothing; the method is unsupported and answered -32004 without a handler.
 */
export type MethodDisclosure = 'public' | 'perCaller' | 'caller' | 'none';

/** A WebSocket client, for handlers that push notifications (eth_subscribe). */
export interface Connection {
  /** Unique per server, increasing. */
  id: number;
  /** Serialises `message` and sends it as one text frame; dropped if the socket is closed. */
  send(message: unknown): void;
  /** Runs `fn` once when the socket closes (at once if it already has). */
  onClose(fn: () => void): void;
}

/**
 * What a handler receives besides its params. For HTTP the server passes one shared
 * context object without `connection`; for WebSocket one context per connection.
 */
export interface RpcContext<Services = unknown> {
  services: Services;
  connection?: Connection;
  /**
   * False when the request comes from a browser page whose origin the node does not
   * trust (its Origin header; for WebSocket, that of the upgrade request). Such a
   * caller may read, but methods marked `usesNodeKeys` are refused before their
   * handler runs.
   */
  trustedOrigin: boolean;
  /**
   * The caller's credential, passed to the enclave as opaque bytes (credentials.ts):
   * from the request (HTTP) or the upgrade request (WebSocket). Absent or empty: anonymous.
   */
  caller?: Uint8Array;
  /**
   * The Host header the request came with, when it names the node by a listed name
   * (see BrowserPolicy.hostListed): a Sign-In with Ethereum message may name it as its
   * domain.
   */
  host?: string;
  /** Where the request came from (the socket's peer; an IPv6 peer's /64): failed logins are bounded per source. */
  source?: string;
}

export type MethodHandler<S = any> = (params: unknown[], ctx: RpcContext<S>) => Promise<unknown> | unknown;

export interface MethodEntry<S = any> {
  status: MethodStatus;
  /** What its answer may disclose, and who decides (see {@link MethodDisclosure}). */
  disclosure: MethodDisclosure;
  handler?: MethodHandler<S>;
  description?: string;
  /**
   * The method signs with a key the node holds (the dev accounts). The dispatcher
   * refuses it to browser pages of untrusted origins, so that a page the user merely
   * visits cannot spend from those accounts.
   */
  usesNodeKeys?: boolean;
}

/** Method name → entry; the one table of every JSON-RPC method the node knows. */
export type MethodTable<S = any> = Record<string, MethodEntry<S>>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The server's logger; the default writes warn and error lines to stderr. */
export type Logger = (level: LogLevel, msg: string, extra?: Record<string, unknown>) => void;

/**
 * Told of every JSON-RPC request answered and every limit hit, for metrics. `method`
 * is a name from the method table or `other`; `code` the JSON-RPC error code of the
 * answer, undefined for a result.
 */
export interface RpcObserver {
  request(method: string, code: number | undefined, seconds: number): void;
  /** A request or connection refused for a limit outside any method (-32005). */
  limitHit(): void;
}
