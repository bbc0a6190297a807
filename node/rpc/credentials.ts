/**
 * The caller's credential, as the host finds it on a request: a session token from
 * `Authorization: Bearer <token>` or from the URL path `/s/<token>` (for clients that
 * take only a URL: ethers, viem, cast, browser wallets). The host does not interpret
 * it: the enclave alone decides what it is worth. Tokens never appear in a log line:
 * log a URL only through {@link redactUrl}, and never a request's headers.
 */
import { UnauthorizedError } from './errors.ts';

/** What a request carries: its credential (empty: anonymous) and its path with any token taken out. */
export interface FoundCredential {
  credential: Uint8Array;
  /** `/` for `/s/<token>` and `/s/<token>/`; other paths as they came (query string dropped). */
  path: string;
}

/** The endpoint of a session: `/s/<token>` or `/s/<token>/`, with or without a query string. */
const SESSION_PATH_RE = /^\/s\/([^/?#]+)\/?(?:[?#]|$)/;
const BEARER_RE = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const NONE = new Uint8Array(0);

/**
 * The credential of a request (an HTTP request, or a WebSocket's upgrade request). A
 * header that is not `Bearer` (a proxy's Basic credentials, say) is not the node's and
 * is ignored. Both a Bearer token and a session path naming another token are refused
 * (4100), since the node cannot tell which one the caller meant.
 */
export function credentialOf(req: { headers: { authorization?: string | string[] }; url?: string }): FoundCredential {
  const url = req.url ?? '/';
  const inPath = SESSION_PATH_RE.exec(url)?.[1];
  const header = req.headers.authorization;
  const inHeader = typeof header === 'string' ? BEARER_RE.exec(header)?.[1] : undefined;
  if (inPath !== undefined && inHeader !== undefined && inPath !== inHeader) {
    throw new UnauthorizedError('unauthorized: two different credentials, one in the Authorization header and one in the URL path (/s/<token>); send one');
  }
  const token = inHeader ?? inPath;
  return {
    credential: token === undefined ? NONE : Buffer.from(token, 'utf8'),
    path: inPath !== undefined ? '/' : pathOf(url),
  };
}

/** `url` (a path, or an absolute URL) with every session token replaced by `<redacted>`. */
export function redactUrl(url: string): string {
  return url.replace(/\/s\/[^/?#\s]+/g, '/s/<redacted>');
}

function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}
