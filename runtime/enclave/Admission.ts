import type { MessagePort, Worker } from 'node:worker_threads';
import { batcher } from '../boundary/batcher.ts';
import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Admitted } from '../boundary/messages.ts';
import type { AdmissionData, AdmissionMessage, AdmissionRequest } from './admissionWorker.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';
import { startWorker } from './startWorker.ts';
import type { PoolUpdate } from './TxPool.ts';

type Asked = AdmissionRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface AdmissionOptions {
  chainId: bigint;
  envelopeKey: Uint8Array;
  blockGasLimit: bigint;
  /** Base fee of the next block, until the first update. */
  baseFee: bigint;
  /** The enclave's limits; the pool takes its own (poolSlots, ...). */
  limits: EnclaveLimits;
  /** The host's submission port (absent in-process). */
  hostPort?: MessagePort;
  /** A consortium network: the only senders admitted (lowercase). Absent: any sender. */
  registered?: string[];
  /** The current accounts of senders the pool starts to follow. */
  lookup(addresses: string[]): PoolUpdate;
  /** Accounts the pool stopped following: updates may leave them out. */
  unfollow(addresses: string[]): void;
  /** Hashes of transactions the pool took (for pending-transaction filters and subscriptions). */
  onAdmitted(hashes: string[]): void;
  /** The thread failed: transactions can no longer be accepted. */
  onFailure(err: Error): void;
}

/** The executing thread's handle on the admission thread, which holds the pool. */
export class Admission {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private readonly send: (m: AdmissionRequest) => void;
  private closing = false;
  private failure?: Error;

  constructor(opts: AdmissionOptions) {
    const data: AdmissionData = {
      chainId: opts.chainId.toString(),
      envelopeKey: opts.envelopeKey,
      registered: opts.registered,
      blockGasLimit: opts.blockGasLimit.toString(),
      baseFee: opts.baseFee.toString(),
      limits: opts.limits,
      hostPort: opts.hostPort,
    };
    this.worker = startWorker(new URL('./admissionWorker.ts', import.meta.url), data, opts.hostPort ? [opts.hostPort] : []);
    this.send = batcher((batch) => this.worker.postMessage(batch));
    this.worker.on('message', (batch: AdmissionMessage[]) => {
      const asked: string[] = [];
      const admitted: string[] = [];
      for (const m of batch) {
        if (m.kind === 'admitted') {
          admitted.push(m.hash);
          continue;
        }
        if (m.kind === 'lookup') {
          asked.push(m.address);
          continue;
        }
        if (m.kind === 'unfollow') {
          opts.unfollow(m.addresses);
          continue;
        }
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) w?.reject(new EnclaveFailure(m.error.kind, m.error.message, m.error.data));
        else w?.resolve(m.value);
      }
      if (asked.length) this.send({ kind: 'update', update: opts.lookup(asked) });
      if (admitted.length) opts.onAdmitted(admitted);
    });
    const fail = (err: Error) => {
      if (this.closing || this.failure) return;
      this.failure = err;
      for (const w of this.waiting.values()) w.reject(new EnclaveFailure('internal', 'admission thread stopped'));
      this.waiting.clear();
      opts.onFailure(err);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`admission thread exited (${code})`)));
  }

  /** Validates and admits a signed transaction; returns the envelopes it made executable. */
  admit(raw: Uint8Array): Promise<Admitted> {
    return this.ask({ kind: 'admit', raw });
  }

  /**
   * Admits a transaction sent as `sender` without its signature (an impersonated sender
   * on the dev network: its signature is a placeholder); sealed so that execution takes
   * `sender` as the sender.
   */
  admitAs(raw: Uint8Array, sender: string): Promise<Admitted> {
    return this.ask({ kind: 'admit', raw, sender });
  }

  /** A sender's next nonce, counting its transactions in the pool. */
  nextNonce(address: string): Promise<bigint> {
    return this.ask({ kind: 'nextNonce', address });
  }

  /** A transaction in the pool (admitted, not yet in a block; pending or queued). */
  pending(hash: string): Promise<{ sender: string; envelope: Uint8Array } | undefined> {
    return this.ask({ kind: 'pending', hash });
  }

  /** Reports what blocks changed for the senders the pool follows. */
  update(update: PoolUpdate): void {
    if (!this.failure) this.send({ kind: 'update', update });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private ask<T>(request: Asked): Promise<T> {
    if (this.failure) return Promise.reject(new EnclaveFailure('internal', 'admission thread stopped'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.send({ ...request, id } as AdmissionRequest);
    });
  }
}
