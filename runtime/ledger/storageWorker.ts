import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { configure, RowWriter, type SealedAppend, type SealedSnapshot } from './LedgerRows.ts';

/**
 * The enclave's storage thread: writes sealed ledger rows (ciphertext and keyed hashes
 * only; it holds no key) on its own SQLite connection, in the order they arrive, each
 * append durable before its answer. Block execution goes on meanwhile.
 */
export type StorageRequest =
  | { id: number; kind: 'append'; rows: SealedAppend }
  | { id: number; kind: 'snapshot'; snapshot: SealedSnapshot }
  | { id: number; kind: 'close' };
export type StorageReply = { id: number; error?: string };

const port = parentPort!;
const { dbFile, maxMb } = workerData as { dbFile: string; maxMb: number };
const db = new Database(dbFile);
configure(db, maxMb);
const writer = new RowWriter(db);
/** After a failed write nothing more is written, so the ledger never has a gap. */
let failure: string | undefined;

port.on('message', (m: StorageRequest) => {
  if (m.kind === 'close') {
    db.close();
    port.postMessage({ id: m.id } satisfies StorageReply);
    port.close();
    return;
  }
  if (failure === undefined) {
    try {
      if (m.kind === 'append') writer.append(m.rows);
      else writer.snapshot(m.snapshot);
    } catch (err) {
      failure = `ledger write failed: ${(err as Error).message}`;
    }
  }
  port.postMessage({ id: m.id, error: failure } satisfies StorageReply);
});
