import type { Worker } from 'node:worker_threads';
import type { RecoveryReply } from './recoveryWorker.ts';
import { startWorker } from './startWorker.ts';

/** The main enclave thread's handle on the sender-recovery thread. */
export class Recovery {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (publicKey: Uint8Array | undefined) => void>();
  private nextId = 1;
  private alive = true;

  constructor(chainId: bigint) {
    this.worker = startWorker(new URL('./recoveryWorker.ts', import.meta.url), { chainId: chainId.toString() });
    this.worker.on('message', ({ id, publicKey }: RecoveryReply) => {
      const done = this.waiting.get(id);
      this.waiting.delete(id);
      done?.(publicKey);
    });
    // If the thread fails, callers get undefined and recover inline instead.
    const failAll = () => {
      this.alive = false;
      for (const done of this.waiting.values()) done(undefined);
      this.waiting.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', failAll);
  }

  /** The sender's public key, or undefined if it could not be recovered there. */
  recover(raw: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.alive) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, raw });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
