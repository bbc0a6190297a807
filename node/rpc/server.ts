/**
 * The host's JSON-RPC 2.0 transport: HTTP POST and WebSocket on one port, single
 * requests and batches, dispatched through a MethodTable. Everything a handler throws
 * becomes a JSON-RPC error via `toJsonRpcError`; no input can crash the process.
 * Every resource a client can hold here is bounded (body, batch, connections, requests
 * in flight per WebSocket and node-wide, request bytes held node-wide, answers a
 * WebSocket client leaves unread, time to send a request), and browser pages are kept
 * in their place by the Host allowlist and the origin check of `usesNodeKeys` methods
 * (browserPolicy.ts). A limit hit is answered with a clear error, never a crash.
 *
 * https://www.jsonrpc.org/specification
 * https://eips.ethereum.org/EIPS/eip-1474
 */
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { clientSource } from './clientSource.ts';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  InvalidParamsError,
  InvalidRequestError,
  LimitExceededError,
  MethodNotFoundError,
  MethodNotSupportedError,
  ParseError,
  RpcError,
  stderrLogger,
  toJsonRpcError,
  UnauthorizedError,
  type JsonRpcErrorObject,
} from './errors.ts';
import { createBrowserPolicy } from './browserPolicy.ts';
import { credentialOf } from './credentials.ts';
import type { Connection, Logger, MethodTable, RpcContext, RpcObserver } from './types.ts';

/** The transport's limits and browser policy; unset ones take the defaults below. */
export interface RpcTransportOptions {
  /** Largest HTTP body or WebSocket message; default 10 MB. */
  maxBodyBytes?: number;
  /** Largest batch; default 1000. */
  maxBatchSize?: number;
  /** Open HTTP connections (WebSockets not counted); requests on further ones get HTTP 503. Default 1000. */
  maxHttpConnections?: number;
  /** Open WebSocket connections; further upgrades get HTTP 503. Default 500. */
  maxWsConnections?: number;
  /** Requests answered at once on one WebSocket (a batch of N counts N); further ones get -32005. Default 1000. */
  maxWsInFlight?: number;
  /**
   * Requests answered at once on the node, HTTP and WebSocket together (a batch of N
   * counts N); further ones get -32005 (over HTTP with status 503). Default 4096.
   */
  maxRequestsInFlight?: number;
  /**
   * Request bytes held at once on the node: HTTP bodies from their first byte until
   * answered (an announced Content-Length is reserved whole), WebSocket messages while
   * answered. A body that does not fit gets HTTP 503 and -32005, a WebSocket message
   * -32005. Default 256 MiB.
   */
  maxBufferedBytes?: number;
  /** Time a client has to send a whole HTTP request, headers and body; default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Host header names served besides localhost, 127.0.0.1, [::1] and the address
   * listened on (any port); `*` serves any. Others get HTTP 403.
   */
  allowedHosts?: readonly string[];
  /** Origins whose browser pages may read answers (CORS); default `*`. Listed ones may also use node keys. */
  corsOrigins?: readonly string[];
}

export interface RpcServerOptions extends RpcTransportOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  methods: MethodTable;
  /** Passed to every handler as `ctx.services`. */
  services: unknown;
  log?: Logger;
  /** Told of each request answered and each limit hit (metrics). */
  observer?: RpcObserver;
  /** Operator endpoints: GET /health, /ready and /metrics; absent, those paths get the status like any GET. */
  operations?: Operations;
}

/** What the operator endpoints answer from. */
export interface Operations {
  /** True once the enclave is initialised and the ledger loaded, until the node stops. */
  ready(): boolean;
  /** Prometheus exposition text. */
  metrics(): Promise<{ contentType: string; body: string }>;
}

export interface RpcServer {
  /** `http://host:port/` */
  url: string;
  /** `ws://host:port/` */
  wsUrl: string;
  port: number;
  /** Closes WebSocket clients (firing their onClose callbacks) and stops listening. */
  close(): Promise<void>;
  /** Number of open WebSocket connections. */
  connections(): number;
  /** Number of open HTTP connections (WebSockets not counted). */
  httpConnections(): number;
}

/** A message parsed once: its body and the requests it runs, or the answer to text that is not JSON. */
export type ParsedMessage = { body: unknown; requests: number } | { answer: string };

/** Answers HTTP bodies and WebSocket messages in two steps, so that limits can count a message's requests before any runs. */
export interface RpcDispatcher {
  /**
   * Parses `text`. A batch of N requests counts N (notifications included: their
   * handlers run too); a batch refused whole (empty, over the batch limit) runs none.
   */
  parse(text: string): ParsedMessage;
  /** Runs a parsed body and serialises the answer; undefined when nothing is to be sent back. Never rejects. */
  dispatch(body: unknown, ctx: RpcContext): Promise<string | undefined>;
}

export const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
export const DEFAULT_MAX_BATCH = 1000;
export const DEFAULT_MAX_HTTP_CONNECTIONS = 1000;
// As reth's --rpc.max-connections.
export const DEFAULT_MAX_WS_CONNECTIONS = 500;
// Every batch the batch limit allows fits on an idle connection.
export const DEFAULT_MAX_WS_IN_FLIGHT = DEFAULT_MAX_BATCH;
// Four full batches at once; what the node answers at once bounds its memory and its
// queue in front of the enclave, whatever the number of connections.
export const DEFAULT_MAX_REQUESTS_IN_FLIGHT = 4096;
// 25 bodies of the largest size: 1000 connections each sending 10 MB would otherwise hold 10 GB.
export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;
// As geth's HTTP read timeout.
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
// Longer than the 5 s default so that clients polling every few seconds reuse the
// socket; most proxies and load balancers idle out at 60 s, so stay below.
const KEEP_ALIVE_MS = 30_000;
const HEARTBEAT_MS = 30_000;
// A WebSocket client that stops reading must not make the node buffer without bound:
// past this many bytes of answers and notifications unsent, its connection is closed
// (1008 and a reason, queued behind what it has not read). Pausing its reads instead
// would still let its requests in flight add their answers, each up to a full
// eth_getLogs, so the bound would be the in-flight limit times the largest answer.
const MAX_WS_BUFFERED = 64 * 1024 * 1024;
const WS_NOT_READING = 1008;
// How long a WebSocket client closed for not reading has to read what is queued and
// answer the close frame before its socket is destroyed (ws waits 30 s).
const WS_CLOSE_TIMEOUT_MS = 5_000;
const CLOSE_GRACE_MS = 2_000;
// After a 413 the node keeps reading (and discarding) what the client still sends, so
// that closing does not reset the connection before the client has read the answer
// (TCP drops unread data on a reset). Bounded in bytes and time.
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
const DRAIN_MS = 10_000;
// A connection refused for the connection limit gets this long to send its request.
const REFUSED_IDLE_MS = 5_000;
// Node's default limit on the request line and headers (http.maxHeaderSize).
const MAX_HEADER_BYTES = 16 * 1024;

const STATUS_BODY = JSON.stringify({ status: 'ok', jsonrpc: '2.0', transport: ['http POST', 'websocket'] });
const INVALID_HOST = 'invalid host specified';
const HEALTH_BODY = JSON.stringify({ status: 'ok' });
const READY_BODY = JSON.stringify({ status: 'ready' });
const NOT_READY_BODY = JSON.stringify({ status: 'not ready' });

function errorResponse(id: unknown, error: JsonRpcErrorObject): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/**
 * The transport-independent core: parses a message once, runs the request or the
 * batch (items concurrently, answers in order) and serialises the answer.
 */
export function createDispatcher(
  methods: MethodTable,
  opts: { log?: Logger; maxBatchSize?: number; observer?: RpcObserver } = {},
): RpcDispatcher {
  const log = opts.log ?? stderrLogger;
  const maxBatch = opts.maxBatchSize ?? DEFAULT_MAX_BATCH;
  const observer = opts.observer;

  /**
   * handleOne, reported to the observer by method name (from the table only) and answer
   * code; a failed request is logged (debug) with those and its duration, never with its
   * id, parameters or credential.
   */
  async function observed(req: unknown, ctx: RpcContext): Promise<string | undefined> {
    const started = performance.now();
    let code: number | undefined;
    const out = await handleOne(req, ctx, (c) => (code = c));
    if (observer === undefined && code === undefined) return out;
    const m = (req as { method?: unknown } | null)?.method;
    const method = typeof m === 'string' && Object.hasOwn(methods, m) ? m : 'other';
    const ms = performance.now() - started;
    observer?.request(method, code, ms / 1000);
    if (code !== undefined) log('debug', 'request failed', { method, code, durationMs: Math.round(ms * 1000) / 1000 });
    return out;
  }

  /** One request object → its serialised response, or undefined for a notification. */
  async function handleOne(req: unknown, ctx: RpcContext, failed?: (code: number) => void): Promise<string | undefined> {
    const refuse = (id: unknown, error: JsonRpcErrorObject) => {
      failed?.(error.code);
      return errorResponse(id, error);
    };
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return refuse(null, toJsonRpcError(new InvalidRequestError()));
    }
    const r = req as Record<string, unknown>;
    const isNotification = !('id' in r);
    const id = r.id ?? null;
    if (typeof id !== 'string' && typeof id !== 'number' && id !== null) {
      return refuse(null, toJsonRpcError(new InvalidRequestError('invalid request: id must be a string, number or null')));
    }
    // JSON.parse reads 1e400 as Infinity, which would be echoed as null: the client could
    // not match the answer, so the request is refused as one without a usable id.
    if (typeof id === 'number' && !Number.isFinite(id)) {
      return refuse(null, toJsonRpcError(new InvalidRequestError('invalid request: id is a number out of range')));
    }
    // geth rejects a missing "jsonrpc"; several clients omit it, so only a wrong value is refused.
    if (r.jsonrpc !== undefined && r.jsonrpc !== '2.0') {
      return refuse(id, toJsonRpcError(new InvalidRequestError('invalid request: jsonrpc must be "2.0"')));
    }
    const method = r.method;
    if (typeof method !== 'string') {
      return refuse(id, toJsonRpcError(new InvalidRequestError('invalid request: method must be a string')));
    }

    let result: unknown;
    try {
      const params = r.params ?? [];
      if (!Array.isArray(params)) throw new InvalidParamsError('invalid params: array expected');
      // hasOwn keeps "constructor", "__proto__"… from resolving to Object.prototype.
      const entry = Object.hasOwn(methods, method) ? methods[method] : undefined;
      if (entry === undefined) throw new MethodNotFoundError(method);
      if (entry.status === 'unsupported' || entry.handler === undefined) throw new MethodNotSupportedError(method);
      if (entry.usesNodeKeys === true && !ctx.trustedOrigin) {
        throw new UnauthorizedError(
          `${method} signs with a key held by the node and is refused to web pages of other origins; pages may still read (trust an origin with --cors-origins)`,
        );
      }
      result = await entry.handler(params, ctx);
    } catch (err) {
      // Converted even for notifications, so that internal failures still get logged.
      const error = toJsonRpcError(err, log);
      failed?.(error.code);
      return isNotification ? undefined : errorResponse(id, error);
    }
    if (isNotification) return undefined;
    try {
      return JSON.stringify({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
    } catch (err) {
      // A BigInt or a cycle in a result is a bug in its handler, not the client's fault.
      log('error', 'result is not serialisable', { method, error: String(err) });
      return refuse(id, toJsonRpcError(err, log));
    }
  }

  function parse(text: string): ParsedMessage {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { answer: errorResponse(null, toJsonRpcError(new ParseError())) };
    }
    if (!Array.isArray(body)) return { body, requests: 1 };
    return { body, requests: body.length <= maxBatch ? body.length : 0 };
  }

  async function dispatch(body: unknown, ctx: RpcContext): Promise<string | undefined> {
    if (!Array.isArray(body)) return observed(body, ctx);
    if (body.length === 0) return errorResponse(null, toJsonRpcError(new InvalidRequestError('empty batch')));
    if (body.length > maxBatch) {
      observer?.limitHit();
      return errorResponse(null, toJsonRpcError(new LimitExceededError(`batch too large: at most ${maxBatch} requests`)));
    }
    const answers = await Promise.all(body.map((item) => observed(item, ctx)));
    let out = '';
    for (const a of answers) if (a !== undefined) out += out === '' ? a : ',' + a;
    return out === '' ? undefined : '[' + out + ']';
  }

  return { parse, dispatch };
}

/**
 * The answer to a parsed message that is refused as a whole (over a limit): `error`
 * for each request in it, with its id, so that clients can match it; nothing for
 * notifications.
 */
export function refuseMessage(body: unknown, error: RpcError): string | undefined {
  const items = Array.isArray(body) ? body : [body];
  const out: string[] = [];
  for (const item of items) {
    const r = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    if (typeof item === 'object' && item !== null && !('id' in r)) continue;
    const id = typeof r.id === 'string' || typeof r.id === 'number' ? r.id : null;
    out.push(errorResponse(id, toJsonRpcError(error)));
  }
  if (out.length === 0) return undefined;
  return Array.isArray(body) ? '[' + out.join(',') + ']' : out[0];
}

/** The host names of the address listened on, served besides the defaults (not a wildcard). */
function listenHostNames(host: string): string[] {
  return host === '' || host === '0.0.0.0' || host === '::' ? [] : [host];
}

/**
 * Starts HTTP and WebSocket JSON-RPC on `host:port`. HTTP: POST on any path, GET for a
 * short status (with `operations`: GET /health, /ready and /metrics), OPTIONS for CORS preflight; CORS headers on every response. WebSocket:
 * upgrade on any path, one request or batch per message, handlers get `ctx.connection`.
 * A foreign Host header gets 403 on both; limits are in RpcTransportOptions. A session
 * token (`Authorization: Bearer`, or the path `/s/<token>`; for WebSocket, on the upgrade
 * request) reaches handlers as `ctx.caller`; no log line here names a URL or a header.
 */
export async function startRpcServer(opts: RpcServerOptions): Promise<RpcServer> {
  const log = opts.log ?? stderrLogger;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxHttpConnections = opts.maxHttpConnections ?? DEFAULT_MAX_HTTP_CONNECTIONS;
  const maxWsConnections = opts.maxWsConnections ?? DEFAULT_MAX_WS_CONNECTIONS;
  const maxWsInFlight = opts.maxWsInFlight ?? DEFAULT_MAX_WS_IN_FLIGHT;
  const maxRequestsInFlight = opts.maxRequestsInFlight ?? DEFAULT_MAX_REQUESTS_IN_FLIGHT;
  const maxBufferedBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const requestTimeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const policy = createBrowserPolicy({
    allowedHosts: [...listenHostNames(opts.host), ...(opts.allowedHosts ?? [])],
    corsOrigins: opts.corsOrigins,
  });
  const observer = opts.observer;
  const { parse, dispatch } = createDispatcher(opts.methods, { log, maxBatchSize: opts.maxBatchSize, observer });
  // Node-wide, over every connection, HTTP and WebSocket.
  const requestsInFlight = new Budget(maxRequestsInFlight);
  const bufferedBytes = new Budget(maxBufferedBytes);
  const nodeBusy = new LimitExceededError(`too many requests in flight on this node: at most ${maxRequestsInFlight}`);
  const bytesBusy = new LimitExceededError(`too many request bytes buffered on this node: at most ${maxBufferedBytes}`);
  const tooLarge = new LimitExceededError(`request body too large: at most ${maxBody} bytes`);
  // The two kinds of HTTP context, completed per request.
  const trustedCtx: RpcContext = { services: opts.services, trustedOrigin: true };
  const untrustedCtx: RpcContext = { services: opts.services, trustedOrigin: false };

  const server = createServer(
    {
      keepAlive: true,
      noDelay: true,
      requestTimeout,
      headersTimeout: Math.min(KEEP_ALIVE_MS + 5_000, requestTimeout),
      // How often Node looks for requests past their timeout.
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(requestTimeout / 4))),
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    onHttpRequest,
  );
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // Sockets refused for the limits still hold a descriptor until they go; past this
  // Node drops new ones unanswered, the last line before the process runs out.
  server.maxConnections = maxHttpConnections + maxWsConnections + 64;

  // Plain HTTP sockets (not upgraded), against maxHttpConnections.
  const httpSockets = new Set<Socket>();
  const refusedSockets = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    if (httpSockets.size >= maxHttpConnections) {
      refusedSockets.add(socket);
      socket.setTimeout(REFUSED_IDLE_MS, () => socket.destroy());
      return;
    }
    httpSockets.add(socket);
    socket.once('close', () => httpSockets.delete(socket));
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    log('debug', 'http client error', { error: err.message });
    const busy = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true;
    if (err.code === 'ECONNRESET' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      rawRefusal(socket, 408, new LimitExceededError(`request timeout: a request must arrive whole within ${requestTimeout} ms`));
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      rawRefusal(socket, 431, new LimitExceededError(`request headers too large: at most ${MAX_HEADER_BYTES} bytes`));
    } else {
      rawRefusal(socket, 400, new InvalidRequestError('malformed HTTP request'));
    }
  });

  // `Expect: 100-continue` (curl for large bodies): readBody sends 100 Continue once the
  // body is admitted, so a refused one is never sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onHttpRequest(req, res, true));

  /** A complete HTTP response written on a raw socket (no ServerResponse for it), then closed. */
  function rawRefusal(socket: Duplex, status: number, err: RpcError): void {
    if (err.code === LimitExceededError.code) observer?.limitHit();
    const body = errorResponse(null, toJsonRpcError(err));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: string, close = false): void {
    res.writeHead(status, {
      ...policy.corsHeaders(req.headers.origin),
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(body);
  }

  function onHttpRequest(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    if (refusedSockets.has(req.socket)) {
      const err = new LimitExceededError(`too many HTTP connections: at most ${maxHttpConnections}`);
      observer?.limitHit();
      return sendJson(req, res, 503, errorResponse(null, toJsonRpcError(err)), true);
    }
    if (!policy.hostAllowed(req.headers.host)) {
      return sendJson(req, res, 403, errorResponse(null, toJsonRpcError(new InvalidRequestError(INVALID_HOST))), true);
    }
    const method = req.method;
    if (method === 'POST') return readBody(req, res, expectsContinue);
    if (method === 'OPTIONS') {
      res.writeHead(204, policy.corsHeaders(req.headers.origin));
      res.end();
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      const operations = opts.operations;
      if (operations !== undefined) {
        const path = req.url?.split('?', 1)[0];
        if (path === '/health') return sendJson(req, res, 200, HEALTH_BODY);
        if (path === '/ready') return operations.ready() ? sendJson(req, res, 200, READY_BODY) : sendJson(req, res, 503, NOT_READY_BODY);
        if (path === '/metrics') return sendMetrics(req, res, operations);
      }
      return sendJson(req, res, 200, STATUS_BODY);
    }
    res.setHeader('allow', 'POST, GET, OPTIONS');
    sendJson(req, res, 405, errorResponse(null, { code: InvalidRequestError.code, message: `HTTP method ${method} not allowed` }));
  }

  function sendMetrics(req: IncomingMessage, res: ServerResponse, operations: Operations): void {
    operations.metrics().then(
      ({ contentType, body }) => {
        if (res.destroyed) return;
        res.writeHead(200, { ...policy.corsHeaders(req.headers.origin), 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      (err) => {
        if (!res.destroyed && !res.headersSent) sendJson(req, res, 500, errorResponse(null, toJsonRpcError(err, log)));
      },
    );
  }

  /**
   * A body refused unread (413 too large, 503 no room in maxBufferedBytes), then drain:
   * the client may still be sending the body it announced. Reading it keeps the
   * connection (and the answer) intact; past MAX_DRAIN_BYTES or DRAIN_MS the socket is
   * closed. A client that announced its size and waits for `100 Continue` never sends
   * the body, so its connection is closed at once.
   */
  function refuseBody(req: IncomingMessage, res: ServerResponse, status: number, err: RpcError, received: number): void {
    if (err.code === LimitExceededError.code) observer?.limitHit();
    const body = errorResponse(null, toJsonRpcError(err));
    const waitsForContinue = /100-continue/i.test(req.headers.expect ?? '') && received === 0;
    sendJson(req, res, status, body, waitsForContinue);
    if (waitsForContinue) return;
    let drained = 0;
    const stop = () => req.socket.destroy();
    const timer = setTimeout(stop, DRAIN_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > MAX_DRAIN_BYTES) stop();
    });
    req.once('close', () => clearTimeout(timer));
    req.resume();
  }

  function readBody(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const declared = Number(req.headers['content-length']);
    req.on('error', (err) => log('debug', 'http request stream error', { error: err.message }));
    if (declared > maxBody) return refuseBody(req, res, 413, tooLarge, 0);
    let caller: Uint8Array;
    try {
      caller = credentialOf(req).credential;
    } catch (err) {
      return refuseBody(req, res, 400, err as RpcError, 0);
    }
    // An announced size is reserved whole, so that bodies still arriving cannot together
    // outgrow the budget; a chunked body takes its share as its bytes arrive. Everything
    // is held until the answer is sent: the text and its parse live that long.
    let held = declared > 0 ? declared : 0;
    if (!bufferedBytes.take(held)) return refuseBody(req, res, 503, bytesBusy, 0);
    const release = () => {
      bufferedBytes.release(held);
      held = 0;
    };
    res.once('close', release);
    if (expectsContinue) res.writeContinue();
    const shared = policy.originTrusted(req.headers.origin) ? trustedCtx : untrustedCtx;
    // Each request's context names its credential and the Host it came to (a Sign-In
    // with Ethereum message names the node it signs in to).
    const ctx: RpcContext = { ...shared, caller, host: policy.hostListed(req.headers.host) ? req.headers.host : undefined, source: clientSource(req.socket.remoteAddress) };
    const chunks: Buffer[] = [];
    let size = 0;
    const refuse = (status: number, err: RpcError) => {
      chunks.length = 0;
      req.off('data', onData);
      req.off('end', onEnd);
      release();
      refuseBody(req, res, status, err, size);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) return refuse(413, tooLarge);
      if (size > held) {
        if (!bufferedBytes.take(size - held)) return refuse(503, bytesBusy);
        held = size;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      chunks.length = 0;
      const parsed = parse(text);
      if ('answer' in parsed) return sendJson(req, res, 200, parsed.answer);
      const { body, requests } = parsed;
      if (!requestsInFlight.take(requests)) {
        observer?.limitHit();
        return sendJson(req, res, 503, refuseMessage(body, nodeBusy) ?? errorResponse(null, toJsonRpcError(nodeBusy)));
      }
      dispatch(body, ctx).then(
        (out) => {
          requestsInFlight.release(requests);
          if (res.destroyed) return;
          if (out === undefined) {
            res.writeHead(204, policy.corsHeaders(req.headers.origin));
            res.end();
          } else sendJson(req, res, 200, out);
        },
        (err) => {
          requestsInFlight.release(requests);
          // dispatch never rejects; this is the last line of defence.
          if (!res.destroyed && !res.headersSent) sendJson(req, res, 500, errorResponse(null, toJsonRpcError(err, log)));
        },
      );
    };
    req.on('data', onData);
    req.on('end', onEnd);
  }

  // WebSocket on the same port: ws handles the frames, http hands over the socket.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBody });
  let nextConnectionId = 1;
  let wsOpen = 0;
  const alive = new WeakSet<WebSocket>();

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', (err) => log('debug', 'upgrade socket error', { error: err.message }));
    const origin = req.headers.origin;
    if (!policy.hostAllowed(req.headers.host)) return rawRefusal(socket, 403, new InvalidRequestError(INVALID_HOST));
    // Browsers let any page open a WebSocket, so the CORS origins are enforced here.
    if (!policy.originMayRead(origin)) return rawRefusal(socket, 403, new InvalidRequestError('origin not allowed'));
    if (wsOpen >= maxWsConnections) {
      return rawRefusal(socket, 503, new LimitExceededError(`too many WebSocket connections: at most ${maxWsConnections}`));
    }
    let caller: Uint8Array;
    try {
      caller = credentialOf(req).credential;
    } catch (err) {
      return rawRefusal(socket, 400, err as RpcError);
    }
    // From here the socket is the WebSocket's, counted against maxWsConnections only.
    httpSockets.delete(socket);
    socket.setTimeout(0);
    wsOpen++;
    let counted = true;
    const release = () => {
      if (counted) wsOpen--;
      counted = false;
    };
    socket.once('close', release);
    const host = policy.hostListed(req.headers.host) ? req.headers.host : undefined;
    wss.handleUpgrade(req, socket, head, (ws) => onWsConnection(ws, policy.originTrusted(origin), caller, host, clientSource(req.socket.remoteAddress)));
  });

  function onWsConnection(ws: WebSocket, trustedOrigin: boolean, caller: Uint8Array, host: string | undefined, source: string | undefined): void {
    const closeFns: (() => void)[] = [];
    let closed = false;
    /**
     * True when the client has left more than MAX_WS_BUFFERED bytes unread; it is then
     * closed (once), and nothing more is sent to it or run for it.
     */
    const notReading = (): boolean => {
      if (ws.readyState !== WebSocket.OPEN) return true;
      if (ws.bufferedAmount <= MAX_WS_BUFFERED) return false;
      log('warn', 'websocket client not reading, closing it', { connection: connection.id, unsent: ws.bufferedAmount });
      ws.close(WS_NOT_READING, `not reading: over ${MAX_WS_BUFFERED} bytes of answers unsent`);
      setTimeout(() => ws.terminate(), WS_CLOSE_TIMEOUT_MS).unref();
      return true;
    };
    const answer = (text: string | undefined) => {
      if (text !== undefined && !notReading()) ws.send(text);
    };
    const connection: Connection = {
      id: nextConnectionId++,
      send(message) {
        if (notReading()) return;
        let text: string;
        try {
          text = JSON.stringify(message);
        } catch (err) {
          log('error', 'websocket message is not serialisable', { error: String(err) });
          return;
        }
        ws.send(text);
      },
      onClose(fn) {
        if (closed) queueMicrotask(fn);
        else closeFns.push(fn);
      },
    };
    const ctx: RpcContext = { services: opts.services, connection, trustedOrigin, caller, host, source };
    const tooManyInFlight = new LimitExceededError(`too many requests in flight on this connection: at most ${maxWsInFlight}`);
    let inFlight = 0;
    alive.add(ws);

    ws.on('pong', () => alive.add(ws));
    ws.on('error', (err) => log('debug', 'websocket error', { connection: connection.id, error: err.message }));
    // Binary frames are read as UTF-8 text too: some clients send JSON that way.
    ws.on('message', (data: RawData) => {
      if (notReading()) return;
      const raw = rawToBuffer(data);
      const parsed = parse(raw.toString('utf8'));
      if ('answer' in parsed) return answer(parsed.answer);
      const { body, requests } = parsed;
      if (inFlight + requests > maxWsInFlight) {
        observer?.limitHit();
        return answer(refuseMessage(body, tooManyInFlight));
      }
      if (!requestsInFlight.take(requests)) {
        observer?.limitHit();
        return answer(refuseMessage(body, nodeBusy));
      }
      if (!bufferedBytes.take(raw.length)) {
        observer?.limitHit();
        requestsInFlight.release(requests);
        return answer(refuseMessage(body, bytesBusy));
      }
      inFlight += requests;
      const done = () => {
        inFlight -= requests;
        requestsInFlight.release(requests);
        bufferedBytes.release(raw.length);
      };
      dispatch(body, ctx).then(
        (out) => {
          done();
          answer(out);
        },
        (err) => {
          done();
          log('error', 'websocket dispatch failed', { error: String(err) });
        },
      );
    });
    ws.on('close', () => {
      closed = true;
      for (const fn of closeFns.splice(0)) {
        try {
          fn();
        } catch (err) {
          log('error', 'onClose callback threw', { connection: connection.id, error: String(err) });
        }
      }
    });
  }

  // Dead peers never send 'close'; ping them so their subscriptions get cleaned up.
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log('error', 'http server error', { error: err.message }));

  const port = (server.address() as AddressInfo).port;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${hostPart}:${port}/`,
    wsUrl: `ws://${hostPart}:${port}/`,
    port,
    connections: () => wss.clients.size,
    httpConnections: () => httpSockets.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        // In-flight requests get a moment to finish; idle keep-alive sockets go now.
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function rawToBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

/** A count shared by many holders that never goes above its cap. */
class Budget {
  #used = 0;
  constructor(readonly cap: number) {}
  /** Takes `n` if it fits; otherwise false, and nothing is taken. */
  take(n: number): boolean {
    if (this.#used + n > this.cap) return false;
    this.#used += n;
    return true;
  }
  release(n: number): void {
    this.#used -= n;
  }
}
