/**
 * Operator endpoints against a real node: GET /health, /ready and /metrics (Prometheus
 * text), behind the same Host allowlist as JSON-RPC.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { JsonRpcProvider, Wallet } from 'ethers';
import { DEV_KEY_0, DEV_KEY_1, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** A GET with the Host header given (fetch cannot set it). */
function get(url: string, path: string, host?: string): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"';
const VALUE = '(?:[-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf)';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?[0-9]+)?$`);
const COMMENT = new RegExp(`^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`);

/** Checks every line against the text exposition format; answers the samples, `name{labels}` → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      assert.match(line, COMMENT);
      continue;
    }
    assert.match(line, SAMPLE);
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const value = (s: Map<string, number>, key: string) => s.get(key) ?? 0;

async function scrape(node: TestNode): Promise<Map<string, number>> {
  const r = await get(node.url, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.body);
}

describe('operator endpoints', () => {
  let node: TestNode;

  before(async () => {
    node = await startTestNode({ rpc: { maxBatchSize: 2 } });
  });
  after(() => node.stop());

  test('/health answers 200 {"status":"ok"}', async () => {
    const r = await get(node.url, '/health');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
  });

  test('/ready answers 200 once started', async () => {
    const r = await get(node.url, '/ready?probe=1');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ready' });
  });

  test('other GET paths keep the status answer; POST on the operator paths is JSON-RPC', async () => {
    for (const path of ['/', '/s/abc', '/healthz']) {
      const r = await get(node.url, path);
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).jsonrpc, '2.0');
    }
    for (const path of ['health', 'ready', 'metrics']) {
      assert.equal((await rpc(node.url + path, 'eth_chainId')).result, '0x7a69');
    }
  });

  test('a foreign Host header gets 403 on the operator paths', async () => {
    for (const path of ['/health', '/ready', '/metrics']) {
      const r = await get(node.url, path, 'evil.example');
      assert.equal(r.status, 403, path);
      assert.equal(JSON.parse(r.body).error.message, 'invalid host specified');
    }
  });

  test('/metrics parses as Prometheus text, and its counters move with use', async () => {
    const before = await scrape(node);
    for (const name of [
      'conclave_blocks_announced_total',
      'conclave_head_block_number',
      'conclave_transactions_submitted_total',
      'conclave_transactions_refused_total',
      'conclave_ordering_entries_skipped_total',
      'conclave_limits_hit_total',
      'conclave_http_connections',
      'conclave_ws_connections',
      'conclave_pool_pending_transactions',
      'conclave_ledger_bytes',
      'conclave_cut_clock_drift_seconds',
      'process_cpu_user_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(before.has(name), `${name} missing`);
    }
    assert.ok(value(before, 'conclave_http_connections') >= 1);
    assert.ok(value(before, 'conclave_ledger_bytes') > 0, 'the ledger has a size');

    const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20, batchMaxCount: 1 });
    const wallet = new Wallet(DEV_KEY_0, provider);
    const to = new Wallet(DEV_KEY_1).address;
    for (let i = 0; i < 2; i++) await (await wallet.sendTransaction({ to, value: 1n })).wait();
    const refused = await rpc(node.url, 'eth_sendRawTransaction', ['0x1234']);
    assert.ok(refused.error);
    assert.equal((await rpc(node.url, 'no_suchMethod')).error?.code, -32601);
    // A batch over the limit of 2: -32005.
    const res = await fetch(node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'eth_chainId' }))),
    });
    assert.equal((await res.json()).error.code, -32005);
    const head = Number((await rpc(node.url, 'eth_blockNumber')).result);

    const now = await scrape(node);
    const moved = (key: string) => value(now, key) - value(before, key);
    assert.equal(moved('conclave_transactions_submitted_total'), 2);
    assert.equal(moved('conclave_transactions_refused_total'), 1);
    assert.ok(moved('conclave_blocks_announced_total') >= 2);
    assert.equal(value(now, 'conclave_head_block_number'), head);
    assert.equal(value(now, 'conclave_pool_pending_transactions'), 0, 'every transaction is in a block');
    assert.ok(Math.abs(value(now, 'conclave_cut_clock_drift_seconds')) < 15, 'the embedded log keeps the wall clock');
    assert.equal(moved('conclave_limits_hit_total'), 1);
    assert.equal(moved('conclave_rpc_requests_total{method="eth_sendRawTransaction",code="ok"}'), 2);
    assert.equal(moved(`conclave_rpc_requests_total{method="eth_sendRawTransaction",code="${refused.error!.code}"}`), 1);
    assert.equal(moved('conclave_rpc_requests_total{method="other",code="-32601"}'), 1);
    assert.ok(moved('conclave_rpc_request_duration_seconds_count{method="eth_blockNumber"}') >= 1);
    assert.ok(value(now, 'conclave_rpc_request_duration_seconds_bucket{le="+Inf",method="eth_blockNumber"}') >= 1);
    // Labels name methods and codes only: no parameters, no addresses.
    const text = (await get(node.url, '/metrics')).body;
    assert.ok(!text.toLowerCase().includes(to.slice(2).toLowerCase()));
    assert.ok(!text.includes('no_suchMethod'));
  });
});

describe('/ready after the node stops', () => {
  test('answers 503 once closing, while the listener still serves', async () => {
    const node = await startTestNode();
    const closing = node.close();
    const r = await get(node.url, '/ready').catch(() => undefined);
    // The listener may already be gone; if it still answers, it must not say ready.
    if (r) assert.equal(r.status, 503);
    await closing;
    await node.stop();
  });
});
