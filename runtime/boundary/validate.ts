import type { HostToEnclave } from './messages.ts';

/**
 * Checks the shape of an inbound message before the enclave acts on it: the host is
 * untrusted, so a malformed message must be answered with an error, never a crash.
 * Returns a reason, or undefined when the message is well-formed.
 */
export function checkInbound(m: unknown): string | undefined {
  if (!isObject(m)) return 'message is not an object';
  if (!Number.isSafeInteger(m.id)) return 'message id must be an integer';
  switch (m.type) {
    case 'init':
      return isObject(m.config) && typeof m.config.dataDir === 'string' && typeof m.config.chainId === 'bigint'
        ? undefined
        : 'init needs config with dataDir and chainId';
    case 'submit':
      return m.raw instanceof Uint8Array && m.raw.length > 0 ? undefined : 'submit needs raw bytes';
    case 'sendTransaction':
      return isCredential(m.caller) && isObject(m.request) ? undefined : 'sendTransaction needs caller and request';
    case 'order':
      return Array.isArray(m.entries) && m.entries.every(isOrderedEntry) ? undefined : 'order needs log entries';
    case 'durable':
      return typeof m.number === 'bigint' && m.number >= 0n ? undefined : 'durable needs a block number';
    case 'read':
      return isCredential(m.caller) && isObject(m.query) && typeof m.query.kind === 'string'
        ? undefined
        : 'read needs caller and query';
    case 'sign':
      return isCredential(m.caller) && isObject(m.request) && typeof m.request.address === 'string'
        ? undefined
        : 'sign needs caller and request';
    case 'shutdown':
      return undefined;
    default:
      return `unknown message type ${JSON.stringify(String(m.type)).slice(0, 40)}`;
  }
}

export function isHostToEnclave(m: unknown): m is HostToEnclave {
  return checkInbound(m) === undefined;
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCredential(v: unknown): boolean {
  return v instanceof Uint8Array;
}

function isOrderedEntry(e: unknown): boolean {
  if (!isObject(e)) return false;
  if (e.kind === 'tx') return e.envelope instanceof Uint8Array && e.envelope.length > 28;
  if (e.kind === 'cut') return Number.isFinite(e.timestamp) && typeof e.allowEmpty === 'boolean';
  return false;
}
