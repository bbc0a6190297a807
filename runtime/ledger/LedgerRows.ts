import type Database from 'better-sqlite3';

/**
 * The ledger's tables and the statements that write them. Rows hold only ciphertext
 * and keyed hashes, sealed by the {@link Ledger}; writing them needs no key, so the
 * writes can run on a storage thread of their own.
 */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger(seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS snapshots(seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS idx_tx(k BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS idx_block(k BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS idx_log(k BLOB, seq INTEGER, PRIMARY KEY(k, seq)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, body BLOB NOT NULL);
`;

/** One sealed block: its entry, index rows and the new head record, written together. */
export interface SealedAppend {
  seq: number;
  body: Uint8Array;
  txKeys: Uint8Array[];
  blockKey: Uint8Array;
  /** Index keys of the block's log addresses and topics, plus the any-log key if it has logs. */
  logKeys: Uint8Array[];
  headName: string;
  headRecord: Uint8Array;
}

/** One sealed snapshot. */
export interface SealedSnapshot {
  seq: number;
  body: Uint8Array;
}

/** Opens the ledger database with the settings every connection to it uses. */
export function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // FULL: an append that returned survives power loss, which is what callers promise clients.
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
}

/** Writes sealed rows: each append in one SQLite transaction, so all of it lands or none. */
export class RowWriter {
  readonly append: (rows: SealedAppend) => void;
  private readonly putSnap: Database.Statement<unknown[], unknown>;

  constructor(db: Database.Database) {
    const insEntry = db.prepare('INSERT INTO ledger(seq, body) VALUES (?, ?)');
    const insTx = db.prepare('INSERT INTO idx_tx(k, seq) VALUES (?, ?)');
    const insBlock = db.prepare('INSERT INTO idx_block(k, seq) VALUES (?, ?)');
    // OR IGNORE dedupes keys repeated within a block.
    const insLog = db.prepare('INSERT OR IGNORE INTO idx_log(k, seq) VALUES (?, ?)');
    const putMeta = db.prepare('INSERT OR REPLACE INTO meta(name, body) VALUES (?, ?)');
    this.putSnap = db.prepare('INSERT OR REPLACE INTO snapshots(seq, body) VALUES (?, ?)');
    this.append = db.transaction((r: SealedAppend) => {
      insEntry.run(r.seq, r.body);
      for (const k of r.txKeys) insTx.run(k, r.seq);
      insBlock.run(r.blockKey, r.seq);
      for (const k of r.logKeys) insLog.run(k, r.seq);
      putMeta.run(r.headName, r.headRecord);
    });
  }

  snapshot(s: SealedSnapshot): void {
    this.putSnap.run(s.seq, s.body);
  }
}
