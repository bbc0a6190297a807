import type Database from 'better-sqlite3';

/**
 * The ledger's tables and the statements that write them. Rows hold only ciphertext
 * and keyed hashes, sealed by the {@link Ledger}; writing them needs no key, so the
 * writes can run on a storage thread of their own.
 */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger(seq INTEGER PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL, body BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS snapshots(seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS idx_tx(k BLOB PRIMARY KEY, block INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS idx_block(k BLOB PRIMARY KEY, block INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS idx_log(k BLOB, block INTEGER, PRIMARY KEY(k, block)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, body BLOB NOT NULL);
`;

/** One sealed entry: its row, its blocks' index rows and the new head record, written together. */
export interface SealedAppend {
  /** The entry's number (append order), and the blocks it covers. */
  seq: number;
  first: number;
  last: number;
  body: Uint8Array;
  /** [index key, block number] rows. */
  txKeys: [Uint8Array, number][];
  blockKeys: [Uint8Array, number][];
  /** Keys of each block's log addresses and topics, plus the any-log key of each block with logs. */
  logKeys: [Uint8Array, number][];
  headName: string;
  headRecord: Uint8Array;
}

/** One sealed snapshot, of the state as of ledger entry `seq`. */
export interface SealedSnapshot {
  seq: number;
  body: Uint8Array;
}

/** SQLite's page size (its default), for the size limit. */
const PAGE_BYTES = 4096;

/**
 * Opens the ledger database with the settings every connection to it uses; `maxMb`
 * bounds its size (a write beyond it fails as on a full disk: "database or disk is full").
 */
export function configure(db: Database.Database, maxMb?: number): void {
  db.pragma('journal_mode = WAL');
  // FULL: an append that returned survives power loss, which is what callers promise clients.
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  if (maxMb !== undefined) db.pragma(`max_page_count = ${Math.floor((maxMb * 1024 * 1024) / PAGE_BYTES)}`);
}

/** Writes sealed rows: each append in one SQLite transaction, so all of it lands or none. */
export class RowWriter {
  readonly append: (rows: SealedAppend) => void;
  private readonly putSnap: Database.Statement<unknown[], unknown>;

  constructor(db: Database.Database) {
    const insEntry = db.prepare('INSERT INTO ledger(seq, first, last, body) VALUES (?, ?, ?, ?)');
    // OR REPLACE: a block number given again (an entry that replaced blocks) is indexed anew.
    const insTx = db.prepare('INSERT OR REPLACE INTO idx_tx(k, block) VALUES (?, ?)');
    const insBlock = db.prepare('INSERT OR REPLACE INTO idx_block(k, block) VALUES (?, ?)');
    // OR IGNORE dedupes keys repeated within a block.
    const insLog = db.prepare('INSERT OR IGNORE INTO idx_log(k, block) VALUES (?, ?)');
    const putMeta = db.prepare('INSERT OR REPLACE INTO meta(name, body) VALUES (?, ?)');
    this.putSnap = db.prepare('INSERT OR REPLACE INTO snapshots(seq, body) VALUES (?, ?)');
    this.append = db.transaction((r: SealedAppend) => {
      insEntry.run(r.seq, r.first, r.last, r.body);
      for (const [k, block] of r.txKeys) insTx.run(k, block);
      for (const [k, block] of r.blockKeys) insBlock.run(k, block);
      for (const [k, block] of r.logKeys) insLog.run(k, block);
      putMeta.run(r.headName, r.headRecord);
    });
  }

  snapshot(s: SealedSnapshot): void {
    this.putSnap.run(s.seq, s.body);
  }
}
