/**
 * Malformed requests, one table, over HTTP and WebSocket: each gets its exact JSON-RPC
 * error (or HTTP status for refusals at the transport), and each is followed by a
 * request that must succeed on the same node (and, over WebSocket, the same connection).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { WebSocket } from 'ws';
import { startTestNode, DEV_ADDRESS_0, type TestNode } from '../helpers/node.ts';

const ADDR = DEV_ADDRESS_0;
const HASH = '0x' + 'ab'.repeat(32);
const TOPIC = '0x' + '11'.repeat(32);

interface Case {
  name: string;
  /** Sent as is if a string, else JSON-encoded. */
  body: unknown;
  /** The whole answer, or `none` for notifications (no answer at all). */
  answer: unknown;
  /** HTTP status when not 200. */
  status?: number;
  /** Only over this transport (the default is both). */
  only?: 'http' | 'ws';
}

const req = (method: string, params?: unknown, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
const err = (code: number, message: string, id: unknown = 1) => ({ jsonrpc: '2.0', id, error: { code, message } });
const bad = (message: string, id: unknown = 1) => err(-32602, message, id);

const CASES: Case[] = [
  // Parse errors and invalid request objects.
  { name: 'truncated JSON', body: '{"jsonrpc":"2.0","id":1,"method":', answer: err(-32700, 'parse error', null) },
  { name: 'not JSON', body: 'hello', answer: err(-32700, 'parse error', null) },
  { name: 'empty body', body: '', answer: err(-32700, 'parse error', null) },
  { name: 'a number', body: '42', answer: err(-32600, 'invalid request', null) },
  { name: 'null', body: 'null', answer: err(-32600, 'invalid request', null) },
  { name: 'wrong jsonrpc version', body: { jsonrpc: '1.0', id: 1, method: 'eth_blockNumber' }, answer: err(-32600, 'invalid request: jsonrpc must be "2.0"') },
  { name: 'missing method', body: { jsonrpc: '2.0', id: 1 }, answer: err(-32600, 'invalid request: method must be a string') },
  { name: 'method not a string', body: { jsonrpc: '2.0', id: 1, method: 7 }, answer: err(-32600, 'invalid request: method must be a string') },
  { name: 'id an object', body: { jsonrpc: '2.0', id: { a: 1 }, method: 'eth_blockNumber' }, answer: err(-32600, 'invalid request: id must be a string, number or null', null) },
  { name: 'id an array', body: { jsonrpc: '2.0', id: [1], method: 'eth_blockNumber' }, answer: err(-32600, 'invalid request: id must be a string, number or null', null) },
  { name: 'params an object', body: req('eth_blockNumber', { a: 1 }), answer: bad('invalid params: array expected') },
  // Methods.
  { name: 'unknown method', body: req('eth_foo', []), answer: err(-32601, 'the method eth_foo does not exist/is not available') },
  { name: 'prototype name as method', body: req('__proto__', []), answer: err(-32601, 'the method __proto__ does not exist/is not available') },
  { name: 'unsupported method', body: req('eth_getProof', []), answer: err(-32004, 'the method eth_getProof is not supported') },
  // Wrong param types and values.
  { name: 'missing address', body: req('eth_getBalance', []), answer: bad('missing value for required argument 0 (address)') },
  { name: 'short address', body: req('eth_getBalance', ['0x12', 'latest']), answer: bad('invalid argument 0 (address): hex string of 20 bytes expected') },
  { name: 'address as a number', body: req('eth_getBalance', [1234, 'latest']), answer: bad('invalid argument 0 (address): hex string of 20 bytes expected') },
  { name: 'short hash', body: req('eth_getTransactionByHash', ['0xabcd']), answer: bad('invalid argument 0 (hash): hex string of 32 bytes expected') },
  { name: 'odd-length data', body: req('eth_call', [{ to: ADDR, data: '0x123' }, 'latest']), answer: bad('invalid argument 0 (transaction).data: hex string with 0x prefix and even length expected') },
  { name: 'non-hex data', body: req('eth_sendRawTransaction', ['0xzz']), answer: bad('invalid argument 0 (transaction): hex string with 0x prefix and even length expected') },
  { name: 'empty raw transaction', body: req('eth_sendRawTransaction', ['0x']), answer: bad('invalid argument 0 (transaction): empty transaction bytes') },
  { name: 'hydrated not a boolean', body: req('eth_getBlockByNumber', ['latest', 'yes']), answer: bad('invalid argument 1 (hydrated): boolean expected') },
  { name: 'unknown block tag', body: req('eth_getBlockByNumber', ['newest', false]), answer: bad('invalid argument 0 (block): block number or tag (latest, earliest, pending, safe, finalized) expected') },
  // Quantities: leading zeros, empty, too wide.
  { name: 'block 0x01', body: req('eth_getBlockByNumber', ['0x01', false]), answer: bad('invalid argument 0 (block): hex number with leading zero digits') },
  { name: 'block 0x00', body: req('eth_getBalance', [ADDR, '0x00']), answer: bad('invalid argument 1 (block): hex number with leading zero digits') },
  { name: 'block 0x', body: req('eth_getBlockByNumber', ['0x', false]), answer: bad('invalid argument 0 (block): hex string "0x" has no digits') },
  { name: 'block over 64 bits', body: req('eth_getBlockByNumber', ['0x10000000000000000', false]), answer: bad('invalid argument 0 (block): hex number > 64 bits') },
  { name: 'EIP-1898 block number with leading zero', body: req('eth_getCode', [ADDR, { blockNumber: '0x01' }]), answer: bad('invalid argument 1 (block).blockNumber: hex number with leading zero digits') },
  { name: 'gas with leading zero', body: req('eth_call', [{ to: ADDR, gas: '0x05208' }, 'latest']), answer: bad('invalid argument 0 (transaction).gas: hex number with leading zero digits') },
  { name: 'value over 256 bits', body: req('eth_estimateGas', [{ to: ADDR, value: '0x1' + '0'.repeat(64) }]), answer: bad('invalid argument 0 (transaction).value: hex number > 256 bits') },
  { name: 'index over 64 bits', body: req('eth_getTransactionByBlockNumberAndIndex', ['latest', '0x1' + '0'.repeat(16)]), answer: bad('invalid argument 1 (index): hex number > 64 bits') },
  { name: 'fee history count with leading zero', body: req('eth_feeHistory', ['0x01', 'latest', []]), answer: bad('invalid argument 0 (blockCount): hex number with leading zero digits') },
  { name: 'storage slot over 32 bytes', body: req('eth_getStorageAt', [ADDR, '0x' + '0'.repeat(66), 'latest']), answer: bad('invalid argument 1 (slot): hex string of at most 32 bytes expected') },
  // Filters.
  { name: 'inverted block range', body: req('eth_getLogs', [{ fromBlock: '0x5', toBlock: '0x2' }]), answer: bad('invalid argument 0 (filter): invalid block range params: fromBlock 0x5 is after toBlock 0x2') },
  { name: 'too many topics', body: req('eth_getLogs', [{ topics: [TOPIC, TOPIC, TOPIC, TOPIC, TOPIC] }]), answer: bad('invalid argument 0 (filter).topics: at most 4 topics allowed') },
  { name: 'blockHash with fromBlock', body: req('eth_getLogs', [{ blockHash: HASH, fromBlock: '0x0' }]), answer: bad('invalid argument 0 (filter): cannot specify both blockHash and fromBlock/toBlock, choose one or the other') },
  { name: 'bad address in a filter', body: req('eth_getLogs', [{ address: [ADDR, '0x1'] }]), answer: bad('invalid argument 0 (filter).address[1]: hex string of 20 bytes expected') },
  { name: 'bad topic', body: req('eth_getLogs', [{ topics: [[TOPIC, '0x12']] }]), answer: bad('invalid argument 0 (filter).topics[0][1]: hex string of 32 bytes expected') },
  // Overrides, refused until applied.
  { name: 'eth_call state overrides', body: req('eth_call', [{ to: ADDR }, 'latest', { [ADDR]: { balance: '0x1' } }]), answer: bad('invalid argument 2 (state overrides): state overrides are not supported yet') },
  { name: 'eth_call block overrides', body: req('eth_call', [{ to: ADDR }, 'latest', {}, { number: '0x1' }]), answer: bad('invalid argument 3 (block overrides): block overrides are not supported yet') },
  { name: 'eth_estimateGas state overrides', body: req('eth_estimateGas', [{ to: ADDR }, 'latest', { [ADDR]: { code: '0x00' } }]), answer: bad('invalid argument 2 (state overrides): state overrides are not supported yet') },
  { name: 'state overrides not an object', body: req('eth_call', [{ to: ADDR }, 'latest', 'x']), answer: bad('invalid argument 2 (state overrides): object expected') },
  // Batches and notifications.
  { name: 'empty batch', body: [], answer: err(-32600, 'empty batch', null) },
  {
    name: 'oversized batch',
    body: Array.from({ length: 1001 }, (_, i) => req('eth_blockNumber', [], i)),
    answer: err(-32005, 'batch too large: at most 1000 requests', null),
  },
  { name: 'batch of non-objects', body: [1, 'x'], answer: [err(-32600, 'invalid request', null), err(-32600, 'invalid request', null)] },
  {
    name: 'batch mixing good, bad and notifications',
    body: [req('eth_chainId', [], 1), { jsonrpc: '2.0', method: 'eth_foo' }, req('eth_getBlockByNumber', ['0x01', false], 2)],
    answer: [{ jsonrpc: '2.0', id: 1, result: '0x7a69' }, bad('invalid argument 0 (block): hex number with leading zero digits', 2)],
  },
  { name: 'notification of an unknown method', body: { jsonrpc: '2.0', method: 'eth_foo' }, answer: 'none', status: 204 },
  { name: 'notification with bad params', body: { jsonrpc: '2.0', method: 'eth_getBalance', params: ['0x1'] }, answer: 'none', status: 204 },
];

let node: TestNode;
let ws: WebSocket;
const inbox: unknown[] = [];
const waiting: ((m: unknown) => void)[] = [];

before(async () => {
  node = await startTestNode();
  ws = await openWs(node.wsUrl);
});
after(async () => {
  ws.close();
  await node.stop();
});

function openWs(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  socket.on('message', (data) => {
    const m = JSON.parse(data.toString());
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function nextWsMessage(): Promise<unknown> {
  return inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiting.push(r));
}

const encode = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));

async function httpSend(body: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  return { status: res.status, json: text === '' ? 'none' : JSON.parse(text) };
}

/** The request that must succeed after each malformed one. */
const PROBE = { jsonrpc: '2.0', id: 'probe', method: 'eth_blockNumber', params: [] };

function assertProbe(answer: any, where: string): void {
  assert.equal(answer?.id, 'probe', where);
  assert.match(answer?.result ?? '', /^0x[0-9a-f]+$/, where);
}

test(`the table has at least 30 malformed requests`, () => {
  assert.ok(CASES.length >= 30, `${CASES.length} cases`);
});

test('each malformed request over HTTP gets its exact answer, then the node serves', async () => {
  for (const c of CASES) {
    if (c.only === 'ws') continue;
    const r = await httpSend(encode(c.body));
    assert.equal(r.status, c.status ?? 200, c.name);
    assert.deepEqual(r.json, c.answer, c.name);
    const probe = await httpSend(JSON.stringify(PROBE));
    assertProbe(probe.json, `after ${c.name}`);
  }
});

test('each malformed request over WebSocket gets its exact answer, then the same connection serves', async () => {
  for (const c of CASES) {
    if (c.only === 'http') continue;
    ws.send(encode(c.body));
    // A notification has no answer: the next message must be the probe's.
    if (c.answer !== 'none') assert.deepEqual(await nextWsMessage(), c.answer, c.name);
    ws.send(JSON.stringify(PROBE));
    assertProbe(await nextWsMessage(), `after ${c.name}`);
  }
});

test('a 30 MB body gets HTTP 413 with a JSON-RPC error (fetch and node:http), then the node serves', async () => {
  const huge = JSON.stringify(req('eth_getBalance', ['x'.repeat(30 * 1024 * 1024), 'latest']));
  const expected = err(-32005, 'request body too large: at most 10485760 bytes', null);
  assert.deepEqual(await httpSend(huge), { status: 413, json: expected });

  const viaHttp = await new Promise<{ status: number; json: unknown }>((resolve, reject) => {
    const r = httpRequest(node.url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(huge) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    // The node answers before the whole body is sent; the rest of the upload may fail.
    r.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    r.end(huge);
  });
  assert.deepEqual(viaHttp, { status: 413, json: expected });
  assertProbe((await httpSend(JSON.stringify(PROBE))).json, 'after 30 MB');
});

test('a WebSocket message over the body limit closes that connection (1009); a new one serves', async () => {
  const socket = new WebSocket(node.wsUrl);
  await new Promise((r) => socket.once('open', r));
  const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
  socket.send(JSON.stringify(req('eth_getBalance', ['x'.repeat(11 * 1024 * 1024), 'latest'])));
  assert.equal(await closed, 1009);
  const fresh = new WebSocket(node.wsUrl);
  await new Promise((r) => fresh.once('open', r));
  const answer = new Promise<unknown>((r) => fresh.once('message', (d) => r(JSON.parse(d.toString()))));
  fresh.send(JSON.stringify(PROBE));
  assertProbe(await answer, 'new connection');
  fresh.close();
});
