/**
 * Browser safety on a real node: DNS-rebinding requests (a foreign Host header) are
 * refused; pages of other origins may read but never make the node sign with its dev
 * keys, over HTTP and WebSocket; local pages and non-browser clients are unaffected.
 * Node's fetch forbids setting Host, so requests go through node:http.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WebSocket } from 'ws';
import { methods } from '../../node/rpc/methods/index.ts';
import { DEV_ADDRESS_0, ROOT, spawnNode, startTestNode, tempHome, type TestNode } from '../helpers/node.ts';
import { openWs, rawPost, type RawResponse } from '../helpers/wire.ts';

const DEV_ADDRESS_1 = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const EVIL = 'https://evil.example';
const TRANSFER = { from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, value: '0x1' };
const TYPED = {
  types: { EIP712Domain: [{ name: 'name', type: 'string' }], Mail: [{ name: 'contents', type: 'string' }] },
  primaryType: 'Mail',
  domain: { name: 'test' },
  message: { contents: 'hi' },
};
/** Every method that signs with a node key, with params it would accept from a trusted caller. */
const SIGNING_CALLS: Record<string, unknown[]> = {
  eth_sendTransaction: [TRANSFER],
  eth_sign: [DEV_ADDRESS_0, '0x1234'],
  personal_sign: ['0x1234', DEV_ADDRESS_0],
  eth_signTypedData_v4: [DEV_ADDRESS_0, TYPED],
  eth_signTransaction: [TRANSFER],
};

let node: TestNode;
before(async () => {
  node = await startTestNode();
});
after(() => node.stop());

let nextId = 1;

/** One JSON-RPC call through node:http with explicit headers. */
function post(url: string, method: string, params: unknown[], headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawPost(url, JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }), headers);
}

function wsCall(ws: WebSocket, method: string, params: unknown[]): Promise<any> {
  const id = nextId++;
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const m = JSON.parse(data.toString());
      if (m.id !== id) return;
      ws.off('message', onMessage);
      resolve(m);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

function assertKeysRefused(answer: any, method: string): void {
  // Unsupported ones (eth_signTransaction) are marked for the day they are offered.
  if (methods[method]!.status === 'unsupported') return assert.equal(answer.error?.code, -32004, method);
  assert.equal(answer.error?.code, 4100, `${method}: ${JSON.stringify(answer)}`);
  assert.equal(
    answer.error.message,
    `${method} signs with a key held by the node and is refused to web pages of other origins; pages may still read (trust an origin with --cors-origins)`,
  );
}

test('every method declares whether it uses node keys, and exactly the signing ones do', () => {
  const dir = path.join(ROOT, 'node/rpc/methods');
  for (const [name, entry] of Object.entries(methods)) {
    let source = '';
    try {
      source = readFileSync(path.join(dir, `${name}.ts`), 'utf8');
    } catch {
      // Unsupported methods live in the table itself.
    }
    // A handler that asks the enclave to sign must be marked; the mark must match the list.
    const signs = /type: '(sign|sendTransaction)'/.test(source);
    if (signs) assert.equal(entry.usesNodeKeys, true, `${name} signs but is not marked usesNodeKeys`);
    assert.equal(entry.usesNodeKeys === true, name in SIGNING_CALLS, `${name}: usesNodeKeys ${entry.usesNodeKeys}`);
  }
});

test('a DNS-rebinding request (foreign Host) is refused with 403 over HTTP and WebSocket; localhost is served', async () => {
  const refused = await post(node.url, 'eth_blockNumber', [], { host: 'rebind.attacker.example' });
  assert.equal(refused.status, 403);
  assert.deepEqual(refused.json, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid host specified' } });
  const send = await post(node.url, 'eth_sendTransaction', [TRANSFER], { host: `rebind.attacker.example:${node.port}` });
  assert.equal(send.status, 403);

  const ws = await openWs(node.wsUrl, { host: 'rebind.attacker.example' });
  assert.equal(ws.status, 403);
  assert.equal(ws.body.error.message, 'invalid host specified');

  for (const host of [`localhost:${node.port}`, `127.0.0.1:${node.port}`]) {
    const ok = await post(node.url, 'eth_blockNumber', [], { host });
    assert.equal(ok.status, 200, host);
    assert.match(ok.json.result, /^0x/, host);
  }
});

test('a page of another origin can read over HTTP but not use node keys', async () => {
  const origin = { origin: EVIL };
  const block = await post(node.url, 'eth_blockNumber', [], origin);
  assert.match(block.json.result, /^0x/);
  assert.equal(block.headers['access-control-allow-origin'], '*');
  const balance = await post(node.url, 'eth_getBalance', [DEV_ADDRESS_0, 'latest'], origin);
  assert.match(balance.json.result, /^0x[0-9a-f]+$/);
  for (const [method, params] of Object.entries(SIGNING_CALLS)) assertKeysRefused((await post(node.url, method, params, origin)).json, method);
  // Nothing was sent: dev account 0 still has nonce 0.
  assert.equal((await post(node.url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest'])).json.result, '0x0');
});

test('a WebSocket opened by a page of another origin can read but not use node keys', async () => {
  const { ws } = await openWs(node.wsUrl, { origin: EVIL });
  assert.ok(ws);
  assert.match((await wsCall(ws, 'eth_blockNumber', [])).result, /^0x/);
  assert.match((await wsCall(ws, 'eth_getBalance', [DEV_ADDRESS_0, 'latest'])).result, /^0x/);
  for (const [method, params] of Object.entries(SIGNING_CALLS)) assertKeysRefused(await wsCall(ws, method, params), method);
  ws.close();
});

test('no Origin (scripts, CLIs) and local pages may use node keys', async () => {
  const plain = await post(node.url, 'eth_sendTransaction', [TRANSFER]);
  assert.match(plain.json.result, /^0x[0-9a-f]{64}$/);
  const dapp = await post(node.url, 'personal_sign', ['0x1234', DEV_ADDRESS_0], { origin: 'http://localhost:3000' });
  assert.match(dapp.json.result, /^0x[0-9a-f]{130}$/);
  const { ws } = await openWs(node.wsUrl, { origin: 'http://127.0.0.1:5173' });
  assert.match((await wsCall(ws!, 'eth_sign', [DEV_ADDRESS_0, '0x1234'])).result, /^0x[0-9a-f]{130}$/);
  ws!.close();
});

test('startNode rpc options: --cors-origins trusts a listed origin, --allowed-hosts serves a name', async () => {
  const custom = await startTestNode({ rpc: { corsOrigins: ['https://app.example'], allowedHosts: ['node.internal'] } });
  try {
    const app = await post(custom.url, 'eth_sign', [DEV_ADDRESS_0, '0x1234'], { origin: 'https://app.example' });
    assert.equal(app.headers['access-control-allow-origin'], 'https://app.example');
    assert.match(app.json.result, /^0x[0-9a-f]{130}$/);
    const evil = await post(custom.url, 'eth_blockNumber', [], { origin: EVIL });
    assert.equal(evil.headers['access-control-allow-origin'], undefined, 'no CORS for unlisted origins');
    assert.equal((await openWs(custom.wsUrl, { origin: EVIL })).status, 403);
    assert.equal((await post(custom.url, 'eth_blockNumber', [], { host: 'node.internal:8545' })).status, 200);
  } finally {
    await custom.stop();
  }
});

test('the CLI takes the host limits and browser options from flags and the environment', async () => {
  const home = tempHome();
  const proc = await spawnNode(
    ['--data', home.dataDir, '--platform-secret-file', home.secretFile, '--allowed-hosts', 'node.internal,other.internal', '--max-batch-size', '2'],
    { CONCLAVE_CORS_ORIGINS: 'https://app.example' },
  );
  try {
    assert.equal((await post(proc.url, 'eth_blockNumber', [], { host: 'other.internal' })).status, 200);
    assert.equal((await post(proc.url, 'eth_blockNumber', [], { host: 'rebind.attacker.example' })).status, 403);
    assert.match((await post(proc.url, 'eth_sign', [DEV_ADDRESS_0, '0x12'], { origin: 'https://app.example' })).json.result, /^0x/);
    assert.equal((await post(proc.url, 'eth_sign', [DEV_ADDRESS_0, '0x12'], { origin: EVIL })).json.error.code, 4100);
    const batch = await fetch(proc.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'eth_chainId' }))),
    });
    assert.deepEqual((await batch.json() as any).error, { code: -32005, message: 'batch too large: at most 2 requests' });
  } finally {
    await proc.kill();
    home.cleanup();
  }
});
