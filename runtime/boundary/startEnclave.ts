import { MessageChannel } from 'node:worker_threads';
import { startWorker } from '../enclave/startWorker.ts';
import { batcher } from './batcher.ts';
import { boundaryTraceFromEnv } from './boundaryTrace.ts';
import type { EnclaveError, EnclaveToHost, HostToEnclave, Notification, ReplyValues } from './messages.ts';

type Request = HostToEnclave extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

/** The failure the enclave answered with, as the host sees it. */
export class EnclaveReplyError extends Error {
  constructor(readonly error: EnclaveError) {
    super(error.message);
  }
}

/** The host's handle on the enclave: typed requests in, typed replies out. */
export interface EnclaveHandle {
  request<T extends Request>(message: T): Promise<ReplyValues[T['type']]>;
  /** Stops the worker, first giving it up to `graceMs` to end by itself (after a shutdown). */
  terminate(graceMs?: number): Promise<void>;
  onExit(fn: (code: number) => void): void;
  /** Subscriptions' notifications, each for the host to send on the connection it names. */
  onNotification(fn: (n: Notification) => void): void;
}

/**
 * Starts the enclave worker. This is the only way the host reaches runtime/: through
 * the messages declared in ./messages.ts. `submit` goes on a port of its own to the
 * enclave's admission thread, so accepting a transaction never waits for execution;
 * every other request goes to the enclave's main thread.
 */
export function startEnclave(): EnclaveHandle {
  const { port1: submissions, port2 } = new MessageChannel();
  const worker = startWorker(new URL('../enclave/worker.ts', import.meta.url), { submissions: port2 }, [port2]);
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const notified: ((n: Notification) => void)[] = [];
  // CONCLAVE_BOUNDARY_TRACE: a record of everything the enclave hands the host, for audits.
  const trace = boundaryTraceFromEnv();
  const onReplies = (replies: EnclaveToHost[]) => {
    trace?.received(replies);
    for (const m of replies) {
      if (m.type === 'notification') {
        for (const fn of notified) fn(m);
        continue;
      }
      const w = waiting.get(m.id);
      if (!w) continue;
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new EnclaveReplyError(m.error));
    }
  };
  worker.on('message', onReplies);
  submissions.on('message', onReplies);
  // Requests made in one turn of the event loop cross in one message. The flush runs
  // outside any request, so a message the structured clone refuses (a client's JSON
  // nested deeper than the clone's stack) must fail alone here, not throw the process down.
  const post = (target: { postMessage(batch: HostToEnclave[]): void }) => (batch: HostToEnclave[]) => {
    try {
      target.postMessage(batch);
      return;
    } catch {
      // Found below, one by one.
    }
    for (const m of batch) {
      try {
        target.postMessage([m]);
      } catch (err) {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        w?.reject(
          new EnclaveReplyError(
            err instanceof RangeError
              ? { kind: 'invalidParams', message: `malformed message: ${m.type}: nested too deeply to cross the enclave boundary` }
              : { kind: 'internal', message: `${m.type} message could not cross the enclave boundary` },
          ),
        );
      }
    }
  };
  const toMain = batcher<HostToEnclave>(post(worker));
  const toAdmission = batcher<HostToEnclave>(post(submissions));
  const failAll = (why: string) => {
    exited = true;
    submissions.close();
    for (const w of waiting.values()) w.reject(new EnclaveReplyError({ kind: 'internal', message: why }));
    waiting.clear();
  };
  worker.on('error', (err) => {
    // An uncaught error's message may quote enclave data: its kind only.
    console.error(`enclave worker failed: ${err.name}`);
    failAll('enclave stopped');
  });
  worker.on('exit', () => failAll('enclave stopped'));
  return {
    request(message) {
      if (exited) return Promise.reject(new EnclaveReplyError({ kind: 'internal', message: 'enclave stopped' }));
      const id = nextId++;
      trace?.asked({ ...message, id } as HostToEnclave);
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        (message.type === 'submit' ? toAdmission : toMain)({ ...message, id } as HostToEnclave);
      });
    },
    async terminate(graceMs = 0) {
      if (exited) return;
      if (graceMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await worker.terminate();
    },
    onExit(fn) {
      worker.on('exit', fn);
    },
    onNotification(fn) {
      notified.push(fn);
    },
  };
}
