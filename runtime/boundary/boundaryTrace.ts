import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { EnclaveToHost, HostToEnclave } from './messages.ts';

/** What a traced reply answers: the request as far as the host already knew it, with its caller hashed. */
export interface TracedRequest {
  id: number;
  type: HostToEnclave['type'];
  /** The read, filter, session or subscription kind asked for. */
  kind?: string;
  /** Hex SHA-256 of the caller's credential; absent for an anonymous request. */
  caller?: string;
  /** The WebSocket connection the request came on (its notifications name it). */
  connection?: number;
}

/** One line of the trace: a message the enclave handed the host, and the request it answers. */
export interface TraceRecord {
  message: EnclaveToHost;
  /** Absent for notifications (they name their connection) and for replies to no request of this host. */
  request?: TracedRequest;
}

/** The host's record of the enclave's messages (see {@link boundaryTraceFromEnv}). */
export interface BoundaryTrace {
  /** Notes a request, so that its reply can say whom it answered. */
  asked(message: HostToEnclave): void;
  /** Appends the messages the enclave handed the host. */
  received(messages: EnclaveToHost[]): void;
}

/**
 * `CONCLAVE_BOUNDARY_TRACE=<file>`: appends every message the enclave hands the host to
 * `<file>`, one JSON line each ({@link TraceRecord}), for auditing that nothing
 * confidential leaves the enclave except in an answer to a caller allowed to see it.
 * It records only what the host receives anyway; callers appear as the SHA-256 of
 * their credential, never the credential. Unset (the default): no trace. A diagnostic,
 * slow by design (one synchronous write per batch): not for production.
 */
export function boundaryTraceFromEnv(env: NodeJS.ProcessEnv = process.env): BoundaryTrace | undefined {
  const file = env.CONCLAVE_BOUNDARY_TRACE;
  if (!file) return undefined;
  // A path that cannot be written fails the start, not the first reply.
  appendFileSync(file, '', { mode: 0o600 });
  const open = new Map<number, TracedRequest>();
  return {
    asked(m) {
      const r = m as { caller?: Uint8Array; connection?: number; query?: { kind: string }; request?: { kind?: string }; subscription?: { kind: string } };
      const kind = r.query?.kind ?? r.request?.kind ?? r.subscription?.kind;
      open.set(m.id, {
        id: m.id,
        type: m.type,
        ...(kind !== undefined ? { kind } : {}),
        ...(r.caller?.length ? { caller: createHash('sha256').update(r.caller).digest('hex') } : {}),
        ...(r.connection !== undefined ? { connection: r.connection } : {}),
      });
    },
    received(messages) {
      let lines = '';
      for (const message of messages) {
        const request = message.type === 'reply' ? open.get(message.id) : undefined;
        if (request) open.delete(request.id);
        lines += encode(request ? { message, request } : { message }) + '\n';
      }
      appendFileSync(file, lines, { mode: 0o600 });
    },
  };
}

/** JSON that keeps what structured clone carries and JSON does not: bigints, bytes, maps, sets. */
function encode(record: TraceRecord): string {
  return JSON.stringify(record, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    if (typeof raw === 'bigint') return { $bigint: raw.toString() };
    if (raw instanceof Uint8Array) return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex') };
    if (raw instanceof Map) return { $map: [...raw] };
    if (raw instanceof Set) return { $set: [...raw] };
    return value;
  });
}
