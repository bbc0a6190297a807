import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { ExecutionRevertedError, InvalidParamsError } from '../../node/rpc/errors.ts';
import { param, parseAddress } from '../../node/rpc/params.ts';
import { startRpcServer, type RpcServer } from '../../node/rpc/server.ts';
import type { Logger, MethodTable, RpcContext } from '../../node/rpc/types.ts';

interface Services {
  greeting: string;
}

const closed: number[] = [];
const logged: { level: string; msg: string }[] = [];
const log: Logger = (level, msg) => logged.push({ level, msg });

const methods: MethodTable<Services> = {
  echo: { status: 'supported', handler: (params) => params },
  greet: { status: 'supported', handler: (_p, ctx) => ctx.services.greeting },
  slow: {
    status: 'supported',
    handler: async (params) => {
      await new Promise((r) => setTimeout(r, Number(params[0])));
      return params[0];
    },
  },
  nothing: { status: 'supported', handler: () => undefined },
  getBalance: { status: 'supported', handler: (params) => param(params, 0, 'address', parseAddress) },
  badParams: {
    status: 'supported',
    handler: () => {
      throw new InvalidParamsError('invalid argument 0 (address): hex string of 20 bytes expected');
    },
  },
  boom: {
    status: 'supported',
    handler: async () => {
      throw new Error('database password is hunter2');
    },
  },
  revert: { status: 'supported', handler: () => Promise.reject(new ExecutionRevertedError('0xdeadbeef', 'Unauthorized()')) },
  bigint: { status: 'supported', handler: () => ({ value: 1n }) },
  gatedEcho: { status: 'gated', handler: (params) => params[0] },
  eth_mining: { status: 'unsupported' },
  subscribe: {
    status: 'supported',
    handler: (_p, ctx: RpcContext<Services>) => {
      const conn = ctx.connection;
      if (!conn) throw new InvalidParamsError('subscriptions need a WebSocket');
      const sub = '0x1';
      setTimeout(() => conn.send({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: sub, result: 'tick' } }), 10);
      conn.onClose(() => closed.push(conn.id));
      return sub;
    },
  },
};

let server: RpcServer;

before(async () => {
  server = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'hi' }, log, maxBodyBytes: 4096, maxBatchSize: 10 });
});
after(() => server.close());

async function post(body: unknown, raw = false): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

const call = (method: string, params?: unknown[], id: number | string = 1) => post({ jsonrpc: '2.0', id, method, params });

test('listens on the given host and reports urls', () => {
  assert.ok(server.port > 0);
  assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
  assert.equal(server.wsUrl, `ws://127.0.0.1:${server.port}/`);
});

test('single request, services reach handlers, undefined result becomes null', async () => {
  const r = await call('echo', [1, 'a']);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(r.json, { jsonrpc: '2.0', id: 1, result: [1, 'a'] });
  assert.deepEqual((await call('greet', [], 'x')).json, { jsonrpc: '2.0', id: 'x', result: 'hi' });
  assert.deepEqual((await call('nothing')).json, { jsonrpc: '2.0', id: 1, result: null });
  assert.deepEqual((await post({ id: 2, method: 'echo' })).json, { jsonrpc: '2.0', id: 2, result: [] }, 'missing jsonrpc is tolerated');
  assert.equal((await call('gatedEcho', [7])).json.result, 7);
});

test('parse error: -32700 with id null', async () => {
  const r = await post('{"jsonrpc":"2.0","id":1,"method":', true);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
});

test('invalid requests: empty batch, wrong jsonrpc, bad method, non-array params', async () => {
  assert.deepEqual((await post([])).json, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'empty batch' } });
  assert.equal((await post({ jsonrpc: '1.0', id: 3, method: 'echo' })).json.error.code, -32600);
  assert.equal((await post({ jsonrpc: '2.0', id: 3, method: 5 })).json.error.code, -32600);
  assert.equal((await post({ jsonrpc: '2.0', id: { a: 1 }, method: 'echo' })).json.id, null);
  assert.equal((await post({ jsonrpc: '2.0', id: 3, method: 'echo', params: { a: 1 } })).json.error.code, -32602);
  assert.equal((await post(42)).json.error.code, -32600);
});

test('mixed batch: concurrent, answered in order, notifications omitted', async () => {
  const r = await post([
    { jsonrpc: '2.0', id: 1, method: 'slow', params: [40] },
    { jsonrpc: '2.0', method: 'echo', params: ['notification'] },
    5,
    { jsonrpc: '2.0', id: 2, method: 'slow', params: [1] },
    { jsonrpc: '2.0', id: 3, method: 'nope' },
    { jsonrpc: '2.0', id: 4, method: 'badParams' },
  ]);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, [
    { jsonrpc: '2.0', id: 1, result: 40 },
    { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
    { jsonrpc: '2.0', id: 2, result: 1 },
    { jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'the method nope does not exist/is not available' } },
    { jsonrpc: '2.0', id: 4, error: { code: -32602, message: 'invalid argument 0 (address): hex string of 20 bytes expected' } },
  ]);

  const started = Date.now();
  await post([40, 40, 40, 40].map((ms, id) => ({ jsonrpc: '2.0', id, method: 'slow', params: [ms] })));
  assert.ok(Date.now() - started < 150, 'batch items run concurrently');
});

test('notifications only: 204 and no body', async () => {
  const r = await post([{ jsonrpc: '2.0', method: 'echo' }, { jsonrpc: '2.0', method: 'boom' }]);
  assert.equal(r.status, 204);
  assert.equal(r.json, undefined);
  assert.equal((await post({ jsonrpc: '2.0', method: 'echo' })).status, 204);
});

test('batch size limit: -32005', async () => {
  const batch = Array.from({ length: 11 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'echo' }));
  const r = await post(batch);
  assert.equal(r.json.error.code, -32005);
  assert.equal(r.json.id, null);
});

test('unknown method -32601, unsupported -32004, prototype names are not methods', async () => {
  assert.deepEqual((await call('eth_foo')).json.error, { code: -32601, message: 'the method eth_foo does not exist/is not available' });
  assert.deepEqual((await call('eth_mining')).json.error, { code: -32004, message: 'the method eth_mining is not supported' });
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    assert.equal((await call(name)).json.error.code, -32601, name);
  }
});

test('handler errors: typed codes pass through, internals do not leak', async () => {
  const bad = await call('getBalance', ['0x12']);
  assert.deepEqual(bad.json.error, { code: -32602, message: 'invalid argument 0 (address): hex string of 20 bytes expected' });
  const missing = await call('getBalance', []);
  assert.deepEqual(missing.json.error, { code: -32602, message: 'missing value for required argument 0 (address)' });

  const boom = await call('boom');
  assert.deepEqual(boom.json.error, { code: -32603, message: 'internal error' });
  assert.doesNotMatch(JSON.stringify(boom.json), /hunter2/);
  assert.ok(logged.some((l) => l.level === 'error'), 'internal errors are logged');

  assert.deepEqual((await call('revert')).json.error, { code: 3, message: 'execution reverted: Unauthorized()', data: '0xdeadbeef' });
  assert.deepEqual((await call('bigint')).json.error, { code: -32603, message: 'internal error' });
  assert.equal((await call('echo', ['still alive'])).json.result[0], 'still alive');
});

test('CORS: preflight and headers on every response', async () => {
  const pre = await fetch(server.url, {
    method: 'OPTIONS',
    headers: { origin: 'https://dapp.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type/);
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);

  assert.equal((await call('echo')).headers.get('access-control-allow-origin'), '*');
  assert.equal((await post('{', true)).headers.get('access-control-allow-origin'), '*');

  const status = await fetch(server.url);
  assert.equal(status.status, 200);
  assert.equal(status.headers.get('access-control-allow-origin'), '*');
  assert.equal((await status.json()).status, 'ok');

  const put = await fetch(server.url, { method: 'PUT', body: '{}' });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get('access-control-allow-origin'), '*');
  await put.text();
});

test('body size limit: 413 with a JSON-RPC error, server keeps serving', async () => {
  const big = { jsonrpc: '2.0', id: 1, method: 'echo', params: ['x'.repeat(5000)] };
  const r = await post(big);
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, -32005);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');

  // Chunked upload without content-length: the limit is enforced while streaming.
  const chunks = new ReadableStream({
    start(c) {
      for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1000)));
      c.close();
    },
  });
  const streamed = await fetch(server.url, { method: 'POST', body: chunks, duplex: 'half' } as RequestInit);
  assert.equal(streamed.status, 413);
  await streamed.text();

  assert.equal((await call('echo', ['ok'])).json.result[0], 'ok');
});

/** Opens a WebSocket and collects every message it receives. */
async function openWs(): Promise<{ ws: WebSocket; next(): Promise<any> }> {
  const ws = new WebSocket(server.wsUrl);
  const queue: any[] = [];
  const waiting: ((m: any) => void)[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r))),
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

test('WebSocket: request/response, batch, errors, parse error', async () => {
  const { ws, next } = await openWs();
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['ws'] }));
  assert.deepEqual(await next(), { jsonrpc: '2.0', id: 1, result: ['ws'] });

  ws.send(JSON.stringify([{ jsonrpc: '2.0', id: 2, method: 'greet' }, { jsonrpc: '2.0', method: 'echo' }, { jsonrpc: '2.0', id: 3, method: 'eth_mining' }]));
  assert.deepEqual(await next(), [
    { jsonrpc: '2.0', id: 2, result: 'hi' },
    { jsonrpc: '2.0', id: 3, error: { code: -32004, message: 'the method eth_mining is not supported' } },
  ]);

  ws.send('not json');
  assert.equal((await next()).error.code, -32700);
  ws.send(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'echo' })), { binary: true });
  assert.deepEqual(await next(), { jsonrpc: '2.0', id: 4, result: [] });
  ws.close();
});

test('WebSocket: handler pushes notifications, onClose fires, connections() counts', async () => {
  const { ws, next } = await openWs();
  await until(() => server.connections() === 1, 'one open connection');
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe' }));
  assert.deepEqual(await next(), { jsonrpc: '2.0', id: 1, result: '0x1' });
  assert.deepEqual(await next(), { jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x1', result: 'tick' } });

  const before = closed.length;
  ws.close();
  await until(() => closed.length === before + 1, 'onClose callback fired');
  await until(() => server.connections() === 0, 'connection gone');

  // Over HTTP there is no connection object.
  assert.equal((await call('subscribe')).json.error.code, -32602);
});

test('close() terminates WebSocket clients and fires onClose', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log });
  const ws = new WebSocket(local.wsUrl);
  await new Promise((r) => ws.once('open', r));
  const reply = new Promise((r) => ws.once('message', r));
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe' }));
  await reply;
  const before = closed.length;
  const wsClosed = new Promise((r) => ws.once('close', r));
  await local.close();
  await wsClosed;
  await until(() => closed.length === before + 1, 'onClose on shutdown');
});
