import type { Worker } from 'node:worker_threads';
import type { AdmissionReply, AdmissionRequest } from './admissionWorker.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';
import type { Inspected } from './inspect.ts';
import { startWorker } from './startWorker.ts';

/** The main enclave thread's handle on the admission thread. */
export class Admission {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (reply: AdmissionReply | undefined) => void>();
  private nextId = 1;
  private alive = true;
  /** Requests of one event-loop turn cross in one message (as replies come back). */
  private outbox: AdmissionRequest[] = [];

  constructor(chainId: bigint, envelopeKey: Uint8Array) {
    this.worker = startWorker(new URL('./admissionWorker.ts', import.meta.url), { chainId: chainId.toString(), envelopeKey });
    this.worker.on('message', (replies: AdmissionReply[]) => {
      for (const reply of replies) {
        const done = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        done?.(reply);
      }
    });
    // If the thread fails, callers get undefined and inspect inline instead.
    const failAll = () => {
      this.alive = false;
      for (const done of this.waiting.values()) done(undefined);
      this.waiting.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', failAll);
  }

  /** The inspected transaction; undefined if the thread is gone; throws what admission rejects. */
  async inspect(raw: Uint8Array): Promise<Inspected | undefined> {
    if (!this.alive) return undefined;
    const id = this.nextId++;
    const reply = await new Promise<AdmissionReply | undefined>((resolve) => {
      this.waiting.set(id, resolve);
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push({ id, raw });
    });
    if (reply?.error) throw new EnclaveFailure(reply.error.kind, reply.error.message);
    return reply?.inspected;
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (this.alive) this.worker.postMessage(batch);
    else for (const { id } of batch) this.waiting.get(id)?.(undefined);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
