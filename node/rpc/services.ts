import type { Admitted, DevOp, FilterRequest, Query, SubscriptionRequest } from '../../runtime/boundary/messages.ts';
import type { EnclaveHandle } from '../../runtime/boundary/startEnclave.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { Connection, RpcContext } from './types.ts';

/** What JSON-RPC methods reach: the enclave (through the boundary) and host-side plumbing. */
export interface Services {
  enclave: EnclaveHandle;
  chainId: bigint;
  clientVersion: string;
  /** Hands an admission's sealed transactions (none if it waits for a nonce gap) to the ordering log. */
  order(admitted: Admitted): Promise<void>;
  /** Notifications and closed connections of the subscriptions and filters the enclave keeps. */
  subscriptions: Subscriptions;
  /** The open dev network (no genesis file): dev methods are offered. */
  devNetwork: boolean;
  /** Puts a dev operation on the ordering log; answers its outcome. */
  dev(op: DevOp): Promise<unknown>;
  /** When blocks are cut (evm_setAutomine, evm_setIntervalMining). */
  mining: { readonly automine: boolean; setAutomine(on: boolean): void; setIntervalMining(ms: number): void };
  /** This run of the node (hardhat_metadata's instanceId): random at start. */
  instanceId: string;
  /**
   * Whether a send answers only once its transaction's block is durable (and with its
   * revert error if it reverted): on the dev network while automine is on, unless the
   * node was started to answer at admission.
   */
  sendsWait(): boolean;
}

export type Ctx = RpcContext<Services>;

/** The empty credential: an anonymous caller. */
const ANONYMOUS = new Uint8Array(0);

/** The caller's credential, as the enclave receives it with each request. */
export function callerOf(ctx: Ctx): Uint8Array {
  return ctx.caller ?? ANONYMOUS;
}

/** Asks the enclave a read on behalf of the caller. */
export function read<T = unknown>(ctx: Ctx, query: Query): Promise<T> {
  return ctx.services.enclave.request({ type: 'read', caller: callerOf(ctx), query }) as Promise<T>;
}

/** A polling filter operation, answered by the enclave for the caller. */
export function filter<T = unknown>(ctx: Ctx, request: FilterRequest): Promise<T> {
  const connection = ctx.connection;
  // A filter installed over a WebSocket ends with it.
  if (connection) ctx.services.subscriptions.track(connection);
  return ctx.services.enclave.request({ type: 'filter', caller: callerOf(ctx), connection: connection?.id, request }) as Promise<T>;
}

/** eth_subscribe on the caller's WebSocket connection; answers the subscription id. */
export function subscribe(ctx: Ctx & { connection: Connection }, subscription: SubscriptionRequest): Promise<string> {
  ctx.services.subscriptions.track(ctx.connection);
  return ctx.services.enclave.request({ type: 'subscribe', caller: callerOf(ctx), connection: ctx.connection.id, subscription });
}

/**
 * Validates a raw transaction in the enclave's pool, then orders what became executable
 * (it, and the waiting ones it made contiguous; nothing if it waits for a nonce gap).
 */
export async function submitRaw(ctx: Ctx, raw: Uint8Array): Promise<string> {
  const admitted = await ctx.services.enclave.request({ type: 'submit', raw });
  await ctx.services.order(admitted);
  await settle(ctx, admitted);
  return admitted.hash;
}

/**
 * Hardhat's send semantics (see Services.sendsWait): waits for the transaction's block to
 * be durable, so the caller reads its receipt and state at once; a revert is thrown. A
 * transaction that waits for a nonce gap is answered at once, as Hardhat answers it.
 */
export async function settle(ctx: Ctx, admitted: Admitted): Promise<void> {
  if (admitted.envelopes.length > 0 && ctx.services.sendsWait()) await ctx.services.enclave.request({ type: 'settled', hash: admitted.hash });
}
