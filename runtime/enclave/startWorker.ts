import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * Starts a worker thread on a TypeScript entry point: the worker registers the same
 * loader (tsx) as the process before importing the entry, since the runtime runs from
 * its sources. `transferList` moves ports (or buffers) named in `workerData`.
 */
export function startWorker(entry: URL, workerData?: unknown, transferList?: TransferListItem[]): Worker {
  const bootstrap = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, transferList });
}
