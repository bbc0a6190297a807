/**
 * The host's side of credentials (node/rpc/credentials.ts): where a request's token is
 * found, how URLs are redacted, and, over a real listener, that every HTTP request and
 * every WebSocket connection hands its credential to the handlers as `ctx.caller`
 * while no log line names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { UnauthorizedError } from '../../node/rpc/errors.ts';
import { credentialOf, redactUrl } from '../../node/rpc/credentials.ts';
import { startRpcServer } from '../../node/rpc/server.ts';
import type { Logger, MethodTable } from '../../node/rpc/types.ts';
import { openWs, rawPost } from '../helpers/wire.ts';

const TOKEN = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
const text = (b: Uint8Array) => new TextDecoder().decode(b);

test('credentialOf: no credential, a Bearer header, a session path', () => {
  const none = credentialOf({ headers: {}, url: '/' });
  assert.equal(none.credential.length, 0);
  assert.equal(none.path, '/');
  assert.equal(credentialOf({ headers: {} }).path, '/');

  for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer  ${TOKEN} `]) {
    const c = credentialOf({ headers: { authorization }, url: '/' });
    assert.equal(text(c.credential), TOKEN, authorization);
    assert.equal(c.path, '/');
  }
  for (const url of [`/s/${TOKEN}`, `/s/${TOKEN}/`, `/s/${TOKEN}?x=1`, `/s/${TOKEN}/?x=1`, `/s/${TOKEN}#f`]) {
    const c = credentialOf({ headers: {}, url });
    assert.equal(text(c.credential), TOKEN, url);
    assert.equal(c.path, '/', url);
  }
});

test('credentialOf: other schemes and other paths carry no credential', () => {
  for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Token abc']) {
    assert.equal(credentialOf({ headers: { authorization }, url: '/' }).credential.length, 0, authorization);
  }
  for (const [url, path] of [
    ['/rpc', '/rpc'],
    ['/rpc?x=1', '/rpc'],
    ['/s/', '/s/'],
    ['/s', '/s'],
    [`/s/${TOKEN}/more`, `/s/${TOKEN}/more`],
    [`/x/s/${TOKEN}`, `/x/s/${TOKEN}`],
  ]) {
    const c = credentialOf({ headers: {}, url });
    assert.equal(c.credential.length, 0, url);
    assert.equal(c.path, path);
  }
});

test('credentialOf: the same token twice is one credential; two different ones are refused', () => {
  assert.equal(text(credentialOf({ headers: { authorization: `Bearer ${TOKEN}` }, url: `/s/${TOKEN}` }).credential), TOKEN);
  assert.throws(
    () => credentialOf({ headers: { authorization: 'Bearer other' }, url: `/s/${TOKEN}` }),
    (err: unknown) => err instanceof UnauthorizedError && err.code === 4100 && /two different credentials/.test(err.message) && !err.message.includes(TOKEN),
  );
});

test('redactUrl: tokens in paths and absolute URLs are replaced', () => {
  assert.equal(redactUrl(`/s/${TOKEN}`), '/s/<redacted>');
  assert.equal(redactUrl(`/s/${TOKEN}/?a=1`), '/s/<redacted>/?a=1');
  assert.equal(redactUrl(`http://127.0.0.1:8545/s/${TOKEN}`), 'http://127.0.0.1:8545/s/<redacted>');
  assert.equal(redactUrl(`ws://node:8546/s/${TOKEN} and http://x/s/${TOKEN}#y`), 'ws://node:8546/s/<redacted> and http://x/s/<redacted>#y');
  assert.equal(redactUrl('http://127.0.0.1:8545/'), 'http://127.0.0.1:8545/');
});

test('server: HTTP requests and WebSocket connections hand their credential to handlers; logs never name it', async () => {
  const lines: string[] = [];
  const log: Logger = (level, msg, extra) => lines.push(`${level} ${msg} ${JSON.stringify(extra ?? {})}`);
  const methods: MethodTable = {
    whoami: { status: 'supported', disclosure: 'caller', handler: (_p, ctx) => (ctx.caller && ctx.caller.length > 0 ? text(ctx.caller) : null) },
    fail: {
      status: 'supported',
      disclosure: 'public',
      handler: () => {
        throw new Error('boom');
      },
    },
  };
  const server = await startRpcServer({ host: '127.0.0.1', port: 0, methods, services: {}, log });
  try {
    const base = server.url.replace(/\/$/, '');
    const ask = async (path: string, headers: Record<string, string> = {}) =>
      (await rawPost(base + path, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'whoami' }), headers)).json.result;
    assert.equal(await ask('/'), null);
    assert.equal(await ask('/', { authorization: `Bearer ${TOKEN}` }), TOKEN);
    assert.equal(await ask(`/s/${TOKEN}`), TOKEN);
    assert.equal(await ask(`/s/${TOKEN}/`), TOKEN);
    assert.equal(await ask('/other'), null, 'other paths are served as before, anonymously');
    // Anonymous requests after one with a credential stay anonymous (no shared context altered).
    assert.equal(await ask('/'), null);
    const both = await rawPost(`${base}/s/${TOKEN}`, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'whoami' }), { authorization: 'Bearer other' });
    assert.equal(both.status, 400);
    assert.equal(both.json.error.code, 4100);
    // An internal error with a credential is logged without it.
    const failed = await rawPost(`${base}/s/${TOKEN}`, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'fail' }));
    assert.equal(failed.json.error.code, -32603);

    const wsBase = server.wsUrl.replace(/\/$/, '');
    const sockets: WebSocket[] = [];
    const wsAsk = async (path: string, headers: Record<string, string> = {}) => {
      const { ws } = await openWs(wsBase + path, headers);
      assert.ok(ws, path);
      sockets.push(ws);
      const answer = new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'whoami' }));
      return (await answer).result;
    };
    assert.equal(await wsAsk(`/s/${TOKEN}`), TOKEN);
    assert.equal(await wsAsk('/', { authorization: `Bearer ${TOKEN}` }), TOKEN);
    assert.equal(await wsAsk('/'), null);
    const refused = await openWs(`${wsBase}/s/${TOKEN}`, { authorization: 'Bearer other' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 4100);
    for (const ws of sockets) ws.close();
  } finally {
    await server.close();
  }
  assert.ok(lines.some((l) => l.includes('internal error')), 'the failure was logged');
  for (const line of lines) assert.ok(!line.includes(TOKEN), `a log line names the token: ${line}`);
});
