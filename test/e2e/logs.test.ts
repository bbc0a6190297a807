/**
 * The node's logs, from `conclave start` as an operator runs it: the banner stays
 * human-readable, operational events are JSON lines at the chosen `--log-level`, and no
 * line ever holds a request's parameters, a credential or a raw transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import WebSocket from 'ws';
import { DEV_KEY_0, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

/** Found nowhere in the node's code: if it shows in the output, a request leaked into a log line. */
const MARK = 'zq7LogCanary9x';
const MARK_HEX = Buffer.from(MARK).toString('hex');
const TOKEN = 'tok_' + 'Q'.repeat(20) + MARK.toUpperCase();

interface LogLine {
  level: number;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line of the output that starts a JSON object, parsed (each must parse). */
function jsonLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const line = JSON.parse(l) as LogLine;
      assert.equal(typeof line.level, 'number', l);
      assert.equal(typeof line.msg, 'string', l);
      assert.ok(!Number.isNaN(Date.parse(line.time)), l);
      return line;
    });
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return res.status === 204 ? undefined : res.json();
}

const request = (method: string, params: unknown[], id: number | string = 1) => JSON.stringify({ jsonrpc: '2.0', id, method, params });

/** Over a WebSocket whose upgrade carries the token: one request, its answer. */
async function wsAsk(wsUrl: string, body: string): Promise<any> {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
  try {
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const answer = new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    ws.send(body);
    return await answer;
  } finally {
    ws.close();
  }
}

/** Requests that fail and succeed, each carrying MARK in its parameters or id, some with the token. */
async function exercise(node: NodeProcess): Promise<string> {
  const bearer = { authorization: `Bearer ${TOKEN}` };
  const base = node.url.replace(/\/$/, '');
  assert.equal((await post(node.url, request('eth_getBalance', [MARK, 'latest'], MARK), bearer)).error.code, -32602);
  assert.equal((await post(node.url, request(MARK, [MARK]), bearer)).error.code, -32601);
  assert.equal((await post(`${base}/s/${TOKEN}`, request('eth_call', [{ to: '0x' + '11'.repeat(20), data: '0x' + MARK_HEX }, MARK]))).error.code, -32602);
  assert.equal((await post(node.url, `{"jsonrpc":"2.0","id":1,"method":"${MARK}"`, bearer)).error.code, -32700);
  const batch = await post(node.url, `[${request('eth_blockNumber', [])},${request('eth_getCode', [MARK])}]`, bearer);
  assert.equal(batch[1].error.code, -32602);
  assert.equal((await post(node.url, request('eth_sendRawTransaction', ['0x' + MARK_HEX]), bearer)).error.code, -32000);
  // A transaction that is mined: its signed bytes carry MARK in their data.
  const raw = await new Wallet(DEV_KEY_0).signTransaction({
    type: 2,
    chainId: 31337,
    nonce: 0,
    to: '0x' + '22'.repeat(20),
    value: 1n,
    data: '0x' + MARK_HEX,
    gasLimit: 100_000n,
    maxFeePerGas: 10n ** 10n,
    maxPriorityFeePerGas: 1n,
  });
  const sent = await post(node.url, request('eth_sendRawTransaction', [raw]), bearer);
  assert.match(sent.result, /^0x[0-9a-f]{64}$/, JSON.stringify(sent));
  assert.equal((await wsAsk(node.wsUrl, request('eth_getBalance', [MARK]))).error.code, -32602);
  assert.match((await wsAsk(node.wsUrl, request('eth_chainId', []))).result, /^0x/);
  return raw;
}

/** Nothing a client sent, and no credential, appears anywhere in the output. */
function assertNothingLeaked(output: string, raw: string): void {
  const lower = output.toLowerCase();
  for (const secret of [MARK, MARK_HEX, TOKEN, raw.slice(2)]) {
    assert.ok(!lower.includes(secret.toLowerCase()), `the output holds ${secret.slice(0, 24)}…:\n${output}`);
  }
  assert.doesNotMatch(output, /\/s\//, 'a session path in the output');
}

/** Starts a node with `args` and `env`, exercises it, stops it: its output, and the raw transaction it mined. */
async function exercisedNode(args: string[], env: Record<string, string> = {}): Promise<{ output: string; raw: string }> {
  const home = tempHome();
  const node = await spawnNode(['--data', home.dataDir, '--platform-secret-file', home.secretFile, ...args], env);
  let raw: string;
  try {
    raw = await exercise(node);
  } finally {
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
    home.cleanup();
  }
  return { output: node.output(), raw };
}

test('--log-level debug: failed requests are JSON lines with method, code and duration; parameters, tokens and raw transactions never', { timeout: 120_000 }, async () => {
  const { output, raw } = await exercisedNode(['--log-level', 'debug']);
  // The banner stays plain text, as tests and people read it.
  assert.match(output, /^Listening on http:\/\/127\.0\.0\.1:\d+\/ \(HTTP\) and ws:\/\/127\.0\.0\.1:\d+\/ \(WebSocket\)$/m);
  assert.match(output, /^Available Accounts$/m);
  assertNothingLeaked(output, raw);

  const lines = jsonLines(output);
  const started = lines.find((l) => l.msg === 'node started');
  assert.ok(started, output);
  assert.equal(started.level, 30);
  assert.equal(started.chainId, 31337);
  const failed = lines.filter((l) => l.msg === 'request failed');
  for (const l of failed) {
    assert.equal(l.level, 20);
    assert.equal(typeof l.durationMs, 'number');
    assert.deepEqual(Object.keys(l).sort(), ['code', 'durationMs', 'hostname', 'level', 'method', 'msg', 'pid', 'time']);
  }
  const seen = failed.map((l) => `${l.method} ${l.code}`);
  for (const expected of ['eth_getBalance -32602', 'other -32601', 'eth_call -32602', 'eth_getCode -32602', 'eth_sendRawTransaction -32000']) {
    assert.ok(seen.includes(expected), `no "request failed" line for ${expected}: ${seen.join(', ')}`);
  }
  // The WebSocket's failed request too (a second eth_getBalance line).
  assert.equal(seen.filter((s) => s === 'eth_getBalance -32602').length, 2, seen.join(', '));
  assert.ok(lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'), output);
});

test('--log-level error writes no info or debug line; the banner is still printed', { timeout: 120_000 }, async () => {
  const { output, raw } = await exercisedNode([], { CONCLAVE_LOG_LEVEL: 'error' });
  assert.match(output, /^Listening on /m);
  assertNothingLeaked(output, raw);
  assert.deepEqual(
    jsonLines(output).filter((l) => l.level < 50),
    [],
  );
});

test('an unknown --log-level is refused, naming the choices', async () => {
  await assert.rejects(
    spawnNode(['--log-level', 'loud']),
    /node exited with 1 before listening:\n.*'--log-level <level>' argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent/s,
  );
});
