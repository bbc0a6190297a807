/**
 * A lean JSON-RPC client for the load generator: an undici Pool with keep-alive
 * connections (one per in-flight slot), raw JSON bodies, no ethers on the hot path.
 */
import { Pool } from 'undici';

export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly error: JsonRpcError,
  ) {
    super(`${method}: ${error.message} (code ${error.code})`);
  }
}

export interface RpcResponse {
  id?: unknown;
  result?: unknown;
  error?: JsonRpcError;
}

export class RpcClient {
  private readonly pool: Pool;
  private readonly path: string;
  /** The URL for messages: a session token in its path (`/s/<token>`) is a credential. */
  private readonly shown: string;
  private nextId = 1;

  constructor(
    readonly url: string,
    connections: number,
    private readonly timeoutMs = 120_000,
  ) {
    const u = new URL(url);
    this.path = u.pathname || '/';
    this.shown = url.replace(/\/s\/[^/?#]+/, '/s/<redacted>');
    this.pool = new Pool(u.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: 10_000,
    });
  }

  /** Posts a raw JSON body, returns the parsed answer (object or array). */
  async post(body: string): Promise<unknown> {
    const res = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} from ${this.shown}: ${text.slice(0, 300)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`invalid JSON from ${this.shown}: ${text.slice(0, 300)}`);
    }
  }

  /** One call; throws RpcError on a JSON-RPC error. */
  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const res = (await this.post(JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }))) as RpcResponse;
    if (res.error) throw new RpcError(method, res.error);
    return res.result as T;
  }

  /** One raw request body (already serialised); returns the response object without throwing on RPC errors. */
  async raw(body: string): Promise<RpcResponse> {
    return (await this.post(body)) as RpcResponse;
  }

  /**
   * A batch of calls, answered in order (matched by id). Falls back to single calls
   * if the server refuses batches.
   */
  async batch(calls: [method: string, params: unknown[]][]): Promise<RpcResponse[]> {
    if (calls.length === 0) return [];
    const base = this.nextId;
    this.nextId += calls.length;
    const body = JSON.stringify(calls.map(([method, params], i) => ({ jsonrpc: '2.0', id: base + i, method, params })));
    const res = await this.post(body);
    if (!Array.isArray(res)) {
      const err = (res as RpcResponse).error;
      throw new Error(`batch refused by ${this.shown}: ${err ? err.message : JSON.stringify(res).slice(0, 200)}`);
    }
    const byId = new Map<unknown, RpcResponse>();
    for (const r of res as RpcResponse[]) byId.set(r.id, r);
    return calls.map((_, i) => byId.get(base + i) ?? { error: { code: -1, message: 'missing from batch answer' } });
  }

  /** Aborts every request in flight and closes the connections. */
  async destroy(): Promise<void> {
    await this.pool.destroy().catch(() => {});
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => {});
  }
}

/** Chunked batch of the same method over many params, at most `size` per request. */
export async function chunkedBatch(client: RpcClient, method: string, paramsList: unknown[][], size = 200): Promise<RpcResponse[]> {
  const out: RpcResponse[] = [];
  for (let i = 0; i < paramsList.length; i += size) {
    const part = paramsList.slice(i, i + size).map((p) => [method, p] as [string, unknown[]]);
    out.push(...(await client.batch(part)));
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Races a promise against a timeout with a clear message. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${(ms / 1000).toFixed(0)} s: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
