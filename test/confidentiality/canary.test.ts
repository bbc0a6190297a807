/**
 * The confidentiality canary: a consortium node (examples/consortium.json) runs as a
 * real process, driven by ethers through session URLs, with a ConfidentialERC20 under
 * examples/confidential-erc20.policy.json. Distinctive values go through every path:
 * amounts and balances, a memo's note, revert data carrying a balance, session tokens
 * and SIWE signatures. Then three places are searched for them in every encoding the
 * scanner knows:
 * - every file under the data directory: while running, after SIGTERM, after SIGKILL;
 * - the node's stdout and stderr (default logging, failing requests included);
 * - everything the enclave handed the host (CONCLAVE_BOUNDARY_TRACE), where a value may
 *   appear only in replies to callers allowed to see it, and a token only in the login
 *   reply that issued it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AbiCoder, Contract, ContractFactory, getCreateAddress, Interface, JsonRpcProvider, keccak256, Signature, Wallet } from 'ethers';
import { createSiweMessage } from 'viem/siwe';
import type { WebSocket } from 'ws';
import { loadArtifact } from '../../contracts/artifacts.ts';
import type { TraceRecord } from '../../runtime/boundary/boundaryTrace.ts';
import { ROOT, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';
import { mined } from '../helpers/mined.ts';
import { openWs } from '../helpers/wire.ts';
import {
  ascii,
  assertNoPlaintext,
  describeHits,
  findIn,
  numberNeedles,
  randomCanaryString,
  stringNeedles,
  type Needle,
} from '../helpers/canaryScan.ts';
import { KEYS, POLICY_REGISTRY, TOKEN_POLICY, type Name } from './consortium.ts';

const CHAIN_ID = 7700;
const GENESIS = path.join(ROOT, 'examples/consortium.json');
const TOKEN = loadArtifact('ConfidentialERC20');
const token = new Interface(TOKEN.abi as never);
const registry = new Interface(['function setPolicy(address target, string policy)']);

/** A caller as the trace names it: an identity, `anonymous`, `forged` (a token never issued), or `host` (requests that carry no caller). */
type Who = Name | 'anonymous' | 'forged' | 'host';
/** The requests that carry a caller's credential (the trace omits an empty one). */
const CALLER_TYPES = new Set(['read', 'session', 'filter', 'subscribe', 'unsubscribe', 'sign', 'sendTransaction']);

/** A random amount in [2^58, 2^59): its minimal encoding is 8 bytes, and sums of a few stay below 2^61. */
const amount = () => (BigInt('0x' + randomBytes(8).toString('hex')) >> 6n) | (1n << 58n);

/** A token in every form it could leave in: as sent, its bytes, hex, base64, and the enclave's sha256 of it. */
function tokenNeedles(label: string, t: string): Needle[] {
  const raw = Buffer.from(t, 'base64url');
  assert.equal(raw.length, 32, 'a session token is 32 random bytes, base64url');
  const sha = createHash('sha256').update(t, 'utf8').digest();
  return [
    { name: `${label} (as sent)`, bytes: ascii(t) },
    { name: `${label} (hex of as sent)`, bytes: ascii(Buffer.from(t).toString('hex')) },
    { name: `${label} (raw 32 bytes)`, bytes: raw },
    { name: `${label} (raw, hex lower)`, bytes: ascii(raw.toString('hex')) },
    { name: `${label} (raw, hex upper)`, bytes: ascii(raw.toString('hex').toUpperCase()) },
    { name: `${label} (raw, base64)`, bytes: ascii(raw.toString('base64')) },
    { name: `${label} (sha256, raw)`, bytes: sha },
    { name: `${label} (sha256, hex)`, bytes: ascii(sha.toString('hex')) },
  ];
}

/** A signature as sent (0x hex), its 65 bytes, and its r and s words raw and in hex. */
function signatureNeedles(label: string, sig: string): Needle[] {
  const { r, s } = Signature.from(sig);
  return [
    { name: `${label} (hex)`, bytes: ascii(sig.slice(2).toLowerCase()) },
    { name: `${label} (raw 65 bytes)`, bytes: Buffer.from(sig.slice(2), 'hex') },
    { name: `${label} (r, raw)`, bytes: Buffer.from(r.slice(2), 'hex') },
    { name: `${label} (r, hex)`, bytes: ascii(r.slice(2)) },
    { name: `${label} (s, raw)`, bytes: Buffer.from(s.slice(2), 'hex') },
    { name: `${label} (s, hex)`, bytes: ascii(s.slice(2)) },
  ];
}

/** A confidential value and who may be answered with it. */
interface Secret {
  label: string;
  needles: Needle[];
  allowed: ReadonlySet<Who>;
  /** Callers the scenario answers with it: the trace must show it to each (guards against a vacuous pass). */
  seenBy: readonly Who[];
}

/** A JSON-RPC client on one WebSocket: replies by id, notifications gathered. */
async function wsClient(url: string) {
  const { ws } = await openWs(url);
  assert.ok(ws, `WebSocket to ${url.replace(/\/s\/[^/]+/, '/s/<token>')} refused`);
  const socket: WebSocket = ws;
  const waiting = new Map<number, (m: any) => void>();
  const notifications: any[] = [];
  let next = 1;
  socket.on('message', (data) => {
    const m = JSON.parse(String(data));
    if (m.id !== undefined) waiting.get(m.id)?.(m);
    else notifications.push(m);
  });
  return {
    notifications,
    call(method: string, params: unknown[] = []): Promise<any> {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    },
    close: () => socket.close(),
  };
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** JSON-RPC through ethers; a failure comes back as its error object instead of throwing. */
async function attempt(p: JsonRpcProvider, method: string, params: unknown[]): Promise<unknown> {
  try {
    return await p.send(method, params);
  } catch (err) {
    // ethers keeps the JSON-RPC error object as `info.error` (CALL_EXCEPTION) or `error`.
    const e = err as { info?: { error?: unknown }; error?: unknown };
    return { error: e.info?.error ?? e.error ?? String(err) };
  }
}

test('no confidential value and no token leaves the enclave outside allowed answers: data directory, stdout/stderr, boundary traffic', { timeout: 600_000 }, async () => {
  const home = tempHome('conclave-confidential-canary-');
  const traceFile = path.join(home.dir, 'boundary-trace.jsonl');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile, '--genesis', GENESIS];
  const nodes: NodeProcess[] = [];
  const providers = new Map<string, JsonRpcProvider>();
  const sockets: { close(): void }[] = [];
  /** Every token issued, with whose it is: the trace names callers by sha256 of their token. */
  const tokens = new Map<string, Name>();
  const signatures: string[] = [];
  let url = '';
  let wsUrl = '';

  /** One provider per endpoint: anonymous, or a session URL. */
  const provider = (token?: string) => {
    const endpoint = token ? `${url}/s/${token}` : url;
    let p = providers.get(endpoint);
    // cacheTimeout -1: ethers otherwise shares identical requests made within 250 ms (a stale pending nonce).
    if (!p) providers.set(endpoint, (p = new JsonRpcProvider(endpoint, CHAIN_ID, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1, pollingInterval: 50 })));
    return p;
  };
  const login = async (name: Name): Promise<string> => {
    const anonymous = provider();
    const w = new Wallet(KEYS[name]);
    const nonce = (await anonymous.send('conclave_nonce', [])) as string;
    const message = createSiweMessage({ domain: new URL(url).host, address: w.address as `0x${string}`, uri: `${url}/`, version: '1', chainId: CHAIN_ID, nonce });
    const signature = await w.signMessage(message);
    signatures.push(signature);
    const { token } = (await anonymous.send('conclave_login', [message, signature])) as { token: string };
    tokens.set(token, name);
    return token;
  };
  const start = async () => {
    const node = await spawnNode(args, { CONCLAVE_BOUNDARY_TRACE: traceFile });
    nodes.push(node);
    url = node.url.replace(/\/$/, '');
    wsUrl = node.wsUrl.replace(/\/$/, '');
    return node;
  };

  try {
    // ---------------------------------------------------------------- the secrets
    const NOTE = randomCanaryString();
    const SUPPLY = BigInt('0x' + randomBytes(8).toString('hex')) | (1n << 63n);
    const A1 = amount(); // alice -> bob
    const A2 = amount(); // alice -> carol, with the memo (cc dave)
    const A3 = amount() >> 2n; // bob -> carol, after the restart (bob holds A1)
    const FAIL = SUPPLY + amount(); // alice, more than she holds
    const FAIL2 = A2 + amount(); // carol, more than she holds

    // ---------------------------------------------------------------- first run
    let node = await start();
    const names: Name[] = ['alice', 'bob', 'carol', 'dave', 'orgA', 'auditor', 'outsider'];
    const session = new Map<Name, string>();
    for (const n of names) session.set(n, await login(n));
    const aliceBearer = await login('alice'); // used in an Authorization header, then logged out
    const as = (n: Name) => provider(session.get(n)!);
    const signer = (n: Name) => new Wallet(KEYS[n], as(n));
    const address = (n: Name) => new Wallet(KEYS[n]).address.toLowerCase();

    // alice deploys the token under its policy, registered in advance for the address her next creation gets.
    const alice = signer('alice');
    const nonce = await alice.getNonce('pending');
    const predicted = getCreateAddress({ from: alice.address, nonce: nonce + 1 });
    const registered = await alice.sendTransaction({ to: POLICY_REGISTRY, data: registry.encodeFunctionData('setPolicy', [predicted, TOKEN_POLICY]) });
    assert.equal((await mined(as('alice'), registered.hash)).status, 1);
    const deployed = await new ContractFactory(TOKEN.abi as never, TOKEN.bytecode, alice).deploy('Secret', 'SEC', SUPPLY);
    const deployTx = deployed.deploymentTransaction()!;
    assert.equal((await mined(as('alice'), deployTx.hash)).status, 1);
    const tokenAddress = (await deployed.getAddress()).toLowerCase();
    assert.equal(tokenAddress, predicted.toLowerCase());
    const policy = (await provider().send('conclave_getPolicy', [tokenAddress])) as { policy: unknown };
    assert.deepEqual(policy.policy, JSON.parse(TOKEN_POLICY), 'the token runs under its policy');

    // Watchers: a log subscription on a WebSocket and a polling filter over HTTP, per reader.
    const watchers: Who[] = ['bob', 'carol', 'dave', 'auditor', 'outsider', 'anonymous'];
    const ws = new Map<Who, Awaited<ReturnType<typeof wsClient>>>();
    const filters = new Map<Who, string>();
    for (const w of watchers) {
      const t = w === 'anonymous' ? undefined : session.get(w as Name)!;
      const c = await wsClient(t ? `${wsUrl}/s/${t}` : wsUrl);
      sockets.push(c);
      ws.set(w, c);
      const sub = await c.call('eth_subscribe', ['logs', { address: tokenAddress }]);
      assert.match(sub.result, /^0x/, `${w} subscribed: ${JSON.stringify(sub)}`);
      filters.set(w, (await (t ? as(w as Name) : provider()).send('eth_newFilter', [{ address: tokenAddress, fromBlock: '0x0' }])) as string);
    }

    // Transfers: one plain, one with a memo; then transactions that fail on chain.
    const mine = (n: Name) => new Contract(tokenAddress, TOKEN.abi as never, signer(n));
    const t1 = await mined(as('alice'), (await mine('alice').getFunction('transfer')(address('bob'), A1)).hash);
    const t2 = await mined(as('alice'), (await mine('alice').getFunction('transferWithMemo')(address('carol'), A2, address('dave'), NOTE)).hash);
    assert.equal(t1.status, 1);
    assert.equal(t2.status, 1);
    const failed: string[] = [];
    for (const [n, to, value] of [['alice', 'bob', FAIL], ['carol', 'dave', FAIL2]] as const) {
      const tx = await mine(n).getFunction('transfer')(address(to), value, { gasLimit: 200_000 });
      failed.push(tx.hash);
      assert.equal((await mined(as(n), tx.hash)).status, 0, 'a transfer of more than the balance fails on chain');
    }
    const txs = [deployTx.hash, t1.hash, t2.hash, ...failed];

    // Holders read their own balances (allowed answers), and the reads and calls that must fail.
    const balanceOf = (n: Name, of: Name) => new Contract(tokenAddress, TOKEN.abi as never, as(n)).getFunction('balanceOf')(address(of)) as Promise<bigint>;
    assert.equal(await balanceOf('alice', 'alice'), SUPPLY - A1 - A2);
    assert.equal(await balanceOf('bob', 'bob'), A1);
    assert.equal(await balanceOf('carol', 'carol'), A2);
    assert.equal(await balanceOf('auditor', 'alice'), SUPPLY - A1 - A2);
    const aliceTooMuch = await attempt(as('alice'), 'eth_call', [{ to: tokenAddress, data: token.encodeFunctionData('transfer', [address('bob'), FAIL]) }, 'latest']);
    const insufficient = token.encodeErrorResult('ERC20InsufficientBalance', [address('alice'), SUPPLY - A1 - A2, FAIL]);
    assert.equal((aliceTooMuch as any).error?.data, insufficient, 'alice sees her own revert data, which carries her balance');

    await until('notifications to bob, carol, dave and the auditor', () =>
      ws.get('bob')!.notifications.length >= 1 && ws.get('carol')!.notifications.length >= 1 && ws.get('dave')!.notifications.length >= 1 && ws.get('auditor')!.notifications.length >= 3,
    );

    // Every reader, through every read path.
    const balanceSlot = (n: Name) => keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [address(n), 0]));
    const readers: [Name | 'anonymous', JsonRpcProvider][] = [...names.map((n) => [n, as(n)] as [Name, JsonRpcProvider]), ['anonymous', provider()]];
    for (const [who, p] of readers) {
      const me = who === 'anonymous' ? undefined : address(who);
      for (const hash of txs) {
        const tx = (await attempt(p, 'eth_getTransactionByHash', [hash])) as { blockNumber?: string };
        await attempt(p, 'eth_getTransactionReceipt', [hash]);
        if (tx?.blockNumber) {
          await attempt(p, 'eth_getBlockByNumber', [tx.blockNumber, true]);
          await attempt(p, 'eth_getBlockReceipts', [tx.blockNumber]);
          await attempt(p, 'eth_getTransactionByBlockNumberAndIndex', [tx.blockNumber, '0x0']);
        }
      }
      await attempt(p, 'eth_getLogs', [{ address: tokenAddress, fromBlock: '0x0' }]);
      await attempt(p, 'eth_getLogs', [{ fromBlock: '0x0', topics: [token.getEvent('Memo')!.topicHash] }]);
      await attempt(p, 'eth_getFilterChanges', [filters.get(who) ?? '0x0']);
      for (const of of ['alice', 'bob', 'carol'] as const) {
        await attempt(p, 'eth_call', [{ to: tokenAddress, data: token.encodeFunctionData('balanceOf', [address(of)]) }, 'latest']);
        await attempt(p, 'eth_getStorageAt', [tokenAddress, balanceSlot(of), 'latest']);
      }
      await attempt(p, 'eth_getStorageAt', [tokenAddress, '0x2', 'latest']);
      // A `from` naming alice: refused when authenticated as anyone else, unauthenticated otherwise.
      await attempt(p, 'eth_call', [{ from: address('alice'), to: tokenAddress, data: token.encodeFunctionData('balanceOf', [address('alice')]) }, 'latest']);
      await attempt(p, 'eth_estimateGas', [{ from: address('alice'), to: tokenAddress, data: token.encodeFunctionData('transfer', [address('bob'), FAIL]) }]);
      // Failing calls of one's own (an amount above any balance): the revert data carries the caller's balance.
      const tooMuch = { ...(me ? { from: me } : {}), to: tokenAddress, data: token.encodeFunctionData('transfer', [address('dave'), (1n << 64n) + amount()]) };
      await attempt(p, 'eth_call', [tooMuch, 'latest']);
      await attempt(p, 'eth_estimateGas', [tooMuch]);
    }
    // The Bearer header (its token never used in a URL), then a logout and reuse; a replayed login; unknown tokens.
    const bearer = async (t: string, method: string, params: unknown[]) =>
      (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json() as Promise<any>;
    const viaHeader = await bearer(aliceBearer, 'eth_call', [{ to: tokenAddress, data: token.encodeFunctionData('balanceOf', [address('alice')]) }, 'latest']);
    assert.equal(BigInt(viaHeader.result), SUPPLY - A1 - A2);
    assert.equal((await bearer(aliceBearer, 'conclave_logout', [])).result, true);
    assert.equal((await bearer(aliceBearer, 'eth_blockNumber', [])).error?.code, 4100);
    assert.equal((await attempt(provider(aliceBearer), 'eth_blockNumber', []) as any).error?.code, 4100);
    const forged = randomBytes(32).toString('base64url');
    assert.equal((await attempt(provider(forged), 'eth_blockNumber', []) as any).error?.code, 4100);
    {
      const w = new Wallet(KEYS.bob);
      const nonce = (await provider().send('conclave_nonce', [])) as string;
      const message = createSiweMessage({ domain: new URL(url).host, address: w.address as `0x${string}`, uri: `${url}/`, version: '1', chainId: CHAIN_ID, nonce });
      const signature = await w.signMessage(message);
      signatures.push(signature);
      const first = (await provider().send('conclave_login', [message, signature])) as { token: string };
      tokens.set(first.token, 'bob');
      const replay = (await attempt(provider(), 'conclave_login', [message, signature])) as any;
      assert.equal(replay.error?.code, 4100, 'a replayed login is refused');
    }

    // ---------------------------------------------------------------- needles
    const secrets: Secret[] = [
      { label: 'memo note', needles: stringNeedles('memo note', NOTE), allowed: new Set(['alice', 'dave', 'auditor']), seenBy: ['alice', 'dave', 'auditor'] },
      { label: 'initial supply', needles: numberNeedles('initial supply', SUPPLY), allowed: new Set(['alice', 'auditor']), seenBy: ['alice', 'auditor'] },
      { label: 'amount alice->bob', needles: numberNeedles('amount alice->bob', A1), allowed: new Set(['alice', 'bob', 'auditor']), seenBy: ['alice', 'bob', 'auditor'] },
      { label: 'amount alice->carol', needles: numberNeedles('amount alice->carol', A2), allowed: new Set(['alice', 'carol', 'auditor']), seenBy: ['alice', 'carol', 'auditor'] },
      { label: "alice's balance", needles: numberNeedles("alice's balance", SUPPLY - A1 - A2), allowed: new Set(['alice', 'auditor']), seenBy: ['alice', 'auditor'] },
      { label: "alice's balance after one transfer", needles: numberNeedles("alice's balance after one transfer", SUPPLY - A1), allowed: new Set(['alice', 'auditor']), seenBy: [] },
      { label: 'failed amount (alice)', needles: numberNeedles('failed amount (alice)', FAIL), allowed: new Set(['alice', 'auditor']), seenBy: ['alice', 'auditor'] },
      { label: 'failed amount (carol)', needles: numberNeedles('failed amount (carol)', FAIL2), allowed: new Set(['carol', 'auditor']), seenBy: ['carol', 'auditor'] },
      { label: 'amount bob->carol', needles: numberNeedles('amount bob->carol', A3), allowed: new Set(['bob', 'carol', 'auditor']), seenBy: ['bob', 'auditor'] },
      { label: "bob's balance after the restart", needles: numberNeedles("bob's balance after the restart", A1 - A3), allowed: new Set(['bob', 'auditor']), seenBy: ['bob', 'auditor'] },
    ];
    const credentials = () => [
      ...[...tokens.keys()].map((t, i) => ({ token: t, needles: tokenNeedles(`token ${i} (${tokens.get(t)})`, t) })),
      { token: forged, needles: tokenNeedles('forged token', forged) },
    ];
    const everything = () => [...secrets.flatMap((s) => s.needles), ...credentials().flatMap((c) => c.needles), ...signatures.flatMap((s, i) => signatureNeedles(`SIWE signature ${i}`, s))];

    // ---------------------------------------------------------------- the data directory
    let files = assertNoPlaintext(home.dataDir, everything(), 'while running');
    assert.ok(files.has('conclave.db-wal'), `the WAL was scanned: ${[...files.keys()]}`);
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
    assertNoPlaintext(home.dataDir, everything(), 'after SIGTERM');

    // ---------------------------------------------------------------- second run: sessions are gone; a crash
    node = await start();
    assert.equal(((await attempt(provider(session.get('alice')!), 'eth_blockNumber', [])) as any).error?.code, 4100, 'a restart logs everyone out');
    for (const n of ['bob', 'auditor'] as const) session.set(n, await login(n));
    const t3 = await mined(as('bob'), (await mine('bob').getFunction('transfer')(address('carol'), A3)).hash);
    assert.equal(t3.status, 1);
    assert.equal(await balanceOf('bob', 'bob'), A1 - A3);
    assert.equal(await balanceOf('auditor', 'bob'), A1 - A3);
    await attempt(as('auditor'), 'eth_getTransactionByHash', [t3.hash]);
    for (const p of [provider(), as('bob')]) await attempt(p, 'eth_getTransactionReceipt', [t3.hash]);
    assertNoPlaintext(home.dataDir, everything(), 'second run, while running');
    await node.kill('SIGKILL');
    files = assertNoPlaintext(home.dataDir, everything(), 'after SIGKILL');
    assert.ok(files.has('conclave.db-wal') && files.get('conclave.db-wal')! > 0, `the WAL left by the crash was scanned: ${[...files.keys()]}`);

    // ---------------------------------------------------------------- stdout and stderr
    for (const [i, n] of nodes.entries()) {
      const out = n.output();
      assert.match(out, /Listening on http:/, 'the output was captured');
      const hits = findIn(Buffer.from(out), everything(), `node ${i + 1} stdout/stderr`);
      assert.equal(hits.length, 0, `confidential values in the node's output:\n${describeHits(hits)}\n--- output ---\n${out}`);
    }

    // ---------------------------------------------------------------- the boundary traffic
    const records = fs
      .readFileSync(traceFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as TraceRecord);
    assert.ok(records.length > 100, `the trace recorded the enclave's messages (${records.length})`);
    const sha = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
    const byHash = new Map<string, Who>([...[...tokens].map(([t, n]) => [sha(t), n] as const), [sha(forged), 'forged']]);
    const whoOf = (caller: string | undefined, type: string): Who => {
      if (caller === undefined) return CALLER_TYPES.has(type) ? 'anonymous' : 'host';
      const n = byHash.get(caller);
      assert.ok(n, `a reply to a caller whose credential this test never sent (sha256 ${caller.slice(0, 12)}...)`);
      return n;
    };
    // Notifications name a connection: the caller is whoever subscribed on it (connection ids restart with the node).
    const seen = new Map<string, Set<Who>>();
    const leaks: string[] = [];
    const creds = credentials();
    const sigNeedles = signatures.flatMap((s, i) => signatureNeedles(`SIWE signature ${i}`, s));
    let run = 0;
    let connections = new Map<number, Who>();
    let logins = 0;
    for (const [i, r] of records.entries()) {
      const m = r.message as any;
      if (r.request?.type === 'init') {
        run++;
        connections = new Map();
      }
      let who: Who;
      if (m.type === 'notification') {
        const c = connections.get(m.connection);
        assert.ok(c, `record ${i}: a notification to connection ${m.connection}, which no traced subscribe opened`);
        who = c;
      } else {
        who = r.request ? whoOf(r.request.caller, r.request.type) : 'host';
        if (r.request?.type === 'subscribe' && m.ok) connections.set(r.request.connection!, who);
      }
      const text = Buffer.from(JSON.stringify(r.message));
      const where = `record ${i} (run ${run}, ${r.request ? `${r.request.type}${r.request.kind ? ' ' + r.request.kind : ''}` : m.type} for ${who})`;
      for (const s of secrets) {
        const hits = findIn(text, s.needles, where);
        if (!hits.length) continue;
        (seen.get(s.label) ?? seen.set(s.label, new Set()).get(s.label)!).add(who);
        if (!s.allowed.has(who)) leaks.push(`${describeHits(hits)}\n    in: ${text.toString().slice(0, 600)}`);
      }
      for (const c of creds) {
        const hits = findIn(text, c.needles, where);
        if (!hits.length) continue;
        const issuing = r.request?.type === 'session' && r.request.kind === 'login' && m.ok && m.value?.token === c.token;
        if (!issuing) leaks.push(`${describeHits(hits)}\n    in: ${text.toString().slice(0, 600)}`);
        else {
          logins++;
          (seen.get('tokens') ?? seen.set('tokens', new Set()).get('tokens')!).add(who);
        }
      }
      const sigHits = findIn(text, sigNeedles, where);
      if (sigHits.length) leaks.push(`${describeHits(sigHits)}\n    in: ${text.toString().slice(0, 600)}`);
    }
    assert.equal(run, 2, 'the trace holds both runs');
    assert.deepEqual(leaks, [], `confidential values in enclave -> host traffic outside allowed answers:\n${leaks.join('\n')}`);
    // The positive side: each value did reach those allowed to see it (the trace is not vacuous).
    for (const s of secrets) {
      for (const who of s.seenBy) assert.ok(seen.get(s.label)?.has(who), `${s.label} was answered to ${who} (seen by: ${[...(seen.get(s.label) ?? [])].join(', ') || 'nobody'})`);
    }
    assert.equal(logins, tokens.size, 'each token crossed once, in the login reply that issued it');
    assert.deepEqual([...(seen.get('tokens') ?? [])], ['anonymous'], 'logins are anonymous requests');
    for (const w of ['bob', 'carol', 'dave'] as const) assert.ok(ws.get(w)!.notifications.length > 0, `${w} was notified`);
    for (const w of ['outsider', 'anonymous'] as const) assert.deepEqual(ws.get(w)!.notifications, [], `${w} is told of no confidential log`);
  } finally {
    for (const s of sockets) s.close();
    for (const p of providers.values()) p.destroy();
    for (const n of nodes) await n.kill('SIGKILL');
    home.cleanup();
  }
});
