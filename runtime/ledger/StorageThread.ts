import type { Worker } from 'node:worker_threads';
import { startWorker } from '../enclave/startWorker.ts';
import { LedgerError } from './errors.ts';
import type { SealedAppend, SealedSnapshot } from './LedgerRows.ts';
import type { StorageReply, StorageRequest } from './storageWorker.ts';

type Body<K> = K extends StorageRequest ? Omit<K, 'id'> : never;

/** The handle on the storage thread: each write resolves once it is durable. */
export class StorageThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private gone?: string;

  /** Writes to `dbFile`, which may grow to `maxMb` MiB. */
  constructor(dbFile: string, maxMb: number) {
    this.worker = startWorker(new URL('./storageWorker.ts', import.meta.url), { dbFile, maxMb });
    this.worker.on('message', (reply: StorageReply) => {
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.error === undefined) w?.resolve();
      else w?.reject(new LedgerError(reply.error));
    });
    const failAll = (why: string) => {
      this.gone ??= why;
      for (const w of this.waiting.values()) w.reject(new LedgerError(this.gone));
      this.waiting.clear();
    };
    this.worker.on('error', (err) => failAll(`ledger storage thread failed: ${err.message}`));
    this.worker.on('exit', () => failAll('ledger storage thread stopped'));
  }

  append(rows: SealedAppend): Promise<void> {
    return this.send({ kind: 'append', rows });
  }

  snapshot(snapshot: SealedSnapshot): Promise<void> {
    return this.send({ kind: 'snapshot', snapshot });
  }

  /** Ends the thread after every write sent before has landed. */
  async close(): Promise<void> {
    if (this.gone) return;
    await this.send({ kind: 'close' }).catch(() => {});
    await this.worker.terminate();
  }

  private send(request: Body<StorageRequest>): Promise<void> {
    if (this.gone) return Promise.reject(new LedgerError(this.gone));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }
}
