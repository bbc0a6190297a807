import type { Query } from '../../runtime/boundary/messages.ts';
import type { EnclaveHandle } from '../../runtime/boundary/startEnclave.ts';
import type { Filters } from './filters.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { RpcContext } from './types.ts';

/** What JSON-RPC methods reach: the enclave (through the boundary) and host-side plumbing. */
export interface Services {
  enclave: EnclaveHandle;
  chainId: bigint;
  clientVersion: string;
  /** Hands a sealed transaction to the ordering log. */
  order(envelope: Uint8Array): Promise<void>;
  subscriptions: Subscriptions;
  filters: Filters;
}

export type Ctx = RpcContext<Services>;

/** No credential yet: every caller reads as anonymous (the dev network is public). */
const ANONYMOUS = new Uint8Array(0);

/** Asks the enclave a read on behalf of the caller. */
export function read<T = unknown>(ctx: Ctx, query: Query): Promise<T> {
  return ctx.services.enclave.request({ type: 'read', caller: ANONYMOUS, query }) as Promise<T>;
}

/** Validates and seals a raw transaction in the enclave, then orders it. */
export async function submitRaw(ctx: Ctx, raw: Uint8Array): Promise<string> {
  const { hash, envelope } = await ctx.services.enclave.request({ type: 'submit', raw });
  await ctx.services.order(envelope);
  return hash;
}

export { ANONYMOUS };
