/**
 * The enclave's untrusted-storage layer: an append-only, encrypted, hash-chained
 * ledger in SQLite, plus encrypted snapshots, keyed-hash indexes and encrypted meta.
 *
 * Everything written to disk is either AES-256-GCM ciphertext or an HMAC output, so
 * the host learns sizes and counts but no payload, tx hash, block hash, address or
 * topic. Everything read back is authenticated before use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { fsyncDir, mkdirDurable, writeFileOnce } from './atomicFile.ts';
import { configure, RowWriter, type SealedAppend, type SealedSnapshot } from './LedgerRows.ts';
import { LedgerCorruptError, LedgerError } from './errors.ts';

const FORMAT_FILE = 'FORMAT';
const FORMAT_LINE = 'conclave-data 2\n';
const FORMAT_VERSION = 2;
const KEY_FILE = 'sealed-storage.key';
/** The network secret: commitments, salts and envelope keys derive from it (see networkKeys.ts). */
const NETWORK_KEY_FILE = 'sealed-network.key';
const DB_FILE = 'conclave.db';
/** Files of the node's own in a data directory; nothing else there is ever changed or removed. */
const OWN_FILES = [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, `${DB_FILE}-journal`, KEY_FILE, NETWORK_KEY_FILE, FORMAT_FILE];
/** The temp files writeFileOnce leaves if the process dies between writing and linking. */
const OWN_TEMP_FILE = /^\.(?:FORMAT|sealed-storage\.key|sealed-network\.key)\.[0-9a-f]{12}\.tmp$/;
/** Owner only: the files hold ciphertext, but sizes, counts and timing are still the node's own. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const HASH_BYTES = 32;
const ZERO_HASH = Buffer.alloc(HASH_BYTES);

const AAD_ENTRY = Buffer.from('conclave/ledger/v1');
const AAD_SNAPSHOT = Buffer.from('conclave/snapshot/v1');
const AAD_META = Buffer.from('conclave/meta/v1');
const AAD_SEAL = Buffer.from('conclave/seal/v1/storage-key');
const AAD_SEAL_NETWORK = Buffer.from('conclave/seal/v1/network-secret');

// One-byte domain tags for index keys, so a value indexed under one kind can never
// collide with the same bytes indexed under another.
const DOM_TX = 1;
const DOM_BLOCK = 2;
const DOM_LOG = 3;
const DOM_LOG_ANY = 4;

/**
 * Meta name of the authenticated head record (seq + hash of the head body), rewritten in
 * every append's transaction. Without it, deleting the newest rows would go unnoticed:
 * the hash chain only protects entries that have a successor. The leading NUL keeps it
 * out of the namespace callers can use.
 */
const HEAD_META = '\0head';

/** One block's worth of durable data, as handed to {@link Ledger.append}. */
export interface LedgerAppend {
  /** Block number; must be head + 1 (0 for genesis). */
  seq: number;
  /** Opaque block data (block, write set, receipts); stored encrypted. */
  payload: Uint8Array;
  /** Hashes of the block's transactions, indexed to `seq`. */
  txHashes: Uint8Array[];
  /** The block's hash, indexed to `seq`. */
  blockHash: Uint8Array;
  /** Raw 20-byte log addresses and 32-byte topics of the block's logs; duplicates are fine. */
  logKeys: Uint8Array[];
}

/** Options for {@link Ledger.open}. */
export interface LedgerOpenOptions {
  /** 32-byte platform secret (see loadPlatformSecret); seals the storage key. */
  platformSecret: Buffer;
  /** Initialise an empty/missing directory. If false, the directory must already hold a ledger. */
  create: boolean;
}

function hkdf(ikm: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), info, 32));
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** `prefix || seq as 8-byte big-endian`, the AAD that pins a ciphertext to its position. */
function seqAad(prefix: Buffer, seq: number): Buffer {
  const aad = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(seq), prefix.length);
  return aad;
}

/*
 * AEAD format for every record: body = IV (12) || ciphertext || tag (16), AES-256-GCM.
 *
 * Why the IV cannot repeat in practice: it is 96 random bits from the OS CSPRNG, and each
 * key (entry, snapshot, meta, seal) is used for one kind of record only. NIST SP 800-38D
 * allows 2^32 encryptions per key with random IVs (collision chance below 2^-32). The
 * busiest keys (entry, and meta via the head record) are used once per block, so reaching
 * the bound takes 2^32 blocks — 136 years at one block per second — and rotating the
 * ledger secret resets the count.
 *
 * Why the AAD binds the position: the tag covers the record's kind and sequence number
 * (or meta name), so a genuine ciphertext moved to another row — swapped entries, an old
 * snapshot relabelled as newer, one meta value served under another name — fails
 * authentication instead of being accepted as valid data at the wrong place.
 */
function seal(key: Buffer, aad: Buffer, ...parts: Uint8Array[]): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const chunks: Uint8Array[] = [iv];
  for (const p of parts) chunks.push(cipher.update(p));
  chunks.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(chunks);
}

/** Returns the plaintext, or undefined if the body is malformed or fails authentication. */
function unseal(key: Buffer, aad: Buffer, body: Buffer): Buffer | undefined {
  if (body.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * Reads a sealed 32-byte key, creating and sealing a fresh random one on first use (the
 * storage key; the network secret, created here at genesis, inside the enclave).
 */
function loadSealedKey(dir: string, name: string, aad: Buffer, sealKey: Buffer, create: boolean, dbExists: boolean): Buffer {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    if (!create) throw new LedgerError(`data directory ${dir} has no ${name}; it is not an initialised Conclave data directory`);
    // A database without its key is unreadable forever; refuse rather than silently start a new key.
    if (dbExists) throw new LedgerError(`data directory ${dir} has ${DB_FILE} but its ${name} is missing; the data cannot be used. Restore the key file or start with --reset.`);
    writeFileOnce(file, seal(sealKey, aad, randomBytes(32)), 0o600); // lost race → use the winner's key
  }
  const key = unseal(sealKey, aad, fs.readFileSync(file));
  if (!key || key.length !== 32) {
    throw new LedgerError(`cannot unseal ${name}: this data directory was sealed on another platform`);
  }
  return key;
}

/** Checks (or, when creating, writes) the data-format marker. */
function checkFormat(dir: string, create: boolean, dbExists: boolean): void {
  const file = path.join(dir, FORMAT_FILE);
  if (!fs.existsSync(file)) {
    if (!create) throw new LedgerError(`data directory ${dir} has no ${FORMAT_FILE} file; it is not an initialised Conclave data directory`);
    if (dbExists) throw new LedgerError(`data directory ${dir} has ${DB_FILE} but no ${FORMAT_FILE} file; refusing to guess its format. Start with --reset.`);
    writeFileOnce(file, FORMAT_LINE, FILE_MODE);
  }
  const found = fs.readFileSync(file, 'utf8');
  if (found !== FORMAT_LINE) {
    throw new LedgerError(`data directory ${dir} has data format "${found.trim()}"; this Conclave reads format ${FORMAT_VERSION}. Use a matching Conclave version or start with --reset.`);
  }
}


/**
 * Makes the data directory owner-only. A looser existing directory is tightened when it
 * holds nothing but the node's own files (it is the node's); one that holds other files
 * is refused, since changing the mode of a directory shared with others (a home, /tmp)
 * could break them.
 */
function protectDirectory(dir: string): void {
  const stat = fs.statSync(dir);
  if (!stat.isDirectory()) throw new LedgerError(`data directory ${dir} is not a directory`);
  const mode = stat.mode & 0o777;
  if (process.platform === 'win32' || (mode & 0o077) === 0) return;
  const foreign = fs.readdirSync(dir).filter((name) => !OWN_FILES.includes(name) && !OWN_TEMP_FILE.test(name));
  if (foreign.length > 0) {
    throw new LedgerError(
      `data directory ${dir} has permissions 0${mode.toString(8)} and holds files that are not Conclave's (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); ` +
        `use a directory of its own, or make it private: chmod 700 '${dir}'`,
    );
  }
  fs.chmodSync(dir, DIR_MODE);
}

/** Makes one of the node's own files owner-only, if it exists (older versions wrote them 0644). */
function protectFile(file: string): void {
  if (process.platform === 'win32') return;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isFile()) throw new LedgerError(`${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(file, FILE_MODE);
}

type Stmt = Database.Statement<unknown[], unknown>;

/**
 * Append-only encrypted ledger over SQLite. One instance per data directory; not safe
 * for two processes at once. All methods are synchronous (better-sqlite3).
 */
export class Ledger {
  readonly dir: string;
  readonly #db: Database.Database;
  readonly #networkSecret: Buffer;
  readonly #entryKey: Buffer;
  readonly #snapshotKey: Buffer;
  readonly #indexKey: Buffer;
  readonly #metaKey: Buffer;
  readonly #s: Record<
    'getEntry' | 'iterFrom' | 'maxSeq' | 'getTx' | 'getBlock' | 'getLogs' | 'latestSnap' | 'snapAtOrBelow' | 'getMeta' | 'putMeta',
    Stmt
  >;
  readonly #writer: RowWriter;
  /** Newest entry written (readable). */
  #head = -1;
  /** SHA-256 of the head entry's stored body. */
  #headHash: Buffer = ZERO_HASH;
  /** Newest entry sealed, written or not, and its body's hash: the next entry's chain link. */
  #sealed = -1;
  #sealedHash: Buffer = ZERO_HASH;
  /** Body hashes of entries sealed but not yet written. */
  readonly #unwritten = new Map<number, Buffer>();

  private constructor(dir: string, db: Database.Database, storageKey: Buffer, networkSecret: Buffer) {
    this.dir = dir;
    this.#networkSecret = networkSecret;
    this.#db = db;
    // Separate keys per record kind, so the IV budget and any misuse stay contained to one kind.
    this.#entryKey = hkdf(storageKey, 'conclave/ledger-entry/v1');
    this.#snapshotKey = hkdf(storageKey, 'conclave/snapshot/v1');
    this.#indexKey = hkdf(storageKey, 'conclave/index/v1');
    this.#metaKey = hkdf(storageKey, 'conclave/meta/v1');
    storageKey.fill(0);

    const p = (sql: string): Stmt => db.prepare(sql);
    this.#s = {
      getEntry: p('SELECT body FROM ledger WHERE seq = ?').pluck(),
      iterFrom: p('SELECT seq, body FROM ledger WHERE seq >= ? ORDER BY seq'),
      maxSeq: p('SELECT max(seq) FROM ledger').pluck(),
      getTx: p('SELECT seq FROM idx_tx WHERE k = ?').pluck(),
      getBlock: p('SELECT seq FROM idx_block WHERE k = ?').pluck(),
      getLogs: p('SELECT seq FROM idx_log WHERE k = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?').pluck(),
      latestSnap: p('SELECT seq, body FROM snapshots ORDER BY seq DESC LIMIT 1'),
      snapAtOrBelow: p('SELECT seq, body FROM snapshots WHERE seq <= ? ORDER BY seq DESC LIMIT 1'),
      getMeta: p('SELECT body FROM meta WHERE name = ?').pluck(),
      putMeta: p('INSERT OR REPLACE INTO meta(name, body) VALUES (?, ?)'),
    };
    this.#writer = new RowWriter(db);
    this.#loadHead();
  }

  /**
   * Opens (or with `create`, initialises) the ledger in `dir`: checks `FORMAT`, unseals
   * `sealed-storage.key` with the platform secret, opens `conclave.db` (WAL,
   * synchronous=FULL) and authenticates the head record.
   * @throws LedgerError on wrong format, wrong platform, or an uninitialised dir without `create`.
   * @throws LedgerCorruptError if the newest entries were removed or altered.
   */
  static open(dir: string, opts: LedgerOpenOptions): Ledger {
    if (opts.platformSecret.length !== 32) throw new LedgerError('platform secret must be 32 bytes');
    if (!fs.existsSync(dir)) {
      if (!opts.create) throw new LedgerError(`data directory ${dir} does not exist`);
      mkdirDurable(dir, DIR_MODE);
    }
    protectDirectory(dir);
    const dbPath = path.join(dir, DB_FILE);
    const dbExists = fs.existsSync(dbPath);
    checkFormat(dir, opts.create, dbExists);
    const sealKey = hkdf(opts.platformSecret, 'conclave/seal/v1');
    const storageKey = loadSealedKey(dir, KEY_FILE, AAD_SEAL, sealKey, opts.create, dbExists);
    const networkSecret = loadSealedKey(dir, NETWORK_KEY_FILE, AAD_SEAL_NETWORK, sealKey, opts.create, dbExists);
    // SQLite creates the database with the process's umask (0644 typically) and gives
    // -wal and -shm the database's mode: create it owner-only first.
    for (const name of OWN_FILES) protectFile(path.join(dir, name));
    fs.closeSync(fs.openSync(dbPath, 'a', FILE_MODE));
    const db = new Database(dbPath);
    try {
      configure(db);
      return new Ledger(dir, db, storageKey, networkSecret);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Removes the node's own files from `dir` (database and its -wal/-shm/-journal,
   * sealed key, FORMAT, and temp files the ledger writes), and nothing else: not the
   * directory, not other files in it, never recursively.
   */
  static remove(dir: string): void {
    if (!fs.existsSync(dir)) return;
    const temps = fs.readdirSync(dir).filter((name) => OWN_TEMP_FILE.test(name));
    for (const name of [...OWN_FILES, ...temps]) {
      try {
        fs.unlinkSync(path.join(dir, name)); // a symlink goes, never what it points to
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    fsyncDir(dir);
  }

  /** Newest block number in the ledger, or -1 when empty. */
  get head(): number {
    return this.#head;
  }

  /**
   * The network secret, created at genesis and sealed beside the storage key. It is
   * handed over once, to derive keys from (see runtime/crypto/networkKeys.ts); the
   * ledger keeps no other use of it.
   */
  takeNetworkSecret(): Buffer {
    const secret = Buffer.from(this.#networkSecret);
    this.#networkSecret.fill(0);
    return secret;
  }

  /** The database file, for a storage thread's own connection. */
  get dbFile(): string {
    return path.join(this.dir, DB_FILE);
  }

  /**
   * Appends block `e.seq` (must be head + 1) and its index rows in one SQLite transaction.
   * Either everything lands or nothing does.
   */
  append(e: LedgerAppend): void {
    const rows = this.sealAppend(e);
    try {
      this.#writer.append(rows);
    } catch (err) {
      // Nothing of it landed: the next append links to the head again.
      this.#sealed = this.#head;
      this.#sealedHash = this.#headHash;
      this.#unwritten.clear();
      throw err;
    }
    this.written(rows.seq);
  }

  /**
   * Seals block `e.seq` (must follow the last one sealed) into the rows that
   * {@link RowWriter.append} writes, so the write can happen elsewhere; call
   * {@link written} once it has.
   */
  sealAppend(e: LedgerAppend): SealedAppend {
    if (e.seq !== this.#sealed + 1) {
      throw new LedgerError(`ledger append out of order: expected entry ${this.#sealed + 1}, got ${e.seq}`);
    }
    // Plaintext = SHA-256(previous body) || payload: the chain link makes deleting,
    // reordering or truncating entries detectable, not just altering them.
    const body = seal(this.#entryKey, seqAad(AAD_ENTRY, e.seq), this.#sealedHash, e.payload);
    const bodyHash = sha256(body);
    const logKeys = e.logKeys.map((k) => this.#indexKeyOf(DOM_LOG, k));
    if (logKeys.length > 0) logKeys.push(this.#indexKeyOf(DOM_LOG_ANY));
    const rows: SealedAppend = {
      seq: e.seq,
      body,
      txKeys: e.txHashes.map((h) => this.#indexKeyOf(DOM_TX, h)),
      blockKey: this.#indexKeyOf(DOM_BLOCK, e.blockHash),
      logKeys,
      headName: HEAD_META,
      headRecord: seal(this.#metaKey, this.#metaAad(HEAD_META), seqBytes(e.seq), bodyHash),
    };
    this.#sealed = e.seq;
    this.#sealedHash = bodyHash;
    this.#unwritten.set(e.seq, bodyHash);
    return rows;
  }

  /** Makes sealed entries up to `seq` readable, once their rows are written. */
  written(seq: number): void {
    for (let s = this.#head + 1; s <= seq; s++) {
      this.#headHash = this.#unwritten.get(s)!;
      this.#unwritten.delete(s);
    }
    this.#head = Math.max(this.#head, seq);
  }

  /**
   * Returns the payload of entry `seq`, after authenticating it and its chain link to entry seq-1.
   * @throws LedgerCorruptError naming the entry if it is missing, tampered, swapped or truncated.
   * @throws LedgerError if `seq` is beyond the head.
   */
  read(seq: number): Uint8Array {
    this.#checkSeq(seq);
    const body = this.#body(seq);
    const prevHash = seq === 0 ? ZERO_HASH : sha256(this.#body(seq - 1));
    return this.#decryptEntry(seq, body, prevHash);
  }

  /**
   * Walks entries `fromSeq`..head checking presence, authentication and chain links, and
   * that the head matches the authenticated head record.
   * @throws LedgerCorruptError for the first bad entry.
   */
  verifyAll(fromSeq = 0): void {
    if (this.#head < 0) return;
    this.#checkSeq(fromSeq);
    // Fetch the link before iterating: better-sqlite3 keeps the connection busy during iterate().
    let prevHash = fromSeq === 0 ? ZERO_HASH : sha256(this.#body(fromSeq - 1));
    let expected = fromSeq;
    for (const row of this.#s.iterFrom.iterate(fromSeq) as IterableIterator<{ seq: number; body: Buffer }>) {
      if (row.seq !== expected) throw missing(expected);
      this.#decryptEntry(row.seq, row.body, prevHash);
      prevHash = sha256(row.body);
      expected++;
      if (expected > this.#head) break; // rows beyond head were not written by us; open() already rejects them
    }
    if (expected <= this.#head) throw missing(expected);
    if (!prevHash.equals(this.#headHash)) throw corrupt(this.#head);
  }

  /** Stores an encrypted snapshot of state as of block `seq` (≤ head), replacing any existing one. */
  writeSnapshot(seq: number, payload: Uint8Array): void {
    this.#checkSeq(seq);
    this.#writer.snapshot(this.sealSnapshot(seq, payload));
  }

  /** Seals a snapshot of state as of block `seq` (sealed, written or not) for {@link RowWriter.snapshot}. */
  sealSnapshot(seq: number, payload: Uint8Array): SealedSnapshot {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > this.#sealed) {
      throw new LedgerError(`ledger entry ${seq} does not exist (head is ${this.#sealed})`);
    }
    return { seq, body: seal(this.#snapshotKey, seqAad(AAD_SNAPSHOT, seq), payload) };
  }

  /** The newest snapshot, or undefined if none. @throws LedgerCorruptError naming `snapshot at block N`. */
  latestSnapshot(): { seq: number; payload: Uint8Array } | undefined {
    return this.#decryptSnapshot(this.#s.latestSnap.get() as { seq: number; body: Buffer } | undefined);
  }

  /** The newest snapshot at block ≤ `seq` (replay starts there), or undefined. @throws LedgerCorruptError */
  snapshotAtOrBelow(seq: number): { seq: number; payload: Uint8Array } | undefined {
    return this.#decryptSnapshot(this.#s.snapAtOrBelow.get(seq) as { seq: number; body: Buffer } | undefined);
  }

  /** Block number containing the transaction with this hash, or undefined. */
  seqOfTx(hash: Uint8Array): number | undefined {
    return this.#s.getTx.get(this.#indexKeyOf(DOM_TX, hash)) as number | undefined;
  }

  /** Block number of the block with this hash, or undefined. */
  seqOfBlockHash(hash: Uint8Array): number | undefined {
    return this.#s.getBlock.get(this.#indexKeyOf(DOM_BLOCK, hash)) as number | undefined;
  }

  /**
   * Ascending block numbers in [from, to] whose logs mention `key` (a raw 20-byte address
   * or 32-byte topic), or that have any log at all for `'any'`; at most `limit` of them.
   * Index hits are candidates: callers still filter the decrypted receipts.
   */
  seqsWithLogKey(key: Uint8Array | 'any', from: number, to: number, limit: number): number[] {
    const k = key === 'any' ? this.#indexKeyOf(DOM_LOG_ANY) : this.#indexKeyOf(DOM_LOG, key);
    return this.#s.getLogs.all(k, from, to, limit) as number[];
  }

  /** Decrypted meta value `name`, or undefined. @throws LedgerCorruptError if it fails authentication. */
  getMeta(name: string): Uint8Array | undefined {
    const body = this.#s.getMeta.get(name) as Buffer | undefined;
    if (body === undefined) return undefined;
    const value = unseal(this.#metaKey, this.#metaAad(name), body);
    if (!value) throw new LedgerCorruptError(`meta value "${name}" failed authentication (tampered or swapped)`, undefined, 'meta');
    return value;
  }

  /** Stores `value` encrypted under meta `name` (names starting with NUL are reserved). */
  setMeta(name: string, value: Uint8Array): void {
    if (name.startsWith('\0')) throw new LedgerError('meta names starting with NUL are reserved');
    this.#s.putMeta.run(name, seal(this.#metaKey, this.#metaAad(name), value));
  }

  /** Closes the database. The instance is unusable afterwards. */
  close(): void {
    this.#db.close();
  }

  /** HMAC-SHA256(indexKey, domain || value), truncated to 16 bytes: equality-searchable, reveals nothing. */
  #indexKeyOf(domain: number, value?: Uint8Array): Buffer {
    const h = createHmac('sha256', this.#indexKey).update(Buffer.of(domain));
    if (value) h.update(value);
    return h.digest().subarray(0, 16);
  }

  #metaAad(name: string): Buffer {
    return Buffer.concat([AAD_META, Buffer.from(name, 'utf8')]);
  }

  #checkSeq(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > this.#head) {
      throw new LedgerError(`ledger entry ${seq} does not exist (head is ${this.#head})`);
    }
  }

  #body(seq: number): Buffer {
    const body = this.#s.getEntry.get(seq) as Buffer | undefined;
    if (body === undefined) throw missing(seq);
    return body;
  }

  #decryptEntry(seq: number, body: Buffer, prevHash: Buffer): Buffer {
    const plain = unseal(this.#entryKey, seqAad(AAD_ENTRY, seq), body);
    if (!plain || plain.length < HASH_BYTES || !plain.subarray(0, HASH_BYTES).equals(prevHash)) throw corrupt(seq);
    return plain.subarray(HASH_BYTES);
  }

  #decryptSnapshot(row: { seq: number; body: Buffer } | undefined): { seq: number; payload: Uint8Array } | undefined {
    if (!row) return undefined;
    const payload = unseal(this.#snapshotKey, seqAad(AAD_SNAPSHOT, row.seq), row.body);
    if (!payload) {
      throw new LedgerCorruptError(`snapshot at block ${row.seq} failed authentication (tampered, swapped or truncated)`, row.seq, 'snapshot');
    }
    return { seq: row.seq, payload };
  }

  /** Establishes head and the cached chain link from the authenticated head record; rejects a cut or extended tail. */
  #loadHead(): void {
    const maxSeq = (this.#s.maxSeq.get() as number | null) ?? -1;
    const recBody = this.#s.getMeta.get(HEAD_META) as Buffer | undefined;
    if (recBody === undefined) {
      if (maxSeq === -1) return; // fresh ledger
      throw new LedgerCorruptError(`ledger head record is missing but entries up to ${maxSeq} exist (tampered)`, maxSeq);
    }
    const rec = unseal(this.#metaKey, this.#metaAad(HEAD_META), recBody);
    if (!rec || rec.length !== 8 + HASH_BYTES) throw new LedgerCorruptError('ledger head record failed authentication (tampered)', undefined, 'meta');
    const seq = Number(rec.readBigUInt64BE(0));
    const hash = rec.subarray(8);
    if (maxSeq < seq) throw missing(maxSeq + 1); // newest entries deleted
    if (maxSeq > seq) throw corrupt(seq + 1); // rows we never committed
    if (!sha256(this.#body(seq)).equals(hash)) throw corrupt(seq);
    this.#head = this.#sealed = seq;
    this.#headHash = this.#sealedHash = hash;
  }
}

function seqBytes(seq: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

function corrupt(seq: number): LedgerCorruptError {
  return new LedgerCorruptError(`ledger entry ${seq} failed authentication (tampered, swapped or truncated)`, seq);
}

function missing(seq: number): LedgerCorruptError {
  return new LedgerCorruptError(`ledger entry ${seq} is missing`, seq);
}
