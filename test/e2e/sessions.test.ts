/**
 * Sign-In with Ethereum over the real node: conclave_nonce, conclave_login refusals
 * (signed with viem), conclave_logout, and credentials that are no live session refused
 * on every transport (a Bearer header, the /s/<token> URL path over HTTP with ethers,
 * a WebSocket's upgrade URL) rather than read as anonymous.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { JsonRpcProvider } from 'ethers';
import { privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { DEV_KEY_0, rpc, startTestNode, type TestNode } from '../helpers/node.ts';
import { openWs, rawPost } from '../helpers/wire.ts';

let node: TestNode;
const account = privateKeyToAccount(DEV_KEY_0 as `0x${string}`);
const UNKNOWN = 'A'.repeat(43);

before(async () => {
  node = await startTestNode();
});
after(() => node.stop());

const call = (method: string, params: unknown[] = []) => JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });

test('conclave_nonce: a fresh nonce each time; extra params refused', async () => {
  const a = await rpc(node.url, 'conclave_nonce');
  const b = await rpc(node.url, 'conclave_nonce');
  assert.match(a.result, /^[0-9a-f]{32}$/);
  assert.notEqual(a.result, b.result);
  const extra = await rpc(node.url, 'conclave_nonce', [1]);
  assert.equal(extra.error?.code, -32602);
  assert.equal(extra.error?.message, 'too many arguments, want at most 0');
});

test('conclave_login: a message for a domain this node does not serve is refused with 4100', async () => {
  const nonce = (await rpc(node.url, 'conclave_nonce')).result;
  const message = createSiweMessage({ address: account.address, chainId: 31337, domain: 'evil.example.com', nonce, uri: 'https://evil.example.com/', version: '1', issuedAt: new Date() });
  const signature = await account.signMessage({ message });
  const res = await rpc(node.url, 'conclave_login', [message, signature]);
  assert.deepEqual(res.error, { code: 4100, message: 'unauthorized: SIWE domain "evil.example.com" is not served here' });
  const short = await rpc(node.url, 'conclave_login', [message, '0x1234']);
  assert.equal(short.error?.code, -32602);
  assert.equal(short.error?.message, 'invalid argument 1 (signature): hex string of 65 bytes expected');
  const missing = await rpc(node.url, 'conclave_login', [message]);
  assert.equal(missing.error?.message, 'missing value for required argument 1 (signature)');
});

test('conclave_logout: without a credential, or with one that is no session, 4100', async () => {
  const anonymous = await rpc(node.url, 'conclave_logout');
  assert.deepEqual(anonymous.error, { code: 4100, message: 'unauthorized: no session to end: the request carries no credential' });
  const unknown = await rpc(`${node.url.replace(/\/$/, '')}/s/${UNKNOWN}`, 'conclave_logout');
  assert.deepEqual(unknown.error, { code: 4100, message: 'unauthorized: session expired or unknown' });
});

test('a credential that is no live session is refused on reads, over every transport', async () => {
  const base = node.url.replace(/\/$/, '');
  const expected = { code: 4100, message: 'unauthorized: session expired or unknown' };
  const bearer = await rawPost(node.url, call('eth_blockNumber'), { authorization: `Bearer ${UNKNOWN}` });
  assert.deepEqual(bearer.json.error, expected);
  const inPath = await rawPost(`${base}/s/${UNKNOWN}`, call('eth_getBalance', [account.address, 'latest']));
  assert.deepEqual(inPath.json.error, expected);
  // Anonymous reads still work.
  assert.match((await rpc(node.url, 'eth_blockNumber')).result, /^0x[0-9a-f]+$/);

  const provider = new JsonRpcProvider(`${base}/s/${UNKNOWN}`, 31337, { staticNetwork: true });
  await assert.rejects(provider.getBalance(account.address), (err: any) => err?.error?.code === 4100 || err?.info?.error?.code === 4100);
  provider.destroy();

  const { ws } = await openWs(`${node.wsUrl.replace(/\/$/, '')}/s/${UNKNOWN}`);
  assert.ok(ws);
  const answer = new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
  ws.send(call('eth_subscribe', ['newHeads']));
  assert.deepEqual((await answer).error, expected);
  ws.close();
});

test('failed logins are bounded per client address: one that fails on purpose is refused for a moment, another logs in', async (t) => {
  if (!Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'))) {
    t.skip('no IPv6 loopback on this machine: two client addresses cannot be had');
    return;
  }
  // Dual-stack: 127.0.0.1 and ::1 reach it as two client addresses.
  const dual = await startTestNode({ host: '::' });
  try {
    const port = dual.port;
    // Over each address, the Host a browser would send for http://localhost:<port>.
    const attempt = async (address: string, domain: string): Promise<any> => {
      const url = `http://${address}:${port}/`;
      const host = { host: `localhost:${port}` };
      const nonce = (await rawPost(url, call('conclave_nonce'), host)).json.result;
      const message = createSiweMessage({ address: account.address, chainId: 31337, domain, nonce, uri: `http://localhost:${port}/`, version: '1', issuedAt: new Date() });
      return (await rawPost(url, call('conclave_login', [message, await account.signMessage({ message })]), host)).json;
    };
    for (let i = 0; i < 20; i++) assert.equal((await attempt('127.0.0.1', 'evil.example.com')).error?.code, 4100);
    const refused = await attempt('127.0.0.1', `localhost:${port}`);
    assert.equal(refused.error?.code, -32005, JSON.stringify(refused));
    assert.match(refused.error!.message, /too many failed logins: at most 20 in 10 s from one address/);
    const other = await attempt('[::1]', `localhost:${port}`);
    assert.equal(other.error, undefined, JSON.stringify(other.error));
    assert.equal(other.result.address, account.address.toLowerCase());
  } finally {
    await dual.stop();
  }
});
