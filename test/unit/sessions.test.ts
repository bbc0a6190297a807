/**
 * Sign-In with Ethereum sessions (runtime/identity/Sessions.ts) with real messages
 * (viem's createSiweMessage) and real signatures (viem accounts): what logs in, what is
 * refused and with which message, how sessions end, and that nonces, sessions and
 * failed logins stay within their bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { createSiweMessage, type SiweMessage } from 'viem/siwe';
import { EnclaveFailure } from '../../runtime/enclave/EnclaveFailure.ts';
import { Sessions, type SessionOptions } from '../../runtime/identity/Sessions.ts';

const CHAIN_ID = 31337;
const DOMAIN = 'app.example.com';
const T0 = Date.UTC(2025, 0, 1, 12);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const alice = privateKeyToAccount(`0x${'11'.repeat(32)}`);
const bob = privateKeyToAccount(`0x${'22'.repeat(32)}`);
const NONCE_UNKNOWN = 'unauthorized: SIWE nonce unknown, expired or already used';

function sessions(options: Partial<SessionOptions> = {}): Sessions {
  return new Sessions({ chainId: BigInt(CHAIN_ID), domains: [DOMAIN, 'localhost:8545'], ...options });
}

/** A message for `account` with a nonce issued by `s` at `now` (unless given), and its signature by `signer`. */
async function signIn(
  s: Sessions,
  account: PrivateKeyAccount,
  fields: Partial<SiweMessage> = {},
  { now = T0, signer = account, edit = (m) => m }: { now?: number; signer?: PrivateKeyAccount; edit?: (message: string) => string } = {},
): Promise<{ message: string; signature: `0x${string}` }> {
  const created = createSiweMessage({
    address: account.address,
    chainId: CHAIN_ID,
    domain: DOMAIN,
    nonce: fields.nonce ?? s.issueNonce(now),
    uri: `https://${DOMAIN}/`,
    version: '1',
    issuedAt: new Date(now),
    statement: 'Sign in to Conclave.',
    ...fields,
  });
  const message = edit(created);
  return { message, signature: await signer.signMessage({ message }) };
}

const bytesOf = (token: string) => new TextEncoder().encode(token);

/** Asserts that `p` rejects with an EnclaveFailure of `kind` whose message is (or matches) `message`. */
async function refused(p: Promise<unknown>, kind: string, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof EnclaveFailure, `an EnclaveFailure expected, got ${String(err)}`);
    assert.equal(err.kind, kind);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('login: a signed message opens a session whose token resolves to the signer', async () => {
  const s = sessions();
  const { message, signature } = await signIn(s, alice);
  const login = await s.login(message, signature, T0 + 1000);
  assert.match(login.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(login.address, alice.address.toLowerCase());
  assert.equal(login.expiresAt, Math.floor((T0 + 1000 + DAY) / 1000), 'a message without expiration time gets 24 h');
  assert.equal(login.scope, undefined);
  const p = s.resolve(bytesOf(login.token), T0 + 2000);
  assert.ok(p && p !== 'invalid');
  assert.equal(p.address, alice.address.toLowerCase());
  assert.equal(p.scope, undefined);
  assert.equal(p.tokenId, createHash('sha256').update(login.token).digest('hex'));
  assert.notEqual(p.tokenId, login.token);
  assert.equal(s.size, 1);
  // Anonymous, and credentials that are no session.
  assert.equal(s.resolve(new Uint8Array(0), T0), undefined);
  assert.equal(s.resolve(bytesOf('x'.repeat(43)), T0), 'invalid');
  assert.equal(s.resolve(bytesOf('short'), T0), 'invalid');
  assert.throws(() => s.authenticate(bytesOf('short'), T0), { message: 'unauthorized: session expired or unknown' });
  assert.equal(s.authenticate(new Uint8Array(0), T0), undefined);
});

test('login: the session lives until the message expires, if sooner than 24 h', async () => {
  const s = sessions();
  const { message, signature } = await signIn(s, alice, { expirationTime: new Date(T0 + 10 * MINUTE) });
  const login = await s.login(message, signature, T0);
  assert.equal(login.expiresAt, (T0 + 10 * MINUTE) / 1000);
  assert.notEqual(s.resolve(bytesOf(login.token), T0 + 10 * MINUTE - 1), 'invalid');
  assert.equal(s.resolve(bytesOf(login.token), T0 + 10 * MINUTE), 'invalid');
});

test('login: the domain is compared without regard to case, and any served domain is taken', async () => {
  const s = sessions();
  for (const domain of ['APP.example.com', 'localhost:8545']) {
    const { message, signature } = await signIn(s, alice, { domain });
    assert.equal((await s.login(message, signature, T0)).address, alice.address.toLowerCase());
  }
});

test('refused: another domain, another chain, a nonce not issued here', async () => {
  const s = sessions();
  const other = await signIn(s, alice, { domain: 'evil.example.com' });
  await refused(s.login(other.message, other.signature, T0), 'unauthorized', 'unauthorized: SIWE domain "evil.example.com" is not served here');
  const chain = await signIn(s, alice, { chainId: 5 });
  await refused(s.login(chain.message, chain.signature, T0), 'unauthorized', 'unauthorized: SIWE chain id 5 is not this chain (31337)');
  const made = await signIn(s, alice, { nonce: 'abcdefgh12345678abcdefgh12345678' });
  await refused(s.login(made.message, made.signature, T0), 'unauthorized', NONCE_UNKNOWN);
  assert.equal(s.size, 0);
});

test('refused: a used nonce, also when two logins race with one message', async () => {
  const s = sessions();
  const once = await signIn(s, alice);
  await s.login(once.message, once.signature, T0);
  await refused(s.login(once.message, once.signature, T0), 'unauthorized', NONCE_UNKNOWN);
  const raced = await signIn(s, alice);
  const outcomes = await Promise.allSettled([s.login(raced.message, raced.signature, T0), s.login(raced.message, raced.signature, T0)]);
  assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
  assert.equal(s.size, 2);
});

test('refused: a nonce older than 5 minutes', async () => {
  const s = sessions();
  const { message, signature } = await signIn(s, alice);
  await refused(s.login(message, signature, T0 + 5 * MINUTE), 'unauthorized', NONCE_UNKNOWN);
  const fresh = await signIn(s, alice, {}, { now: T0 + 10 * MINUTE });
  await s.login(fresh.message, fresh.signature, T0 + 10 * MINUTE + 5 * MINUTE - 1);
});

test('refused: an expired message, one not valid yet, one issued in the future', async () => {
  const s = sessions();
  const expired = await signIn(s, alice, { expirationTime: new Date(T0 - 1000) });
  await refused(s.login(expired.message, expired.signature, T0), 'unauthorized', `unauthorized: SIWE message expired at ${new Date(T0 - 1000).toISOString()}`);
  const early = await signIn(s, alice, { notBefore: new Date(T0 + MINUTE) });
  await refused(s.login(early.message, early.signature, T0), 'unauthorized', `unauthorized: SIWE message is not valid before ${new Date(T0 + MINUTE).toISOString()}`);
  // The same message once its time has come (the nonce is still fresh).
  assert.equal((await s.login(early.message, early.signature, T0 + MINUTE)).address, alice.address.toLowerCase());
  const future = await signIn(s, alice, { issuedAt: new Date(T0 + DAY) });
  await refused(s.login(future.message, future.signature, T0), 'unauthorized', /^unauthorized: SIWE message is issued in the future/);
});

test('refused: a signature by another key, a malformed one, text that is no SIWE message', async () => {
  const s = sessions();
  const forged = await signIn(s, alice, {}, { signer: bob });
  await refused(s.login(forged.message, forged.signature, T0), 'unauthorized', `unauthorized: SIWE signature is not by ${alice.address.toLowerCase()}, the message's address`);
  // The nonce survives a bad signature: the rightful signer may still use it.
  const nonce = /Nonce: (\w+)/.exec(forged.message)![1]!;
  const right = await signIn(s, alice, { nonce });
  await s.login(right.message, right.signature, T0);
  const bad = await signIn(s, alice);
  await refused(s.login(bad.message, `0x${'00'.repeat(65)}`, T0), 'unauthorized', 'unauthorized: SIWE signature is malformed');
  await refused(s.login(bad.message, '0x1234', T0), 'unauthorized', 'unauthorized: SIWE signature must be 65 bytes: 0x and 130 hex digits');
  await refused(s.login('hello', bad.signature, T0), 'unauthorized', /^unauthorized: not a Sign-In with Ethereum message \(EIP-4361\): its domain is missing/);
  await refused(s.login('x'.repeat(4097), bad.signature, T0), 'unauthorized', 'unauthorized: SIWE message of 4097 characters, at most 4096 allowed');
});

test('expiry: an expired session resolves as invalid and its end is heard', async () => {
  const s = sessions({ maxSessionMs: 60_000 });
  const ended: string[] = [];
  s.onEnd((id) => ended.push(id));
  const a = await signIn(s, alice);
  const b = await signIn(s, bob);
  const la = await s.login(a.message, a.signature, T0);
  const lb = await s.login(b.message, b.signature, T0 + 30_000);
  assert.equal(la.expiresAt, (T0 + 60_000) / 1000);
  assert.equal(s.resolve(bytesOf(la.token), T0 + 60_000), 'invalid');
  assert.deepEqual(ended, [createHash('sha256').update(la.token).digest('hex')]);
  // expire() ends the rest without anyone asking.
  s.expire(T0 + 90_000);
  assert.equal(ended.length, 2);
  assert.equal(s.size, 0);
  assert.equal(s.resolve(bytesOf(lb.token), T0), 'invalid', 'gone, whatever the clock says');
});

test('logout: the token is invalid afterwards and the end hook fires once', async () => {
  const s = sessions();
  const ended: string[] = [];
  s.onEnd((id) => ended.push(id));
  const { message, signature } = await signIn(s, alice);
  const { token } = (await s.handle(new Uint8Array(0), { kind: 'login', message, signature }, T0)) as { token: string };
  const id = (s.resolve(bytesOf(token), T0) as { tokenId: string }).tokenId;
  assert.equal(await s.handle(bytesOf(token), { kind: 'logout' }, T0), true);
  assert.deepEqual(ended, [id]);
  assert.equal(s.resolve(bytesOf(token), T0), 'invalid');
  assert.equal(s.logout(bytesOf(token), T0), false);
  await refused(s.handle(bytesOf(token), { kind: 'logout' }, T0), 'unauthorized', 'unauthorized: session expired or unknown');
  await refused(s.handle(new Uint8Array(0), { kind: 'logout' }, T0), 'unauthorized', 'unauthorized: no session to end: the request carries no credential');
  assert.deepEqual(ended, [id]);
  const nonce = await s.handle(new Uint8Array(0), { kind: 'nonce' }, T0);
  assert.match(nonce as string, /^[0-9a-f]{32}$/);
});

test('scope: resources naming contracts of this chain scope the session; others are ignored or refused', async () => {
  const s = sessions();
  const c1 = '0x00000000000000000000000000000000000000Aa';
  const c2 = '0x1111111111111111111111111111111111111111';
  // A bare address is no URI, so viem will not write it; other tools may.
  const { message, signature } = await signIn(
    s,
    alice,
    { resources: [`eip155:${CHAIN_ID}:${c1}`, 'https://app.example.com/terms'] },
    { edit: (m) => m.replace('\n- https://', `\n- ${c2}\n- https://`) },
  );
  assert.match(message, new RegExp(`Resources:\\n- eip155:${CHAIN_ID}:${c1}\\n- ${c2}\\n- https://`));
  const login = await s.login(message, signature, T0);
  assert.deepEqual(login.scope, [c1.toLowerCase(), c2]);
  const p = s.resolve(bytesOf(login.token), T0);
  assert.ok(p && p !== 'invalid');
  assert.deepEqual([...p.scope!], [c1.toLowerCase(), c2]);
  // Only links: the session is not scoped.
  const links = await signIn(s, alice, { resources: ['https://app.example.com/terms'] });
  assert.equal((await s.login(links.message, links.signature, T0)).scope, undefined);
  // A contract of another chain would silently widen the scope: refused.
  const elsewhere = await signIn(s, alice, { resources: [`eip155:1:${c2}`] });
  await refused(
    s.login(elsewhere.message, elsewhere.signature, T0),
    'unauthorized',
    `unauthorized: SIWE resource "eip155:1:${c2}" is not a contract of this chain (eip155:${CHAIN_ID}:<address>)`,
  );
});

test('bounds: a flood of nonces keeps at most maxNonces, dropping the oldest', async () => {
  const s = sessions({ maxNonces: 100 });
  const issued: string[] = [];
  for (let i = 0; i < 250; i++) {
    issued.push(s.issueNonce(T0));
    assert.ok(s.outstandingNonces <= 100);
  }
  assert.equal(s.outstandingNonces, 100);
  assert.equal(new Set(issued).size, 250, 'every nonce is fresh');
  const oldest = await signIn(s, alice, { nonce: issued[0] });
  await refused(s.login(oldest.message, oldest.signature, T0), 'unauthorized', NONCE_UNKNOWN);
  const kept = await signIn(s, alice, { nonce: issued[150] });
  await s.login(kept.message, kept.signature, T0);
  assert.equal(s.outstandingNonces, 99);
  // Expired ones go without a flood.
  s.expire(T0 + 5 * MINUTE);
  assert.equal(s.outstandingNonces, 0);
});

test('bounds: at most maxSessions, oldest ended first; at most maxSessionsPerAddress per signer', async () => {
  const s = sessions({ maxSessions: 5, maxSessionsPerAddress: 2 });
  const ended: string[] = [];
  s.onEnd((id) => ended.push(id));
  const tokens: string[] = [];
  for (let i = 0; i < 7; i++) {
    const account = privateKeyToAccount(generatePrivateKey());
    const { message, signature } = await signIn(s, account);
    tokens.push((await s.login(message, signature, T0)).token);
    assert.ok(s.size <= 5);
  }
  assert.equal(s.size, 5);
  assert.equal(ended.length, 2);
  assert.equal(s.resolve(bytesOf(tokens[0]!), T0), 'invalid');
  assert.equal(s.resolve(bytesOf(tokens[1]!), T0), 'invalid');
  for (const t of tokens.slice(2)) assert.notEqual(s.resolve(bytesOf(t), T0), 'invalid');
  // One signer logging in again and again ends only its own oldest sessions.
  const mine: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { message, signature } = await signIn(s, alice);
    mine.push((await s.login(message, signature, T0)).token);
  }
  assert.equal(s.resolve(bytesOf(mine[0]!), T0), 'invalid');
  assert.notEqual(s.resolve(bytesOf(mine[1]!), T0), 'invalid');
  assert.notEqual(s.resolve(bytesOf(mine[2]!), T0), 'invalid');
  assert.equal(s.size, 5);
});

test('bounds: past maxFailures in the window a source\'s logins are refused (-32005 kind), then allowed again; other sources log in meanwhile', async () => {
  const s = sessions({ maxFailures: 3, failureWindowMs: 10_000 });
  const attacker = '203.0.113.7';
  for (let i = 0; i < 3; i++) {
    const { message, signature } = await signIn(s, alice, { domain: 'evil.example.com' });
    await refused(s.login(message, signature, T0 + i, undefined, attacker), 'unauthorized', /domain/);
  }
  const good = await signIn(s, alice);
  await refused(
    s.login(good.message, good.signature, T0 + 5000, undefined, attacker),
    'limitExceeded',
    'too many failed logins: at most 3 in 10 s from one address (maxFailures); try again shortly',
  );
  // Failing on purpose locks out nobody else: another source logs in at once.
  assert.equal((await s.login(good.message, good.signature, T0 + 5001, undefined, '198.51.100.9')).address, alice.address.toLowerCase());
  // Refusals for the limit do not count as failures: the window moves on.
  const again = await signIn(s, alice);
  assert.equal((await s.login(again.message, again.signature, T0 + 10_002, undefined, attacker)).address, alice.address.toLowerCase());
});

test('bounds: the sources remembered are bounded; the one that failed longest ago is forgotten first', async () => {
  const s = sessions({ maxFailures: 1, maxFailureSources: 2, failureWindowMs: 10_000 });
  const fail = async (source: string, at: number) => {
    const { message, signature } = await signIn(s, alice, { domain: 'evil.example.com' });
    await refused(s.login(message, signature, at, undefined, source), 'unauthorized', /domain/);
  };
  await fail('a', T0);
  await fail('b', T0 + 1);
  await fail('c', T0 + 2);
  const good = await signIn(s, alice);
  // 'a' was forgotten to remember 'c'; 'b' and 'c' are still bounded.
  assert.equal((await s.login(good.message, good.signature, T0 + 3, undefined, 'a')).address, alice.address.toLowerCase());
  const other = await signIn(s, alice);
  await refused(s.login(other.message, other.signature, T0 + 4, undefined, 'c'), 'limitExceeded', /too many failed logins/);
});

test('options: bounds must be positive integers', () => {
  assert.throws(() => sessions({ maxNonces: 0 }), /maxNonces must be a positive integer/);
  assert.throws(() => sessions({ maxSessionMs: 1.5 }), /maxSessionMs must be a positive integer/);
});
