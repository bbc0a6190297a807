import { parentPort } from 'node:worker_threads';
import type { EnclaveToHost } from '../boundary/messages.ts';
import { checkInbound } from '../boundary/validate.ts';
import { LedgerError } from '../ledger/errors.ts';
import { Enclave } from './Enclave.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';

/**
 * The enclave's entry point: one dispatcher over the declared messages. The Enclave
 * orders whatever touches state; the rest (sender recovery, signing) runs alongside.
 */
const port = parentPort;
if (!port) throw new Error('runtime/enclave/worker.ts must run in a worker thread');

const enclave = new Enclave();

// Messages arrive in batches (see startEnclave); replies leave in batches too.
port.on('message', (batch: unknown) => {
  if (!Array.isArray(batch)) {
    reply({ type: 'reply', id: -1, ok: false, error: { kind: 'invalidParams', message: 'malformed message: a batch (array) expected' } });
    return;
  }
  for (const message of batch) void handle(message);
});

let outbox: EnclaveToHost[] = [];
function flush(): void {
  const batch = outbox;
  outbox = [];
  port!.postMessage(batch);
}

async function handle(message: unknown): Promise<void> {
  const id = typeof (message as { id?: unknown })?.id === 'number' ? (message as { id: number }).id : -1;
  const problem = checkInbound(message);
  if (problem) return reply({ type: 'reply', id, ok: false, error: { kind: 'invalidParams', message: `malformed message: ${problem}` } });
  try {
    const value = await enclave.handle(message as never);
    reply({ type: 'reply', id, ok: true, value });
    // After a shutdown the thread ends by itself (so profilers and exit hooks run).
    if ((message as { type: string }).type === 'shutdown') setImmediate(() => process.exit(0));
  } catch (err) {
    reply({ type: 'reply', id, ok: false, error: toEnclaveError(err) });
  }
}

function reply(message: EnclaveToHost): void {
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(message);
}

function toEnclaveError(err: unknown): (EnclaveToHost & { ok: false })['error'] {
  if (err instanceof EnclaveFailure) return { kind: err.kind, message: err.message, data: err.data };
  // Ledger errors name entries and files, never content: safe to pass on.
  if (err instanceof LedgerError) return { kind: 'internal', message: err.message };
  // Anything else may carry confidential values in its message: log where, not what.
  const stack = String((err as Error)?.stack ?? '').split('\n').slice(1, 6).join('\n');
  console.error(`enclave: internal error (${(err as Error)?.name ?? typeof err})\n${stack}`);
  return { kind: 'internal', message: 'internal error' };
}
