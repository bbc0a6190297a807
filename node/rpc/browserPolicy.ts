/**
 * What a web browser may do with the node. Two browser attacks reach a node on
 * localhost: DNS rebinding (a page on rebind.attacker.example whose name then resolves
 * to 127.0.0.1: its requests carry `Host: rebind.attacker.example`) and plain
 * cross-site requests (a page of any origin posting to http://localhost:8545, or
 * opening a WebSocket there, which browsers do not restrict). The first is stopped by
 * serving only Host names on an allowlist, as geth's `--http.vhosts`; the second by
 * refusing methods that sign with the node's keys to pages of origins not trusted.
 */

/** Host names served by default: a DNS-rebinding page cannot have any of these as its Host. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];
/** Browser origins that may read answers (CORS); `*` as Anvil. */
export const DEFAULT_CORS_ORIGINS: readonly string[] = ['*'];

export interface BrowserPolicyOptions {
  /** Host header names served (any port) besides the defaults; `*` serves any. */
  allowedHosts?: readonly string[];
  /** Origins (`https://app.example`) whose pages may read answers; `*` for any. */
  corsOrigins?: readonly string[];
}

/** The decisions the transport asks for, each from request headers only. */
export interface BrowserPolicy {
  /** Whether a request with this Host header is served; a missing one is (no browser omits it). */
  hostAllowed(host: string | undefined): boolean;
  /**
   * Whether this Host header names the node by a name listed (the defaults or
   * --allowed-hosts), not merely let in by `*`: only such a Host may serve as a Sign-In
   * with Ethereum domain, or a page could replay a signature made for its own domain.
   */
  hostListed(host: string | undefined): boolean;
  /**
   * Whether the caller may use node-held keys: no Origin header (curl, ethers in Node,
   * cast), an origin whose host name is on the explicit host allowlist (a dapp on
   * http://localhost:3000), or an origin listed explicitly in the CORS origins.
   */
  originTrusted(origin: string | undefined): boolean;
  /** Whether a browser page of this origin may read answers (CORS) or open a WebSocket: trusted or CORS-listed. */
  originMayRead(origin: string | undefined): boolean;
  /** The CORS headers for a response to a request with this Origin header. */
  corsHeaders(origin: string | undefined): Record<string, string>;
}

const CORS_COMMON = {
  'access-control-allow-methods': 'POST, GET, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
  'access-control-max-age': '86400',
};

/** Lowercases a host name and brackets a bare IPv6 address, as it appears in a URL. */
function normaliseHostName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
}

/** The host name of a Host header: `localhost:8545` → `localhost`, `[::1]:8545` → `[::1]`. */
function hostNameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/** An origin in the form browsers send it (`scheme://host[:port]`), or undefined if it is not one. */
function canonicalOrigin(origin: string): { origin: string; hostName: string } | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  // Opaque origins ("null" from sandboxed frames and file: pages) have no host to trust.
  if (url.origin === 'null' || url.hostname === '') return undefined;
  return { origin: url.origin, hostName: normaliseHostName(url.hostname) };
}

/** Builds the policy from the configured allowlists. */
export function createBrowserPolicy(opts: BrowserPolicyOptions = {}): BrowserPolicy {
  const hostList = [...DEFAULT_ALLOWED_HOSTS, ...(opts.allowedHosts ?? [])].map((h) => h.trim()).filter((h) => h !== '');
  const anyHost = hostList.includes('*');
  const hosts = new Set(hostList.filter((h) => h !== '*').map(normaliseHostName));
  const corsList = (opts.corsOrigins ?? DEFAULT_CORS_ORIGINS).map((o) => o.trim()).filter((o) => o !== '');
  const anyOrigin = corsList.includes('*');
  const origins = new Set<string>();
  for (const o of corsList) {
    const c = o === '*' ? undefined : canonicalOrigin(o);
    if (c !== undefined) origins.add(c.origin);
  }

  function originTrusted(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    const c = canonicalOrigin(origin);
    // `*` opens reading to every origin, never key use: only explicit entries count.
    return c !== undefined && (hosts.has(c.hostName) || origins.has(c.origin));
  }

  function originMayRead(origin: string | undefined): boolean {
    return anyOrigin || originTrusted(origin);
  }

  return {
    hostAllowed(host) {
      if (host === undefined || anyHost) return true;
      return hosts.has(hostNameOf(host));
    },
    hostListed(host) {
      return host !== undefined && hosts.has(hostNameOf(host));
    },
    originTrusted,
    originMayRead,
    corsHeaders(origin): Record<string, string> {
      if (anyOrigin) return { 'access-control-allow-origin': '*', ...CORS_COMMON };
      // Without the allow-origin header the browser keeps the answer from the page.
      if (origin === undefined || !originMayRead(origin)) return { vary: 'origin' };
      return { 'access-control-allow-origin': canonicalOrigin(origin)!.origin, vary: 'origin', ...CORS_COMMON };
    },
  };
}
