/**
 * Replay and bounds of sessions over the real server: a used or expired nonce, an
 * expired token, a token or message of one node (chain id, domain) taken to another,
 * and a flood of nonces.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import http from 'node:http';
import { JsonRpcProvider, Wallet } from 'ethers';
import { WebSocket } from 'ws';
import { createSiweMessage } from 'viem/siwe';
import { mined } from '../helpers/mined.ts';
import { DEV_KEY_0, startTestNode, type TestNode } from '../helpers/node.ts';

type Answer = { result?: any; error?: { code: number; message: string } };

let a: TestNode;
let b: TestNode;
const wallet = new Wallet(DEV_KEY_0);

async function rpc(node: TestNode, body: unknown, token?: string): Promise<any> {
  const res = await fetch(token ? `${node.url}s/${token}` : node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return res.json();
}

const call = (node: TestNode, method: string, params: unknown[], token?: string): Promise<Answer> =>
  rpc(node, { jsonrpc: '2.0', id: 1, method, params }, token);

async function message(node: TestNode, opts: { chainId?: number; domain?: string; nonce?: string; expirationTime?: Date } = {}) {
  const nonce = opts.nonce ?? (await call(node, 'conclave_nonce', [])).result;
  return createSiweMessage({
    domain: opts.domain ?? new URL(node.url).host,
    address: wallet.address as `0x${string}`,
    uri: node.url,
    version: '1',
    chainId: opts.chainId ?? Number(node.chainId),
    nonce,
    ...(opts.expirationTime ? { expirationTime: opts.expirationTime } : {}),
  });
}

async function login(node: TestNode, text: string): Promise<Answer> {
  return call(node, 'conclave_login', [text, await wallet.signMessage(text)]);
}

before(async () => {
  a = await startTestNode({ chainId: 31337n });
  b = await startTestNode({ chainId: 31338n });
});

after(async () => {
  await a?.stop();
  await b?.stop();
});

test('a signed message logs in once: replayed, its nonce is used', async () => {
  const text = await message(a);
  const signature = await wallet.signMessage(text);
  const first = await call(a, 'conclave_login', [text, signature]);
  assert.ok(first.result?.token, JSON.stringify(first));
  const again = await call(a, 'conclave_login', [text, signature]);
  assert.equal(again.error?.code, 4100);
  assert.match(again.error!.message, /nonce/);
});

test('a nonce must be one this node issued: a made-up one, or another node\'s, is refused', async () => {
  assert.equal((await login(a, await message(a, { nonce: 'abcdefabcdefabcdefabcdef' }))).error?.code, 4100);
  const fromB = (await call(b, 'conclave_nonce', [])).result;
  assert.equal((await login(a, await message(a, { nonce: fromB }))).error?.code, 4100);
});

test('a message for another chain id or another domain is refused', async () => {
  const otherChain = await login(b, await message(b, { chainId: 31337 }));
  assert.equal(otherChain.error?.code, 4100);
  assert.match(otherChain.error!.message, /chain id 31337 is not this chain \(31338\)/);
  // Node a's domain (its host:port) taken to node b.
  const otherDomain = await login(b, await message(b, { domain: new URL(a.url).host }));
  assert.equal(otherDomain.error?.code, 4100);
  assert.match(otherDomain.error!.message, /domain/);
});

test('a token works on the node that issued it only', async () => {
  const token = (await login(a, await message(a))).result.token as string;
  assert.ok((await call(a, 'eth_blockNumber', [], token)).result);
  const elsewhere = await call(b, 'eth_blockNumber', [], token);
  assert.equal(elsewhere.error?.code, 4100);
  assert.match(elsewhere.error!.message, /session expired or unknown/);
});

test('an expired message is refused; a session ends when its message expires', async () => {
  const expired = await login(a, await message(a, { expirationTime: new Date(Date.now() - 1000) }));
  assert.equal(expired.error?.code, 4100);
  const short = await login(a, await message(a, { expirationTime: new Date(Date.now() + 1500) }));
  const token = short.result.token as string;
  assert.ok((await call(a, 'eth_chainId', [], token)).result);
  assert.ok((await call(a, 'eth_blockNumber', [], token)).result);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await call(a, 'eth_blockNumber', [], token)).error?.code, 4100);
});

test('a flood of conclave_nonce is bounded: the oldest nonces are dropped', async () => {
  const oldest = (await call(a, 'conclave_nonce', [])).result as string;
  // 10,000 more (the bound), in batches.
  for (let i = 0; i < 10; i++) {
    const batch = Array.from({ length: 1000 }, (_, j) => ({ jsonrpc: '2.0', id: j, method: 'conclave_nonce', params: [] }));
    const answers = (await rpc(a, batch)) as Answer[];
    assert.equal(answers.filter((x) => typeof x.result === 'string').length, 1000);
  }
  const refused = await login(a, await message(a, { nonce: oldest }));
  assert.equal(refused.error?.code, 4100, 'the oldest nonce was dropped');
  // The node still logs in with a fresh nonce.
  assert.ok((await login(a, await message(a))).result?.token);
});

test('a Host let in only by --allowed-hosts * is no Sign-In domain: a signature made for another site cannot be replayed here', async () => {
  const open = await startTestNode({ rpc: { allowedHosts: ['*'] } });
  try {
    const nonce = (await call(open, 'conclave_nonce', [])).result as string;
    const text = createSiweMessage({ domain: 'evil.example', address: wallet.address as `0x${string}`, uri: 'https://evil.example', version: '1', chainId: 31337, nonce });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'conclave_login', params: [text, await wallet.signMessage(text)] });
    const { port } = new URL(open.url);
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { host: 'evil.example', 'content-type': 'application/json' } }, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve(JSON.parse(data)));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(answer.error?.code, 4100, JSON.stringify(answer));
    assert.match(answer.error!.message, /domain "evil.example" is not served here/);
    // Its own listed name still serves as a domain.
    assert.ok((await login(open, await message(open))).result?.token);
  } finally {
    await open.stop();
  }
});

test('logout ends the session\'s subscriptions and filters', async () => {
  const token = (await login(a, await message(a))).result.token as string;
  const filter = (await call(a, 'eth_newBlockFilter', [], token)).result as string;
  const ws = new WebSocket(`${a.wsUrl}s/${token}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const heads: unknown[] = [];
  const answers: Answer[] = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m));
    if (msg.method === 'eth_subscription') heads.push(msg.params.result);
    else answers.push(msg);
  });
  try {
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    await waitFor(() => answers.length === 1);
    const sender = new Wallet(DEV_KEY_0, new JsonRpcProvider(a.url, 31337, { staticNetwork: true, cacheTimeout: -1 }));
    const transfer = async () => mined(sender.provider as JsonRpcProvider, (await sender.sendTransaction({ to: sender.address, value: 1n })).hash);
    await transfer();
    await waitFor(() => heads.length >= 1);
    assert.equal((await call(a, 'conclave_logout', [], token)).result, true);
    const before = heads.length;
    await transfer();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(heads.length, before, 'no heads after logout');
    assert.equal((await call(a, 'eth_getFilterChanges', [filter], token)).error?.code, 4100);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] }));
    await waitFor(() => answers.length === 2);
    assert.equal(answers[1]!.error?.code, 4100, 'the connection\'s token no longer works');
  } finally {
    ws.close();
  }
});

async function waitFor(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
