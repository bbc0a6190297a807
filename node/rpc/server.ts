/**
 * The host's JSON-RPC 2.0 transport: HTTP POST and WebSocket on one port, single
 * requests and batches, dispatched through a MethodTable. Everything a handler throws
 * becomes a JSON-RPC error via `toJsonRpcError`; no input can crash the process.
 *
 * https://www.jsonrpc.org/specification
 * https://eips.ethereum.org/EIPS/eip-1474
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  InvalidParamsError,
  InvalidRequestError,
  LimitExceededError,
  MethodNotFoundError,
  MethodNotSupportedError,
  ParseError,
  stderrLogger,
  toJsonRpcError,
  type JsonRpcErrorObject,
} from './errors.ts';
import type { Connection, Logger, MethodTable, RpcContext } from './types.ts';

export interface RpcServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  methods: MethodTable;
  /** Passed to every handler as `ctx.services`. */
  services: unknown;
  log?: Logger;
  /** Largest HTTP body or WebSocket message; default 10 MB. */
  maxBodyBytes?: number;
  /** Largest batch; default 1000. */
  maxBatchSize?: number;
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
}

/** Answers one HTTP body or WebSocket message; undefined when nothing is to be sent back. */
export type RpcDispatcher = (text: string, ctx: RpcContext) => Promise<string | undefined>;

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
const DEFAULT_MAX_BATCH = 1000;
// Longer than the 5 s default so that clients polling every few seconds reuse the
// socket; most proxies and load balancers idle out at 60 s, so stay below.
const KEEP_ALIVE_MS = 30_000;
const HEARTBEAT_MS = 30_000;
// A WebSocket client that stops reading must not make the node buffer without bound.
const MAX_WS_BUFFERED = 64 * 1024 * 1024;
const CLOSE_GRACE_MS = 2_000;

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
  'access-control-max-age': '86400',
};
const STATUS_BODY = JSON.stringify({ status: 'ok', jsonrpc: '2.0', transport: ['http POST', 'websocket'] });

function errorResponse(id: unknown, error: JsonRpcErrorObject): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/**
 * The transport-independent core: parses `text` once, runs the request or the batch
 * (items concurrently, answers in order) and serialises the answer. Never rejects.
 */
export function createDispatcher(methods: MethodTable, opts: { log?: Logger; maxBatchSize?: number } = {}): RpcDispatcher {
  const log = opts.log ?? stderrLogger;
  const maxBatch = opts.maxBatchSize ?? DEFAULT_MAX_BATCH;

  /** One request object → its serialised response, or undefined for a notification. */
  async function handleOne(req: unknown, ctx: RpcContext): Promise<string | undefined> {
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return errorResponse(null, toJsonRpcError(new InvalidRequestError()));
    }
    const r = req as Record<string, unknown>;
    const isNotification = !('id' in r);
    const id = r.id ?? null;
    if (typeof id !== 'string' && typeof id !== 'number' && id !== null) {
      return errorResponse(null, toJsonRpcError(new InvalidRequestError('invalid request: id must be a string, number or null')));
    }
    // geth rejects a missing "jsonrpc"; several clients omit it, so only a wrong value is refused.
    if (r.jsonrpc !== undefined && r.jsonrpc !== '2.0') {
      return errorResponse(id, toJsonRpcError(new InvalidRequestError('invalid request: jsonrpc must be "2.0"')));
    }
    const method = r.method;
    if (typeof method !== 'string') {
      return errorResponse(id, toJsonRpcError(new InvalidRequestError('invalid request: method must be a string')));
    }

    let result: unknown;
    try {
      const params = r.params ?? [];
      if (!Array.isArray(params)) throw new InvalidParamsError('invalid params: array expected');
      // hasOwn keeps "constructor", "__proto__"… from resolving to Object.prototype.
      const entry = Object.hasOwn(methods, method) ? methods[method] : undefined;
      if (entry === undefined) throw new MethodNotFoundError(method);
      if (entry.status === 'unsupported' || entry.handler === undefined) throw new MethodNotSupportedError(method);
      result = await entry.handler(params, ctx);
    } catch (err) {
      // Converted even for notifications, so that internal failures still get logged.
      const error = toJsonRpcError(err, log);
      return isNotification ? undefined : errorResponse(id, error);
    }
    if (isNotification) return undefined;
    try {
      return JSON.stringify({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
    } catch (err) {
      // A BigInt or a cycle in a result is a bug in its handler, not the client's fault.
      log('error', `result of ${method} is not serialisable`, { error: String(err) });
      return errorResponse(id, toJsonRpcError(err, log));
    }
  }

  return async function dispatch(text, ctx) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return errorResponse(null, toJsonRpcError(new ParseError()));
    }
    if (!Array.isArray(body)) return handleOne(body, ctx);
    if (body.length === 0) return errorResponse(null, toJsonRpcError(new InvalidRequestError('empty batch')));
    if (body.length > maxBatch) {
      return errorResponse(null, toJsonRpcError(new LimitExceededError(`batch too large: at most ${maxBatch} requests`)));
    }
    const answers = await Promise.all(body.map((item) => handleOne(item, ctx)));
    let out = '';
    for (const a of answers) if (a !== undefined) out += out === '' ? a : ',' + a;
    return out === '' ? undefined : '[' + out + ']';
  };
}

/**
 * Starts HTTP and WebSocket JSON-RPC on `host:port`. HTTP: POST on any path, GET for a
 * short status, OPTIONS for CORS preflight; CORS headers on every response. WebSocket:
 * upgrade on any path, one request or batch per message, handlers get `ctx.connection`.
 */
export async function startRpcServer(opts: RpcServerOptions): Promise<RpcServer> {
  const log = opts.log ?? stderrLogger;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const dispatch = createDispatcher(opts.methods, { log, maxBatchSize: opts.maxBatchSize });
  // One shared context for HTTP: nothing per request to allocate.
  const httpCtx: RpcContext = { services: opts.services };

  const server = createServer({ keepAlive: true, noDelay: true }, onHttpRequest);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 5_000;
  server.on('clientError', (err, socket) => {
    log('debug', 'http client error', { error: err.message });
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  function sendJson(res: ServerResponse, status: number, body: string, close = false): void {
    res.writeHead(status, {
      ...CORS_HEADERS,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(body);
  }

  function onHttpRequest(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method;
    if (method === 'POST') return readBody(req, res);
    if (method === 'OPTIONS') {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, STATUS_BODY);
    res.setHeader('allow', 'POST, GET, OPTIONS');
    sendJson(res, 405, errorResponse(null, { code: InvalidRequestError.code, message: `HTTP method ${method} not allowed` }));
  }

  function tooLarge(res: ServerResponse): void {
    const body = errorResponse(null, toJsonRpcError(new LimitExceededError(`request body too large: at most ${maxBody} bytes`)));
    // Node drains the unread rest of the body; closing stops the client sending more.
    sendJson(res, 413, body, true);
  }

  function readBody(req: IncomingMessage, res: ServerResponse): void {
    const declared = Number(req.headers['content-length']);
    if (declared > maxBody) return tooLarge(res);
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      if (size > maxBody) {
        rejected = true;
        chunks.length = 0;
        tooLarge(res);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => log('debug', 'http request stream error', { error: err.message }));
    req.on('end', () => {
      if (rejected) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      dispatch(text, httpCtx).then(
        (out) => {
          if (res.destroyed) return;
          if (out === undefined) {
            res.writeHead(204, CORS_HEADERS);
            res.end();
          } else sendJson(res, 200, out);
        },
        (err) => {
          // dispatch never rejects; this is the last line of defence.
          if (!res.destroyed && !res.headersSent) sendJson(res, 500, errorResponse(null, toJsonRpcError(err, log)));
        },
      );
    });
  }

  // WebSocket on the same port: ws handles the frames, http hands over the socket.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBody });
  let nextConnectionId = 1;
  const alive = new WeakSet<WebSocket>();

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', (err) => log('debug', 'upgrade socket error', { error: err.message }));
    wss.handleUpgrade(req, socket, head, (ws) => onWsConnection(ws));
  });

  function onWsConnection(ws: WebSocket): void {
    const closeFns: (() => void)[] = [];
    let closed = false;
    const connection: Connection = {
      id: nextConnectionId++,
      send(message) {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (ws.bufferedAmount > MAX_WS_BUFFERED) {
          log('warn', 'websocket client not reading, closing it', { connection: connection.id });
          ws.terminate();
          return;
        }
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
    const ctx: RpcContext = { services: opts.services, connection };
    alive.add(ws);

    ws.on('pong', () => alive.add(ws));
    ws.on('error', (err) => log('debug', 'websocket error', { connection: connection.id, error: err.message }));
    // Binary frames are read as UTF-8 text too: some clients send JSON that way.
    ws.on('message', (data: RawData) => {
      dispatch(rawToString(data), ctx).then(
        (out) => {
          if (out !== undefined && ws.readyState === WebSocket.OPEN) ws.send(out);
        },
        (err) => log('error', 'websocket dispatch failed', { error: String(err) }),
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

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
