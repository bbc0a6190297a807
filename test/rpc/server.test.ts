import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { ExecutionRevertedError, InvalidParamsError, LimitExceededError } from '../../node/rpc/errors.ts';
import { param, parseAddress } from '../../node/rpc/params.ts';
import { refuseMessage, startRpcServer, type RpcServer } from '../../node/rpc/server.ts';
import type { Logger, MethodTable, RpcContext } from '../../node/rpc/types.ts';
import { openWs as tryWs, rawPost } from '../helpers/wire.ts';

interface Services {
  greeting: string;
}

const closed: number[] = [];
const logged: { level: string; msg: string }[] = [];
const log: Logger = (level, msg) => logged.push({ level, msg });

const methods: MethodTable<Services> = {
  echo: { status: 'supported', disclosure: 'public', handler: (params) => params },
  greet: { status: 'supported', disclosure: 'public', handler: (_p, ctx) => ctx.services.greeting },
  slow: {
    status: 'supported',
    disclosure: 'public',
    handler: async (params) => {
      await new Promise((r) => setTimeout(r, Number(params[0])));
      return params[0];
    },
  },
  nothing: { status: 'supported', disclosure: 'public', handler: () => undefined },
  getBalance: { status: 'supported', disclosure: 'public', handler: (params) => param(params, 0, 'address', parseAddress) },
  badParams: {
    status: 'supported',
    disclosure: 'public',
    handler: () => {
      throw new InvalidParamsError('invalid argument 0 (address): hex string of 20 bytes expected');
    },
  },
  boom: {
    status: 'supported',
    disclosure: 'public',
    handler: async () => {
      throw new Error('database password is hunter2');
    },
  },
  revert: { status: 'supported', disclosure: 'public', handler: () => Promise.reject(new ExecutionRevertedError('0xdeadbeef', 'Unauthorized()')) },
  bigint: { status: 'supported', disclosure: 'public', handler: () => ({ value: 1n }) },
  gatedEcho: { status: 'gated', disclosure: 'public', handler: (params) => params[0] },
  eth_mining: { status: 'unsupported', disclosure: 'none' },
  subscribe: {
    status: 'supported',
    disclosure: 'public',
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

// ---- host limits and browser policy ----

/** Sends one request on an open WebSocket and waits for the answer with its id. */
function wsCall(ws: WebSocket, body: unknown): Promise<any> {
  return new Promise((resolve) => {
    const id = (body as { id: unknown }).id;
    const onMessage = (data: RawData) => {
      const m = JSON.parse(data.toString());
      if (m.id !== id) return;
      ws.off('message', onMessage);
      resolve(m);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify(body));
  });
}

const signing: MethodTable<Services> = {
  ...methods,
  sign: { status: 'supported', disclosure: 'caller', usesNodeKeys: true, handler: () => '0xsigned' },
};
const SIGN = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sign', params: [] });
const ECHO = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['read'] });
const KEYS_REFUSED = {
  code: 4100,
  message: 'sign signs with a key held by the node and is refused to web pages of other origins; pages may still read (trust an origin with --cors-origins)',
};

test('Host allowlist: foreign Host headers get 403 "invalid host specified" over HTTP and WebSocket', async () => {
  const bad = await rawPost(server.url, ECHO, { host: 'rebind.attacker.example' });
  assert.equal(bad.status, 403);
  assert.deepEqual(bad.json, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid host specified' } });
  assert.equal((await rawPost(server.url, ECHO, { host: `rebind.attacker.example:${server.port}` })).status, 403);
  for (const host of [`localhost:${server.port}`, 'LOCALHOST', `127.0.0.1:${server.port}`, `[::1]:${server.port}`]) {
    const ok = await rawPost(server.url, ECHO, { host });
    assert.equal(ok.status, 200, host);
    assert.deepEqual(ok.json.result, ['read'], host);
  }
  const ws = await tryWs(server.wsUrl, { host: 'rebind.attacker.example' });
  assert.equal(ws.status, 403);
  assert.deepEqual(ws.body.error, { code: -32600, message: 'invalid host specified' });
  assert.equal((await call('echo', ['still serving'])).json.result[0], 'still serving');
});

test('Host allowlist: --allowed-hosts adds names, * serves any', async () => {
  const named = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, allowedHosts: ['node.internal'] });
  const any = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, allowedHosts: ['*'] });
  try {
    assert.equal((await rawPost(named.url, ECHO, { host: 'node.internal:8545' })).status, 200);
    assert.equal((await rawPost(named.url, ECHO, { host: 'localhost' })).status, 200);
    assert.equal((await rawPost(named.url, ECHO, { host: 'other.internal' })).status, 403);
    assert.equal((await rawPost(any.url, ECHO, { host: 'rebind.attacker.example' })).status, 200);
  } finally {
    await named.close();
    await any.close();
  }
});

test('untrusted origins may read but not use node keys (HTTP): refused in the dispatcher', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods: signing, services: { greeting: 'x' }, log, allowedHosts: ['*'] });
  try {
    const evil = { origin: 'https://evil.example' };
    assert.deepEqual((await rawPost(local.url, ECHO, evil)).json.result, ['read']);
    assert.deepEqual((await rawPost(local.url, SIGN, evil)).json.error, KEYS_REFUSED);
    // A batch is judged per item.
    const batch = await rawPost(local.url, `[${ECHO},${SIGN}]`, evil);
    assert.deepEqual(batch.json[0].result, ['read']);
    assert.deepEqual(batch.json[1].error, KEYS_REFUSED);
    for (const origin of ['null', 'not a url', 'https://localhost.evil.example']) {
      assert.equal((await rawPost(local.url, SIGN, { origin })).json.error?.code, 4100, origin);
    }
    // Trusted: no Origin (curl, ethers in Node), a page served from a name on the host allowlist.
    assert.equal((await rawPost(local.url, SIGN)).json.result, '0xsigned');
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:5173', 'http://[::1]:8080']) {
      assert.equal((await rawPost(local.url, SIGN, { origin })).json.result, '0xsigned', origin);
    }
    // `*` in allowed hosts serves any Host but trusts no origin by it.
    assert.equal((await rawPost(local.url, SIGN, { origin: 'https://anything.example' })).json.error?.code, 4100);
  } finally {
    await local.close();
  }
});

test('untrusted origins may read but not use node keys (WebSocket): the upgrade Origin holds for the connection', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods: signing, services: { greeting: 'x' }, log });
  try {
    const evil = await tryWs(local.wsUrl, { origin: 'https://evil.example' });
    assert.ok(evil.ws, 'CORS * lets any page connect');
    assert.deepEqual((await wsCall(evil.ws, { jsonrpc: '2.0', id: 1, method: 'echo', params: ['read'] })).result, ['read']);
    assert.deepEqual((await wsCall(evil.ws, { jsonrpc: '2.0', id: 2, method: 'sign' })).error, KEYS_REFUSED);
    evil.ws.close();
    const dapp = await tryWs(local.wsUrl, { origin: 'http://localhost:3000' });
    assert.equal((await wsCall(dapp.ws!, { jsonrpc: '2.0', id: 1, method: 'sign' })).result, '0xsigned');
    dapp.ws!.close();
    const cli = await tryWs(local.wsUrl);
    assert.equal((await wsCall(cli.ws!, { jsonrpc: '2.0', id: 1, method: 'sign' })).result, '0xsigned');
    cli.ws!.close();
  } finally {
    await local.close();
  }
});

test('--cors-origins: listed origins read and use keys; others get no CORS header and no WebSocket', async () => {
  const app = 'https://app.example';
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods: signing, services: { greeting: 'x' }, log, corsOrigins: [app] });
  try {
    const listed = await rawPost(local.url, SIGN, { origin: app });
    assert.equal(listed.headers['access-control-allow-origin'], app);
    assert.equal(listed.headers.vary, 'origin');
    assert.equal(listed.json.result, '0xsigned');
    const other = await rawPost(local.url, ECHO, { origin: 'https://evil.example' });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal((await rawPost(local.url, SIGN, { origin: 'https://evil.example' })).json.error.code, 4100);
    assert.equal((await rawPost(local.url, ECHO, { origin: 'http://localhost:3000' })).headers['access-control-allow-origin'], 'http://localhost:3000');

    const refused = await tryWs(local.wsUrl, { origin: 'https://evil.example' });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body.error, { code: -32600, message: 'origin not allowed' });
    const ok = await tryWs(local.wsUrl, { origin: app });
    assert.equal((await wsCall(ok.ws!, { jsonrpc: '2.0', id: 1, method: 'sign' })).result, '0xsigned');
    ok.ws!.close();
  } finally {
    await local.close();
  }
});

test('WebSocket connection limit: further upgrades get 503, the node keeps serving', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, maxWsConnections: 2 });
  try {
    const a = await tryWs(local.wsUrl);
    const b = await tryWs(local.wsUrl);
    const c = await tryWs(local.wsUrl);
    assert.equal(c.status, 503);
    assert.deepEqual(c.body, { jsonrpc: '2.0', id: null, error: { code: -32005, message: 'too many WebSocket connections: at most 2' } });
    assert.deepEqual((await wsCall(a.ws!, { jsonrpc: '2.0', id: 1, method: 'echo', params: [1] })).result, [1]);
    assert.equal((await rawPost(local.url, ECHO)).status, 200, 'HTTP is not counted');
    const closedB = new Promise((r) => b.ws!.once('close', r));
    b.ws!.close();
    await closedB;
    let d: Awaited<ReturnType<typeof tryWs>> = {};
    for (let i = 0; i < 50 && !d.ws; i++) {
      d = await tryWs(local.wsUrl);
      if (!d.ws) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(d.ws, 'a slot frees when a connection closes');
    a.ws!.close();
    d.ws!.close();
  } finally {
    await local.close();
  }
});

/** Sends a batch on an open WebSocket and waits for its answer (the array that starts with its first id). */
function wsBatch(ws: WebSocket, batch: Record<string, unknown>[]): Promise<any[]> {
  return new Promise((resolve) => {
    const onMessage = (data: RawData) => {
      const m = JSON.parse(data.toString());
      if (!Array.isArray(m) || m[0]?.id !== batch[0]!.id) return;
      ws.off('message', onMessage);
      resolve(m);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify(batch));
  });
}

const slowItem = (id: number, ms = 300) => ({ jsonrpc: '2.0', id, method: 'slow', params: [ms] });

test('in-flight requests per WebSocket: a batch of N counts N; over the limit -32005 with the id, the connection keeps serving', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, maxWsInFlight: 3 });
  try {
    const { ws } = await tryWs(local.wsUrl);
    const slowBatch = wsBatch(ws!, [slowItem(1), slowItem(2)]);
    const slow3 = wsCall(ws!, slowItem(3));
    const over = await wsCall(ws!, { jsonrpc: '2.0', id: 4, method: 'echo' });
    const busy = { code: -32005, message: 'too many requests in flight on this connection: at most 3' };
    assert.deepEqual(over, { jsonrpc: '2.0', id: 4, error: busy });
    // Refused whole: each of its requests gets the error, notifications nothing.
    assert.deepEqual(await wsBatch(ws!, [{ jsonrpc: '2.0', id: 5, method: 'echo' }, { jsonrpc: '2.0', method: 'echo' }]), [{ jsonrpc: '2.0', id: 5, error: busy }]);
    assert.deepEqual((await slowBatch).map((a) => a.result), [300, 300]);
    assert.equal((await slow3).result, 300);
    // A batch larger than the limit never fits, even on an idle connection.
    const four = [6, 7, 8, 9].map((id) => ({ jsonrpc: '2.0', id, method: 'echo' }));
    assert.deepEqual((await wsBatch(ws!, four)).map((a) => a.error), [busy, busy, busy, busy]);
    // Three fit: the whole limit is free again.
    assert.deepEqual((await wsBatch(ws!, four.slice(0, 3))).map((a) => a.result), [[], [], []]);
    assert.deepEqual((await wsCall(ws!, { jsonrpc: '2.0', id: 10, method: 'echo', params: ['again'] })).result, ['again']);
    ws!.close();
  } finally {
    await local.close();
  }
});

test('in-flight requests on the node: HTTP and WebSocket share one limit, batch items counted; -32005 (HTTP 503) when full', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, maxRequestsInFlight: 4 });
  try {
    const busy = { code: -32005, message: 'too many requests in flight on this node: at most 4' };
    const { ws } = await tryWs(local.wsUrl);
    const httpBatch = rawPost(local.url, JSON.stringify([slowItem(1, 400), slowItem(2, 400), slowItem(3, 400)]));
    const wsSlow = wsCall(ws!, slowItem(4, 400));
    await untilRefused(local.url, JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'echo' }));
    // Full: four requests in flight over two transports.
    const overWs = await wsCall(ws!, { jsonrpc: '2.0', id: 5, method: 'echo' });
    assert.deepEqual(overWs, { jsonrpc: '2.0', id: 5, error: busy });
    const overHttp = await rawPost(local.url, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'echo' }));
    assert.equal(overHttp.status, 503);
    assert.deepEqual(overHttp.json, { jsonrpc: '2.0', id: 6, error: busy });
    const overBatch = await rawPost(local.url, JSON.stringify([{ jsonrpc: '2.0', id: 7, method: 'echo' }, { jsonrpc: '2.0', id: 8, method: 'echo' }]));
    assert.equal(overBatch.status, 503);
    assert.deepEqual(overBatch.json, [{ jsonrpc: '2.0', id: 7, error: busy }, { jsonrpc: '2.0', id: 8, error: busy }]);
    // A message that is not JSON runs nothing, so it is still answered.
    assert.equal((await rawPost(local.url, '{')).json.error.code, -32700);

    assert.deepEqual((await httpBatch).json.map((a: any) => a.result), [400, 400, 400]);
    assert.equal((await wsSlow).result, 400);
    // Freed: a batch of four fits again.
    const four = [1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', id, method: 'echo' }));
    const again = await rawPost(local.url, JSON.stringify(four));
    assert.equal(again.status, 200);
    assert.equal(again.json.length, 4);
    assert.deepEqual((await wsCall(ws!, { jsonrpc: '2.0', id: 9, method: 'echo', params: ['ws'] })).result, ['ws']);
    ws!.close();
  } finally {
    await local.close();
  }
});

/** Posts `body` until the node refuses it with 503 (the test has filled a limit by other means). */
async function untilRefused(url: string, body: string): Promise<void> {
  let status = 0;
  for (let i = 0; i < 100 && status !== 503; i++) {
    status = (await rawPost(url, body)).status;
    if (status !== 503) await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(status, 503, 'the limit was reached');
}

/** Opens a raw connection, sends a POST's headers and `first` bytes of its body; the rest is the caller's to send. */
async function startPost(port: number, headers: string, first: string): Promise<{ socket: Socket; answer: Promise<string> }> {
  const socket = netConnect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let text = '';
  socket.on('data', (d) => (text += d));
  socket.on('error', () => {});
  const answer = new Promise<string>((resolve) => {
    socket.on('data', () => {
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) resolve(text);
    });
    socket.on('close', () => resolve(text));
  });
  socket.write(`POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n${headers}\r\n${first}`);
  return { socket, answer };
}

test('request bytes buffered on the node: a body that does not fit gets 503 and -32005; room frees when a body is answered', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, maxBodyBytes: 6000, maxBufferedBytes: 10_000 });
  const busy = { code: -32005, message: 'too many request bytes buffered on this node: at most 10000' };
  const held: Socket[] = [];
  try {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['x'.repeat(5900)] });
    assert.ok(body.length <= 6000 && body.length > 5000);
    // An announced body is reserved whole, before its bytes arrive.
    const slow = await startPost(local.port, `content-length: ${body.length}\r\n`, body.slice(0, 10));
    held.push(slow.socket);
    await untilRefused(local.url, body);
    const refused = await rawPost(local.url, body);
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.json, { jsonrpc: '2.0', id: null, error: busy });
    // Smaller bodies still fit beside it.
    assert.deepEqual((await rawPost(local.url, ECHO)).json.result, ['read']);

    // A chunked body takes its share as it arrives: past the room left, 503.
    const chunked = await startPost(local.port, 'transfer-encoding: chunked\r\n', '');
    held.push(chunked.socket);
    const chunk = 'x'.repeat(3000);
    chunked.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    chunked.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const chunkedAnswer = await chunked.answer;
    assert.match(chunkedAnswer, /^HTTP\/1\.1 503 /);
    assert.ok(chunkedAnswer.includes(JSON.stringify(busy)), chunkedAnswer);

    // The held body completes and is answered; its room is free again.
    slow.socket.write(body.slice(10));
    assert.match(await slow.answer, /^HTTP\/1\.1 200 /);
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await rawPost(local.url, body)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(status, 200);
  } finally {
    for (const s of held) s.destroy();
    await local.close();
  }
});

test('request bytes buffered on the node: WebSocket messages count while answered, and a client that drops its body frees its share', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, maxBodyBytes: 6000, maxBufferedBytes: 10_000 });
  try {
    const busy = { code: -32005, message: 'too many request bytes buffered on this node: at most 10000' };
    const { ws } = await tryWs(local.wsUrl);
    const pad = 'x'.repeat(5000);
    const slow = wsCall(ws!, { jsonrpc: '2.0', id: 1, method: 'slow', params: [300, pad] });
    const over = await wsCall(ws!, { jsonrpc: '2.0', id: 2, method: 'slow', params: [1, pad] });
    assert.deepEqual(over, { jsonrpc: '2.0', id: 2, error: busy });
    assert.equal((await slow).result, 300);
    assert.equal((await wsCall(ws!, { jsonrpc: '2.0', id: 3, method: 'slow', params: [1, pad] })).result, 1);

    // A client that announces a body and goes away leaves nothing reserved.
    const gone = await startPost(local.port, 'content-length: 6000\r\n', '{');
    gone.socket.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await rawPost(local.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: [pad] }))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(status, 200);
    ws!.close();
  } finally {
    await local.close();
  }
});

test('a WebSocket client that does not read its answers is closed (1008 with a reason) once 64 MB are unsent; the node keeps serving', async () => {
  const big = 'y'.repeat(1024 * 1024);
  const local = await startRpcServer({
    host: '127.0.0.1',
    port: 0,
    methods: { ...methods, big: { status: 'supported', disclosure: 'public', handler: () => big } },
    services: { greeting: 'x' },
    log,
  });
  try {
    const { ws } = await tryWs(local.wsUrl);
    let answers = 0;
    ws!.on('message', () => answers++);
    const closed = new Promise<{ code: number; reason: string }>((r) => ws!.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws!.pause();
    const warned = () => logged.some((l) => l.msg === 'websocket client not reading, closing it');
    // 120 answers of 1 MB: more than 64 MB plus what the sockets' kernel buffers hold.
    for (let id = 0; id < 120 && !warned(); id++) {
      ws!.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'big' }));
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(warned, 'the node gave up on the client');
    ws!.resume();
    const { code, reason } = await closed;
    assert.equal(code, 1008);
    assert.equal(reason, 'not reading: over 67108864 bytes of answers unsent');
    assert.ok(answers >= 64 && answers < 120, `${answers} answers sent before closing`);
    await until(() => local.connections() === 0, 'connection gone');
    const other = await tryWs(local.wsUrl);
    assert.deepEqual((await wsCall(other.ws!, { jsonrpc: '2.0', id: 1, method: 'echo', params: ['ok'] })).result, ['ok']);
    other.ws!.close();
  } finally {
    await local.close();
  }
});

test('HTTP connection limit: requests on further connections get 503, the node keeps serving', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, maxHttpConnections: 2 });
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = netConnect(local.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 20));
    const refused = await rawPost(local.url, ECHO);
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.json.error, { code: -32005, message: 'too many HTTP connections: at most 2' });
    for (const s of held.splice(0)) s.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await rawPost(local.url, ECHO)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(status, 200);
  } finally {
    for (const s of held) s.destroy();
    await local.close();
  }
});

test('request timeout: a request that never completes gets 408 with a JSON-RPC error', async () => {
  const local = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: { greeting: 'x' }, log, requestTimeoutMs: 300 });
  try {
    const s = netConnect(local.port, '127.0.0.1');
    let answer = '';
    s.on('data', (d) => (answer += d));
    const ended = new Promise((r) => s.once('close', r));
    s.write('POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"jsonrpc"');
    await ended;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(body.error, { code: -32005, message: 'request timeout: a request must arrive whole within 300 ms' });
    assert.equal((await rawPost(local.url, ECHO)).status, 200);
  } finally {
    await local.close();
  }
});

test('oversized headers get 431; Expect: 100-continue with an oversized body gets 413 before the body is sent', async () => {
  const big = await new Promise<string>((resolve) => {
    const s = netConnect(server.port, '127.0.0.1');
    let answer = '';
    s.on('data', (d) => (answer += d));
    s.on('close', () => resolve(answer));
    s.write(`POST / HTTP/1.1\r\nhost: localhost\r\nx-pad: ${'a'.repeat(20_000)}\r\n\r\n`);
  });
  assert.match(big, /^HTTP\/1\.1 431 /);
  assert.match(big, /request headers too large: at most 16384 bytes/);

  const early = await new Promise<string>((resolve) => {
    const s = netConnect(server.port, '127.0.0.1');
    let answer = '';
    s.on('data', (d) => (answer += d));
    s.on('close', () => resolve(answer));
    s.write('POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nexpect: 100-continue\r\n\r\n');
  });
  assert.match(early, /^HTTP\/1\.1 413 /);
  assert.doesNotMatch(early, /100 Continue/);
  assert.match(early, /request body too large: at most 4096 bytes/);

  // A small body with Expect gets its 100 Continue and an answer.
  const small = await rawPost(server.url, ECHO, { expect: '100-continue' });
  assert.deepEqual(small.json.result, ['read']);
});

test('refuseMessage answers each request of a refused message with its id', () => {
  const err = new LimitExceededError('busy');
  assert.equal(refuseMessage({ id: 7, method: 'x' }, err), '{"jsonrpc":"2.0","id":7,"error":{"code":-32005,"message":"busy"}}');
  assert.equal(refuseMessage({ method: 'x' }, err), undefined, 'notification');
  assert.equal(
    refuseMessage([{ id: 'a', method: 'x' }, { method: 'y' }, 5], err),
    '[{"jsonrpc":"2.0","id":"a","error":{"code":-32005,"message":"busy"}},{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"busy"}}]',
  );
});

test('after a 413 the node drains a bounded amount, then closes the connection', async () => {
  const s = netConnect(server.port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  let answer = '';
  s.on('data', (d) => (answer += d));
  s.on('error', () => {});
  const closed = new Promise((r) => s.once('close', r));
  s.write('POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n');
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  let written = 0;
  let open = true;
  void closed.then(() => (open = false));
  while (open && written < 200 * chunk.length) {
    if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once('drain', r)), closed]);
    written += chunk.length;
  }
  await closed;
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /request body too large: at most 4096 bytes/);
  // 64 MB drained, plus what sat in socket buffers when the node closed.
  assert.ok(written < 100 * chunk.length, `the node read ${written} bytes before closing`);
  assert.equal((await call('echo', ['ok'])).json.result[0], 'ok');
});
