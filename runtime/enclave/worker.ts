import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { batcher } from '../boundary/batcher.ts';
import type { EnclaveToHost } from '../boundary/messages.ts';
import { checkInbound } from '../boundary/validate.ts';
import { Enclave } from './Enclave.ts';
import { toEnclaveError } from './EnclaveFailure.ts';

/**
 * The enclave's entry point: one dispatcher over the declared messages. The Enclave
 * orders whatever touches state; the rest (signing) runs alongside. Submissions come
 * on a port of their own, which goes on to the admission thread.
 */
const port = parentPort;
if (!port) throw new Error('runtime/enclave/worker.ts must run in a worker thread');

const { submissions } = (workerData ?? {}) as { submissions?: MessagePort };
const enclave = new Enclave({
  submissions,
  // Without its admission thread the enclave cannot accept transactions: end, so the
  // host fails every request instead of leaving submissions unanswered.
  onFailure: () => process.exit(1),
  notify: (n) => reply({ type: 'notification', ...n }),
});

// Messages arrive in batches (see startEnclave); replies leave in batches too.
const reply = batcher<EnclaveToHost>((batch) => port.postMessage(batch));
port.on('message', (batch: unknown) => {
  if (!Array.isArray(batch)) {
    reply({ type: 'reply', id: -1, ok: false, error: { kind: 'invalidParams', message: 'malformed message: a batch (array) expected' } });
    return;
  }
  for (const message of batch) void handle(message);
});

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
