import { createHash, randomBytes } from 'node:crypto';
import { bytesToHex, hashMessage, hexToBytes } from 'viem';
import { ecrecover, keccak256 } from '../crypto/ethCrypto.ts';
import { parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import type { Credential, Login, SessionRequest } from '../boundary/messages.ts';
import { MESSAGE_BOUNDS } from '../boundary/validate.ts';
import { EnclaveFailure } from '../enclave/EnclaveFailure.ts';

/** Bounds and lifetimes of nonces, sessions and failed logins; every field but `chainId` and `domains` has a default. */
export interface SessionOptions {
  /** The chain a message must name (its `Chain ID`). */
  chainId: bigint;
  /** The domains (RFC 3986 authorities, `host[:port]`) a message may name; compared without regard to case. */
  domains: readonly string[];
  /** Nonces issued and not yet used; past it the oldest is dropped. Default 10,000. */
  maxNonces?: number;
  /** How long a nonce may wait for its login, in ms. Default 5 minutes. */
  nonceTtlMs?: number;
  /** Live sessions; past it the oldest ends. Default 10,000. */
  maxSessions?: number;
  /** Live sessions of one address; past it that address's oldest ends. Default 32. */
  maxSessionsPerAddress?: number;
  /** The longest a session lives, whatever its message's expiration time, in ms. Default 24 h. */
  maxSessionMs?: number;
  /**
   * Failed logins from one source (the network address the host saw) within
   * `failureWindowMs`; past it that source's logins are refused until the window moves
   * on. Other sources are not affected. Default 20.
   */
  maxFailures?: number;
  /** Sources whose recent failures are remembered; past it the one that failed longest ago is forgotten. Default 10,000. */
  maxFailureSources?: number;
  /** Default 10 s. */
  failureWindowMs?: number;
}

/** The bounds and lifetimes of {@link SessionOptions}, all set. */
export type SessionBounds = Omit<Required<SessionOptions>, 'chainId' | 'domains'>;

export const DEFAULT_SESSION_OPTIONS: Readonly<SessionBounds> = {
  maxNonces: 10_000,
  nonceTtlMs: 5 * 60_000,
  maxSessions: 10_000,
  maxSessionsPerAddress: 32,
  maxSessionMs: 24 * 3_600_000,
  maxFailures: 20,
  maxFailureSources: 10_000,
  failureWindowMs: 10_000,
};

/** Who a live credential speaks for. */
export interface SessionPrincipal {
  /** The signer, lowercase. */
  address: string;
  /** The contracts (lowercase addresses) the session may reach; absent: any. */
  scope?: ReadonlySet<string>;
  /**
   * Hex sha256 of the token: how the enclave names the session (for the filters and
   * subscriptions it owns) without keeping the token itself.
   */
  tokenId: string;
}

interface Session {
  address: string;
  scope?: ReadonlySet<string>;
  /** Unix ms. */
  expiresAt: number;
}

/** A refusal of the caller's credentials: JSON-RPC 4100. */
export const unauthorized = (why: string) => new EnclaveFailure('unauthorized', `unauthorized: ${why}`);

const NONCE_UNKNOWN = 'SIWE nonce unknown, expired or already used';
const SESSION_UNKNOWN = 'session expired or unknown';
/** A token is 32 random bytes in base64url: 43 characters. */
const TOKEN_LENGTH = 43;
/** How far ahead of this clock a message may say it was issued (clocks of wallets drift). */
const CLOCK_SKEW_MS = 5 * 60_000;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE_RE = /^0x[0-9a-fA-F]{130}$/;
const CAIP10_RE = /^eip155:(\d{1,20}):(0x[0-9a-fA-F]{40})$/;
/** The fields EIP-4361 requires of every message. */
const REQUIRED = ['domain', 'address', 'uri', 'version', 'chainId', 'nonce', 'issuedAt'] as const;

/**
 * Sign-In with Ethereum (EIP-4361) sessions, kept inside the enclave: nonces it issued,
 * logins verified against them, and the tokens it gave out. Tokens are kept only as
 * their sha256, so a token is looked up by a hash (no timing clue about other tokens)
 * and nothing stored here can be replayed as a credential. In memory only: a restart
 * ends every session.
 *
 * Every store is bounded: nonces (oldest dropped; each single-use and short-lived),
 * sessions (oldest ended, also per address, so one signer logging in over and over
 * ends only its own), and failed logins per source, the network address the host saw
 * (past the bound that source's logins are refused for a moment, which bounds the
 * signature recoveries it spends; other sources log in as before, so nobody can lock
 * everyone out by failing on purpose; the host could deny service anyway, so trusting
 * it for the source gives it nothing). A session ends on
 * logout, when it expires, or when evicted; the `onEnd` listeners hear of each, so
 * what the session owned can end with it.
 *
 * No timers: `expire(now)` ends what expired and is meant to be called now and then;
 * expired sessions are refused on sight whether or not it ran.
 *
 * https://eips.ethereum.org/EIPS/eip-4361
 */
export class Sessions {
  private readonly chainId: bigint;
  private readonly domains: ReadonlySet<string>;
  private readonly o: SessionBounds;
  /** Nonce -> when issued (unix ms). Insertion order is issue order, hence expiry order. */
  private readonly nonces = new Map<string, number>();
  /** Token id -> session; insertion order is login order. */
  private readonly sessions = new Map<string, Session>();
  /** Address -> its token ids, in login order. */
  private readonly byAddress = new Map<string, Set<string>>();
  /**
   * Per source, when its recent logins failed (unix ms), oldest first, never more than
   * maxFailures; sources in the order they last failed.
   */
  private readonly failures = new Map<string, number[]>();
  private readonly listeners: ((tokenId: string) => void)[] = [];

  constructor(options: SessionOptions) {
    this.chainId = options.chainId;
    this.domains = new Set(options.domains.map((d) => d.toLowerCase()));
    const o: SessionBounds = { ...DEFAULT_SESSION_OPTIONS };
    for (const key of Object.keys(o) as (keyof SessionBounds)[]) {
      const v = options[key];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`sessions: ${key} must be a positive integer, not ${v}`);
      o[key] = v;
    }
    this.o = o;
  }

  /** Live sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** Nonces issued and neither used nor dropped (some may have expired since). */
  get outstandingNonces(): number {
    return this.nonces.size;
  }

  /** Calls `listener` with the token id of every session that ends (logout, expiry, eviction). */
  onEnd(listener: (tokenId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Answers a `session` message for the caller holding `caller`. */
  async handle(caller: Credential, request: SessionRequest, now = Date.now()): Promise<string | Login | true> {
    switch (request.kind) {
      case 'nonce':
        return this.issueNonce(now);
      case 'login':
        return this.login(request.message, request.signature, now, request.host, request.source);
      case 'logout':
        if (caller.length === 0) throw unauthorized('no session to end: the request carries no credential');
        if (!this.logout(caller, now)) throw unauthorized(SESSION_UNKNOWN);
        return true;
    }
  }

  /** A fresh single-use nonce: 32 hex digits (128 random bits), valid for nonceTtlMs. */
  issueNonce(now = Date.now()): string {
    this.dropExpiredNonces(now);
    while (this.nonces.size >= this.o.maxNonces) this.nonces.delete(this.nonces.keys().next().value!);
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, now);
    return nonce;
  }

  /**
   * Verifies a signed EIP-4361 message and opens a session for its signer: the domain
   * is one served here (configured, or the `host` the login arrived at), the chain id this chain's, the nonce one issued here, unused and
   * fresh, the message within its `notBefore` .. `expirationTime`, and the signature (an
   * EOA's, EIP-191) by the message's address. The session lives until the message's
   * expiration time, or maxSessionMs at most. `resources` naming contracts of this chain
   * (`eip155:<chainId>:<address>`, or a bare address) scope the session to them; other
   * resources (links to terms, for instance) are ignored.
   *
   * Refusals are EnclaveFailure 'unauthorized', and count towards the maxFailures of
   * `source`; past it that source's logins are refused ('limitExceeded') until older
   * failures leave the window.
   */
  async login(message: string, signature: string, now = Date.now(), host?: string, source = ''): Promise<Login> {
    const recent = this.recentFailures(source, now);
    if (recent.length >= this.o.maxFailures) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many failed logins: at most ${this.o.maxFailures} in ${this.o.failureWindowMs / 1000} s from one address (maxFailures); try again shortly`,
      );
    }
    try {
      return await this.verify(message, signature, now, host);
    } catch (err) {
      recent.push(now);
      // Last failed, last in line to be forgotten.
      this.failures.delete(source);
      this.failures.set(source, recent);
      while (this.failures.size > this.o.maxFailureSources) this.failures.delete(this.failures.keys().next().value!);
      throw err;
    }
  }

  /**
   * Who `credential` speaks for: undefined for an empty credential (anonymous),
   * 'invalid' for one that is no live session (unknown, ended or expired).
   */
  resolve(credential: Credential, now = Date.now()): SessionPrincipal | 'invalid' | undefined {
    if (credential.length === 0) return undefined;
    if (credential.length !== TOKEN_LENGTH) return 'invalid';
    const tokenId = tokenIdOf(credential);
    const s = this.sessions.get(tokenId);
    if (!s) return 'invalid';
    if (s.expiresAt <= now) {
      this.end(tokenId);
      return 'invalid';
    }
    return s.scope ? { address: s.address, scope: s.scope, tokenId } : { address: s.address, tokenId };
  }

  /**
   * As {@link resolve}, but a credential that is no live session is refused
   * (`unauthorized: session expired or unknown`) rather than read as anonymous.
   */
  authenticate(credential: Credential, now = Date.now()): SessionPrincipal | undefined {
    const p = this.resolve(credential, now);
    if (p === 'invalid') throw unauthorized(SESSION_UNKNOWN);
    return p;
  }

  /** Ends the session of `credential`; false if it is no live session. */
  logout(credential: Credential, now = Date.now()): boolean {
    const p = this.resolve(credential, now);
    if (p === undefined || p === 'invalid') return false;
    this.end(p.tokenId);
    return true;
  }

  /** Ends the expired sessions, and forgets the expired nonces and the failures out of the window. */
  expire(now = Date.now()): void {
    this.dropExpiredNonces(now);
    for (const source of [...this.failures.keys()]) this.recentFailures(source, now);
    for (const [tokenId, s] of this.sessions) if (s.expiresAt <= now) this.end(tokenId);
  }

  private async verify(message: string, signature: string, now: number, host: string | undefined): Promise<Login> {
    if (typeof message !== 'string' || typeof signature !== 'string') throw unauthorized('SIWE message and signature must be strings');
    if (message.length > MESSAGE_BOUNDS.siweMessage) {
      throw unauthorized(`SIWE message of ${message.length} characters, at most ${MESSAGE_BOUNDS.siweMessage} allowed`);
    }
    if (!SIGNATURE_RE.test(signature)) throw unauthorized('SIWE signature must be 65 bytes: 0x and 130 hex digits');
    const m = parseSiweMessage(message);
    for (const field of REQUIRED) {
      if (m[field] === undefined || m[field] === '') {
        throw unauthorized(`not a Sign-In with Ethereum message (EIP-4361): its ${field} is missing or malformed`);
      }
    }
    const domain = m.domain!;
    // The node serves the domains configured, and the Host the login came to (which the
    // host checked against its allowed hosts): a message signed for another node fails.
    if (!this.domains.has(domain.toLowerCase()) && domain.toLowerCase() !== host?.toLowerCase()) throw unauthorized(`SIWE domain ${JSON.stringify(domain.slice(0, 100))} is not served here`);
    const chainId = m.chainId!;
    if (!Number.isSafeInteger(chainId) || BigInt(chainId) !== this.chainId) {
      throw unauthorized(`SIWE chain id ${chainId} is not this chain (${this.chainId})`);
    }
    if (m.version !== '1') throw unauthorized(`SIWE version ${JSON.stringify(m.version)} is not supported (1 is)`);
    for (const field of ['issuedAt', 'expirationTime', 'notBefore'] as const) {
      const time = m[field];
      if (time !== undefined && Number.isNaN(time.getTime())) throw unauthorized(`SIWE ${field} is not an RFC 3339 date-time`);
    }
    if (m.expirationTime && m.expirationTime.getTime() <= now) {
      throw unauthorized(`SIWE message expired at ${m.expirationTime.toISOString()}`);
    }
    if (m.notBefore && m.notBefore.getTime() > now) throw unauthorized(`SIWE message is not valid before ${m.notBefore.toISOString()}`);
    if (m.issuedAt!.getTime() > now + CLOCK_SKEW_MS) throw unauthorized(`SIWE message is issued in the future (${m.issuedAt!.toISOString()})`);
    const nonce = m.nonce!;
    if (!this.nonceLive(nonce, now)) throw unauthorized(NONCE_UNKNOWN);
    const scope = this.scopeOf(m.resources);
    // The checks above, once more as viem's reference validation (nonce syntax, times, address).
    if (!validateSiweMessage({ message: m, domain, nonce, time: new Date(now) })) {
      throw unauthorized('not a valid Sign-In with Ethereum message (EIP-4361)');
    }
    let signer: string;
    try {
      signer = recoverSigner(message, signature);
    } catch {
      throw unauthorized('SIWE signature is malformed');
    }
    const address = m.address!.toLowerCase();
    if (signer !== address) throw unauthorized(`SIWE signature is not by ${address}, the message's address`);
    // Taken only once every check passed: a refused login leaves the nonce usable.
    if (!this.nonceLive(nonce, now) || !this.nonces.delete(nonce)) throw unauthorized(NONCE_UNKNOWN);

    const expiresAt = Math.min(m.expirationTime?.getTime() ?? Infinity, now + this.o.maxSessionMs);
    const token = randomBytes(32).toString('base64url');
    const tokenId = tokenIdOf(Buffer.from(token, 'utf8'));
    this.open(tokenId, scope ? { address, scope, expiresAt } : { address, expiresAt }, now);
    const login: Login = { token, address, expiresAt: Math.floor(expiresAt / 1000) };
    if (scope) login.scope = [...scope];
    return login;
  }

  /** The contracts of this chain named in `resources`; undefined when none is. */
  private scopeOf(resources: string[] | undefined): Set<string> | undefined {
    const scope = new Set<string>();
    for (const r of resources ?? []) {
      if (ADDRESS_RE.test(r)) {
        scope.add(r.toLowerCase());
        continue;
      }
      if (!r.startsWith('eip155:')) continue;
      const caip = CAIP10_RE.exec(r);
      // A contract named for another chain, or misspelt, would otherwise widen the scope silently.
      if (!caip || BigInt(caip[1]!) !== this.chainId) {
        throw unauthorized(`SIWE resource ${JSON.stringify(r.slice(0, 100))} is not a contract of this chain (eip155:${this.chainId}:<address>)`);
      }
      scope.add(caip[2]!.toLowerCase());
    }
    return scope.size > 0 ? scope : undefined;
  }

  private open(tokenId: string, session: Session, now: number): void {
    const mine = this.byAddress.get(session.address) ?? new Set<string>();
    this.byAddress.set(session.address, mine);
    mine.add(tokenId);
    this.sessions.set(tokenId, session);
    while (mine.size > this.o.maxSessionsPerAddress) this.end(mine.values().next().value!);
    if (this.sessions.size > this.o.maxSessions) {
      // Expired ones go first, then the oldest live ones.
      this.expire(now);
      while (this.sessions.size > this.o.maxSessions) this.end(this.sessions.keys().next().value!);
    }
  }

  private end(tokenId: string): void {
    const s = this.sessions.get(tokenId);
    if (!s) return;
    this.sessions.delete(tokenId);
    const mine = this.byAddress.get(s.address)!;
    mine.delete(tokenId);
    if (mine.size === 0) this.byAddress.delete(s.address);
    for (const listener of this.listeners) listener(tokenId);
  }

  private nonceLive(nonce: string, now: number): boolean {
    const issued = this.nonces.get(nonce);
    return issued !== undefined && now - issued < this.o.nonceTtlMs;
  }

  private dropExpiredNonces(now: number): void {
    for (const [nonce, issued] of this.nonces) {
      if (now - issued < this.o.nonceTtlMs) break;
      this.nonces.delete(nonce);
    }
  }

  /** The failures of `source` still in the window (a list to add to). */
  private recentFailures(source: string, now: number): number[] {
    const list = this.failures.get(source) ?? [];
    let old = 0;
    while (old < list.length && now - list[old]! >= this.o.failureWindowMs) old++;
    if (old > 0) list.splice(0, old);
    if (list.length === 0) this.failures.delete(source);
    return list;
  }
}

/** How the enclave names a session: hex sha256 of its token's bytes. */
export function tokenIdOf(credential: Credential): string {
  return createHash('sha256').update(credential).digest('hex');
}

/**
 * The address that signed `message` with EIP-191 personal_sign (an EOA), recovered with
 * the enclave's native ecrecover (~60 us; a pure-JS recovery costs ~1.5 ms of the
 * enclave's thread per login).
 */
function recoverSigner(message: string, signature: string): string {
  const sig = hexToBytes(signature as `0x${string}`);
  const v = BigInt(sig[64]!);
  const publicKey = ecrecover(hexToBytes(hashMessage(message)), v >= 27n ? v - 27n : v, sig.subarray(0, 32), sig.subarray(32, 64));
  return bytesToHex(keccak256(publicKey).subarray(12));
}
