/**
 * The enclave's untrusted-storage layer: an append-only, encrypted, hash-chained
 * ledger in SQLite, plus encrypted snapshots, keyed-hash indexes and the encrypted
 * head record. Entries are numbered by append order and each names the blocks it
 * covers; the sealed storage key names the chain's genesis and parameters.
 *
 * Everything written to disk is either AES-256-GCM ciphertext or an HMAC output, so
 * the host learns sizes and counts but no payload, tx hash, block hash, address or
 * topic. Everything read back is authenticated before use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { fsyncDir, mkdirDurable, replaceFile, writeFileOnce } from './atomicFile.ts';
import { BlockRuns } from './BlockRuns.ts';
import { configure, RowWriter, type SealedAppend, type SealedSnapshot } from './LedgerRows.ts';
import { LedgerCorruptError, LedgerError } from './errors.ts';

const FORMAT_FILE = 'FORMAT';
const FORMAT_LINE = 'conclave-data 3\n';
const FORMAT_VERSION = 3;
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

const AAD_ENTRY = Buffer.from('conclave/ledger/v2');
const AAD_SNAPSHOT = Buffer.from('conclave/snapshot/v2');
const AAD_META = Buffer.from('conclave/meta/v1');
const AAD_SEAL = Buffer.from('conclave/seal/v2/storage-key');
const AAD_SEAL_NETWORK = Buffer.from('conclave/seal/v1/network-secret');

// One-byte domain tags for index keys, so a value indexed under one kind can never
// collide with the same bytes indexed under another.
const DOM_TX = 1;
const DOM_BLOCK = 2;
const DOM_LOG = 3;
const DOM_LOG_ANY = 4;

/**
 * Meta name of the authenticated head record (entry number + hash of its body), rewritten in
 * every append's transaction. Without it, deleting the newest rows would go unnoticed:
 * the hash chain only protects entries that have a successor. The leading NUL keeps it
 * out of the namespace callers can use.
 */
const HEAD_META = '\0head';

/** One block's index rows: its hash, its transactions' hashes and its log keys. */
export interface BlockIndex {
  number: number;
  hash: Uint8Array;
  txHashes: Uint8Array[];
  /** Raw 20-byte log addresses and 32-byte topics of the block's logs; duplicates are fine. */
  logKeys: Uint8Array[];
}

/** One ledger entry, as handed to {@link Ledger.append}: it is numbered by append order. */
export interface LedgerAppend {
  /**
   * The blocks it covers. firstBlock is at most the chain's next block; an earlier one
   * replaces the blocks from there on. An empty range (lastBlock = firstBlock - 1)
   * covers none.
   */
  firstBlock: number;
  lastBlock: number;
  /** Opaque data (blocks, write sets, receipts); stored encrypted. */
  payload: Uint8Array;
  /** Index rows of the blocks it covers. */
  blocks: BlockIndex[];
}

/**
 * What the data directory belongs to, sealed with its storage key: the genesis block's
 * hash and the chain's consensus parameters. Written before the genesis entry (not yet
 * committed) and again once it is durable (committed); from then on the directory
 * refuses to start without its ledger.
 */
export interface ChainBinding {
  genesis: string;
  params: Record<string, string>;
  committed: boolean;
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
 * Reads a sealed key file: a 32-byte key, and after it whatever was sealed with it (the
 * storage key's chain binding). On first use a fresh random key is created and sealed
 * (the storage key; the network secret, created here at genesis, inside the enclave).
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
  if (!key || key.length < 32) {
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
type EntryRow = { seq: number; first: number; last: number; body: Buffer };

/** Entries per segment of the hash chain; the hash of each segment's last entry is kept in memory. */
const SEGMENT = 32;
/** Verified segments whose every entry hash is kept, newest use last. */
const SEGMENT_CACHE = 256;

/** `prefix || entry (8) || first block (8) || last block (8, signed: -1 for an empty first entry)`. */
function entryAad(entry: number, first: number, last: number): Buffer {
  const aad = Buffer.allocUnsafe(AAD_ENTRY.length + 24);
  AAD_ENTRY.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(entry), AAD_ENTRY.length);
  aad.writeBigUInt64BE(BigInt(first), AAD_ENTRY.length + 8);
  aad.writeBigInt64BE(BigInt(last), AAD_ENTRY.length + 16);
  return aad;
}

/** A snapshot is bound to its entry's number and the hash of that entry's body. */
function snapshotAad(entry: number, entryHash: Buffer): Buffer {
  return Buffer.concat([seqAad(AAD_SNAPSHOT, entry), entryHash]);
}

/**
 * Append-only encrypted ledger over SQLite. One instance per data directory; not safe
 * for two processes at once. All methods are synchronous (better-sqlite3).
 *
 * Every entry is verified when the ledger opens (authentication, its link to the one
 * before, the head record); the hash of every 32nd entry, and of the entries after the
 * last of those, stays in memory, so an entry read later is checked against the chain
 * verified then, not only against its neighbours on disk.
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
    | 'getEntry'
    | 'iterAll'
    | 'segment'
    | 'maxSeq'
    | 'getTx'
    | 'getBlock'
    | 'getLogs'
    | 'latestSnap'
    | 'snapAtOrBelow'
    | 'maxSnap'
    | 'maxIdxTx'
    | 'maxIdxBlock'
    | 'maxIdxLog'
    | 'getMeta',
    Stmt
  >;
  readonly #writer: RowWriter;
  readonly #seal: (binding: ChainBinding) => void;
  #binding: ChainBinding | undefined;
  readonly #runs = new BlockRuns();
  /** Newest entry written (readable). */
  #head = -1;
  /** SHA-256 of the head entry's stored body. */
  #headHash: Buffer = ZERO_HASH;
  /** Newest entry sealed, written or not, and its body's hash: the next entry's chain link. */
  #sealed = -1;
  #sealedHash: Buffer = ZERO_HASH;
  /** Body hashes of entries sealed but not yet written. */
  readonly #unwritten = new Map<number, Buffer>();
  /** The hash of the last entry of each whole segment. */
  readonly #checkpoints: Buffer[] = [];
  /** Hashes of the entries sealed after the last whole segment. */
  #open: Buffer[] = [];
  readonly #segments = new Map<number, Buffer[]>();
  /** Set once a write failed: nothing more is appended, so the ledger never has a gap. */
  #failed: string | undefined;

  private constructor(dir: string, db: Database.Database, storageKey: Buffer, binding: ChainBinding | undefined, networkSecret: Buffer, seal: (b: ChainBinding) => void) {
    this.dir = dir;
    this.#networkSecret = networkSecret;
    this.#db = db;
    this.#binding = binding;
    this.#seal = seal;
    // Separate keys per record kind, so the IV budget and any misuse stay contained to one kind.
    this.#entryKey = hkdf(storageKey, 'conclave/ledger-entry/v1');
    this.#snapshotKey = hkdf(storageKey, 'conclave/snapshot/v1');
    this.#indexKey = hkdf(storageKey, 'conclave/index/v1');
    this.#metaKey = hkdf(storageKey, 'conclave/meta/v1');

    const p = (sql: string): Stmt => db.prepare(sql);
    this.#s = {
      getEntry: p('SELECT seq, first, last, body FROM ledger WHERE seq = ?'),
      iterAll: p('SELECT seq, first, last, body FROM ledger ORDER BY seq'),
      segment: p('SELECT seq, first, last, body FROM ledger WHERE seq BETWEEN ? AND ? ORDER BY seq'),
      maxSeq: p('SELECT max(seq) FROM ledger').pluck(),
      getTx: p('SELECT block FROM idx_tx WHERE k = ?').pluck(),
      getBlock: p('SELECT block FROM idx_block WHERE k = ?').pluck(),
      getLogs: p('SELECT block FROM idx_log WHERE k = ? AND block BETWEEN ? AND ? ORDER BY block LIMIT ?').pluck(),
      latestSnap: p('SELECT seq, body FROM snapshots ORDER BY seq DESC LIMIT 1'),
      snapAtOrBelow: p('SELECT seq, body FROM snapshots WHERE seq <= ? ORDER BY seq DESC LIMIT 1'),
      maxSnap: p('SELECT max(seq) FROM snapshots').pluck(),
      maxIdxTx: p('SELECT max(block) FROM idx_tx').pluck(),
      maxIdxBlock: p('SELECT max(block) FROM idx_block').pluck(),
      maxIdxLog: p('SELECT max(block) FROM idx_log').pluck(),
      getMeta: p('SELECT body FROM meta WHERE name = ?').pluck(),
    };
    this.#writer = new RowWriter(db);
    this.#loadHead();
    this.#verifyAll();
  }

  /**
   * Opens (or with `create`, initialises) the ledger in `dir`: checks `FORMAT`, unseals
   * `sealed-storage.key` with the platform secret, opens `conclave.db` (WAL,
   * synchronous=FULL), authenticates the head record and verifies every entry.
   * A directory whose genesis never became durable starts over with fresh keys.
   * @throws LedgerError on wrong format, wrong platform, a missing or emptied ledger, or
   *   an uninitialised dir without `create`.
   * @throws LedgerCorruptError if entries were removed, altered or cut back.
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
    const keyExisted = fs.existsSync(path.join(dir, KEY_FILE));
    checkFormat(dir, opts.create, dbExists);
    const sealKey = hkdf(opts.platformSecret, 'conclave/seal/v1');
    const sealed = loadSealedKey(dir, KEY_FILE, AAD_SEAL, sealKey, opts.create, dbExists);
    const storageKey = Buffer.from(sealed.subarray(0, 32));
    const binding = sealed.length > 32 ? parseBinding(sealed.subarray(32)) : undefined;
    sealed.fill(0);
    if (binding?.committed && !dbExists) throw lostLedger(dir, binding, `is missing (${DB_FILE} was deleted)`);
    const networkSecret = loadSealedKey(dir, NETWORK_KEY_FILE, AAD_SEAL_NETWORK, sealKey, opts.create, dbExists);
    // SQLite creates the database with the process's umask (0644 typically) and gives
    // -wal and -shm the database's mode: create it owner-only first.
    for (const name of OWN_FILES) protectFile(path.join(dir, name));
    fs.closeSync(fs.openSync(dbPath, 'a', FILE_MODE));
    const db = new Database(dbPath);
    let ledger: Ledger;
    try {
      configure(db);
      const entries = db.prepare('SELECT EXISTS (SELECT 1 FROM ledger)').pluck().get() === 1;
      if (!entries && binding?.committed) throw lostLedger(dir, binding, 'is empty (conclave.db was emptied)');
      if (!entries && keyExisted) {
        // The first start ended before its genesis was durable: nothing was sealed that
        // must be kept, and no new chain starts under a key another chain may have used.
        db.close();
        networkSecret.fill(0);
        storageKey.fill(0);
        Ledger.remove(dir);
        return Ledger.open(dir, { ...opts, create: true });
      }
      if (entries && !binding) {
        throw new LedgerCorruptError(`${KEY_FILE} names no genesis but the ledger holds entries (the key file was replaced)`, undefined, 'meta');
      }
      const file = path.join(dir, KEY_FILE);
      const rebind = (b: ChainBinding) => replaceFile(file, seal(sealKey, AAD_SEAL, storageKey, Buffer.from(JSON.stringify(b))), FILE_MODE);
      ledger = new Ledger(dir, db, storageKey, binding, networkSecret, rebind);
    } catch (err) {
      db.close();
      throw err;
    }
    return ledger;
  }

  /**
   * Removes the node's own files from `dir` (database and its -wal/-shm/-journal,
   * sealed keys, FORMAT, and temp files the ledger writes), and nothing else: not the
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

  /** Newest entry written, or -1 when empty. */
  get head(): number {
    return this.#head;
  }

  /** Newest block of the chain the written and sealed entries make, or -1 when empty. */
  get lastBlock(): number {
    return this.#runs.lastBlock;
  }

  /** What the data directory belongs to (undefined before genesis). */
  get binding(): ChainBinding | undefined {
    return this.#binding;
  }

  /** Seals `binding` with the storage key, replacing the key file atomically. */
  bind(binding: ChainBinding): void {
    this.#seal(binding);
    this.#binding = binding;
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
   * Appends the next entry and its index rows in one SQLite transaction: all of it
   * lands or none, and after a failure nothing more is appended.
   * @returns the entry's number.
   */
  append(e: LedgerAppend): number {
    const rows = this.sealAppend(e);
    try {
      this.#writer.append(rows);
    } catch (err) {
      this.#failed = `ledger write failed: ${(err as Error).message}`;
      throw new LedgerError(this.#failed);
    }
    this.written(rows.seq);
    return rows.seq;
  }

  /**
   * Seals the next entry into the rows that {@link RowWriter.append} writes, so the write
   * can happen elsewhere; call {@link written} once it has.
   */
  sealAppend(e: LedgerAppend): SealedAppend {
    if (this.#failed) throw new LedgerError(this.#failed);
    const entry = this.#sealed + 1;
    const wrong = this.#runs.add(entry, e.firstBlock, e.lastBlock);
    if (wrong) throw new LedgerError(`ledger entry ${entry} ${wrong}`);
    // Plaintext = SHA-256(previous body) || payload: the chain link makes deleting,
    // reordering or truncating entries detectable, not just altering them.
    const body = seal(this.#entryKey, entryAad(entry, e.firstBlock, e.lastBlock), this.#sealedHash, e.payload);
    const bodyHash = sha256(body);
    const rows: SealedAppend = {
      seq: entry,
      first: e.firstBlock,
      last: e.lastBlock,
      body,
      txKeys: [],
      blockKeys: [],
      logKeys: [],
      headName: HEAD_META,
      headRecord: seal(this.#metaKey, this.#metaAad(HEAD_META), seqBytes(entry), bodyHash),
    };
    for (const b of e.blocks) {
      for (const h of b.txHashes) rows.txKeys.push([this.#indexKeyOf(DOM_TX, h), b.number]);
      rows.blockKeys.push([this.#indexKeyOf(DOM_BLOCK, b.hash), b.number]);
      for (const k of b.logKeys) rows.logKeys.push([this.#indexKeyOf(DOM_LOG, k), b.number]);
      if (b.logKeys.length > 0) rows.logKeys.push([this.#indexKeyOf(DOM_LOG_ANY), b.number]);
    }
    this.#sealed = entry;
    this.#sealedHash = bodyHash;
    this.#unwritten.set(entry, bodyHash);
    this.#record(bodyHash);
    return rows;
  }

  /** Makes sealed entries up to `entry` readable, once their rows are written. */
  written(entry: number): void {
    for (let s = this.#head + 1; s <= entry; s++) {
      this.#headHash = this.#unwritten.get(s)!;
      this.#unwritten.delete(s);
    }
    this.#head = Math.max(this.#head, entry);
  }

  /** The entry holding block `block` of the chain, or undefined if there is no such block. */
  entryOfBlock(block: number): number | undefined {
    return this.#runs.entryOf(block);
  }

  /**
   * Returns the payload of entry `entry`, after checking it is the entry verified when
   * the ledger opened (or sealed since) and authenticating it.
   * @throws LedgerCorruptError naming the entry if it is missing, tampered or replaced.
   * @throws LedgerError if `entry` is beyond the head.
   */
  read(entry: number): Uint8Array {
    this.#checkEntry(entry);
    const row = this.#s.getEntry.get(entry) as EntryRow | undefined;
    if (row === undefined) throw missing(entry);
    if (!sha256(row.body).equals(this.#hashOf(entry))) {
      throw new LedgerCorruptError(`ledger entry ${entry} is not the entry verified at start (replaced while the node ran)`, entry);
    }
    return this.#decryptEntry(row, undefined);
  }

  /** Stores an encrypted snapshot of state as of the newest sealed entry, replacing any existing one of it. */
  writeSnapshot(payload: Uint8Array): void {
    this.#writer.snapshot(this.sealSnapshot(payload));
  }

  /**
   * Seals a snapshot of state as of the newest sealed entry (written or not) for
   * {@link RowWriter.snapshot}, bound to that entry's number and hash.
   */
  sealSnapshot(payload: Uint8Array): SealedSnapshot {
    if (this.#sealed < 0) throw new LedgerError('no ledger entry to snapshot');
    return { seq: this.#sealed, body: seal(this.#snapshotKey, snapshotAad(this.#sealed, this.#sealedHash), payload) };
  }

  /** The newest snapshot, or undefined if none. @throws LedgerCorruptError naming its entry. */
  latestSnapshot(): { entry: number; payload: Uint8Array } | undefined {
    return this.#decryptSnapshot(this.#s.latestSnap.get() as { seq: number; body: Buffer } | undefined);
  }

  /** The newest snapshot of an entry ≤ `entry` (replay starts after it), or undefined. @throws LedgerCorruptError */
  snapshotAtOrBelow(entry: number): { entry: number; payload: Uint8Array } | undefined {
    return this.#decryptSnapshot(this.#s.snapAtOrBelow.get(entry) as { seq: number; body: Buffer } | undefined);
  }

  /** Number of the block containing the transaction with this hash, or undefined. */
  blockOfTx(hash: Uint8Array): number | undefined {
    return this.#s.getTx.get(this.#indexKeyOf(DOM_TX, hash)) as number | undefined;
  }

  /** Number of the block with this hash, or undefined. */
  blockOfHash(hash: Uint8Array): number | undefined {
    return this.#s.getBlock.get(this.#indexKeyOf(DOM_BLOCK, hash)) as number | undefined;
  }

  /**
   * Ascending block numbers in [from, to] whose logs mention `key` (a raw 20-byte address
   * or 32-byte topic), or that have any log at all for `'any'`; at most `limit` of them.
   * Index hits are candidates: callers still filter the decrypted receipts.
   */
  blocksWithLogKey(key: Uint8Array | 'any', from: number, to: number, limit: number): number[] {
    const k = key === 'any' ? this.#indexKeyOf(DOM_LOG_ANY) : this.#indexKeyOf(DOM_LOG, key);
    return this.#s.getLogs.all(k, from, to, limit) as number[];
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

  #checkEntry(entry: number): void {
    if (!Number.isSafeInteger(entry) || entry < 0 || entry > this.#head) {
      throw new LedgerError(`ledger entry ${entry} does not exist (head is ${this.#head})`);
    }
  }

  /** Authenticates an entry (its number and block range are in the AAD) and, given `prevHash`, its chain link. */
  #decryptEntry(row: EntryRow, prevHash: Buffer | undefined): Buffer {
    const plain = unseal(this.#entryKey, entryAad(row.seq, row.first, row.last), row.body);
    if (!plain || plain.length < HASH_BYTES) throw corrupt(row.seq);
    if (prevHash && !plain.subarray(0, HASH_BYTES).equals(prevHash)) throw corrupt(row.seq);
    return plain.subarray(HASH_BYTES);
  }

  #decryptSnapshot(row: { seq: number; body: Buffer } | undefined): { entry: number; payload: Uint8Array } | undefined {
    if (!row) return undefined;
    if (row.seq > this.#head) throw newerSnapshot(row.seq, this.#head);
    const payload = unseal(this.#snapshotKey, snapshotAad(row.seq, this.#hashOf(row.seq)), row.body);
    if (!payload) {
      throw new LedgerCorruptError(
        `snapshot of ledger entry ${row.seq} failed authentication: it was altered, moved from another entry, or made from another copy of this data directory`,
        row.seq,
        'snapshot',
      );
    }
    return { entry: row.seq, payload };
  }

  /** Keeps a newly sealed or verified entry's hash: in the open segment, or as a checkpoint when it completes one. */
  #record(hash: Buffer): void {
    this.#open.push(hash);
    if (this.#open.length < SEGMENT) return;
    this.#checkpoints.push(hash);
    this.#cacheSegment(this.#checkpoints.length - 1, this.#open);
    this.#open = [];
  }

  #cacheSegment(index: number, hashes: Buffer[]): void {
    this.#segments.delete(index);
    this.#segments.set(index, hashes);
    if (this.#segments.size > SEGMENT_CACHE) this.#segments.delete(this.#segments.keys().next().value!);
  }

  /** The body hash of a sealed entry, from memory or by verifying its segment against its checkpoint. */
  #hashOf(entry: number): Buffer {
    const index = Math.floor(entry / SEGMENT);
    if (index === this.#checkpoints.length) return this.#open[entry % SEGMENT]!;
    const cached = this.#segments.get(index);
    if (cached) {
      this.#cacheSegment(index, cached);
      return cached[entry % SEGMENT]!;
    }
    const first = index * SEGMENT;
    const rows = this.#s.segment.all(first, first + SEGMENT - 1) as EntryRow[];
    let prev = index === 0 ? ZERO_HASH : this.#checkpoints[index - 1]!;
    const hashes: Buffer[] = [];
    for (let i = 0; i < SEGMENT; i++) {
      const row = rows[i];
      if (row?.seq !== first + i) throw missing(first + i);
      this.#decryptEntry(row, prev);
      prev = sha256(row.body);
      hashes.push(prev);
    }
    if (!prev.equals(this.#checkpoints[index]!)) {
      throw new LedgerCorruptError(`ledger entries ${first}..${first + SEGMENT - 1} are not the entries verified at start (replaced while the node ran)`, entry);
    }
    this.#cacheSegment(index, hashes);
    return hashes[entry % SEGMENT]!;
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
    const head = this.#s.getEntry.get(seq) as EntryRow | undefined;
    if (!head || !sha256(head.body).equals(hash)) throw corrupt(seq);
    this.#head = this.#sealed = seq;
    this.#headHash = this.#sealedHash = hash;
  }

  /**
   * Walks every entry: present, contiguous, authentic under its number and block range,
   * linked to the one before, its range following the chain, the last one the head
   * record's. Then looks for traces newer than the head that a cut would leave: a
   * snapshot of a later entry, index rows of a later block.
   */
  #verifyAll(): void {
    if (this.#head < 0) return;
    let prevHash: Buffer = ZERO_HASH;
    let expected = 0;
    let newestBlock = -1;
    for (const row of this.#s.iterAll.iterate() as IterableIterator<EntryRow>) {
      if (row.seq !== expected) throw missing(expected);
      this.#decryptEntry(row, prevHash);
      const wrong = this.#runs.add(row.seq, row.first, row.last);
      if (wrong) throw new LedgerCorruptError(`ledger entry ${row.seq} ${wrong} (tampered)`, row.seq);
      newestBlock = Math.max(newestBlock, row.last);
      prevHash = sha256(row.body);
      this.#record(prevHash);
      expected++;
      if (expected > this.#head) break; // loadHead already rejects rows beyond the head
    }
    if (expected <= this.#head) throw missing(expected);
    if (!prevHash.equals(this.#headHash)) throw corrupt(this.#head);
    const snapshot = this.#s.maxSnap.get() as number | null;
    if (snapshot !== null && snapshot > this.#head) throw newerSnapshot(snapshot, this.#head);
    for (const [table, stmt] of [['idx_block', this.#s.maxIdxBlock], ['idx_tx', this.#s.maxIdxTx], ['idx_log', this.#s.maxIdxLog]] as const) {
      const block = stmt.get() as number | null;
      if (block !== null && block > newestBlock) {
        throw new LedgerCorruptError(
          `index rows (${table}) name block ${block}, but no ledger entry covers a block after ${newestBlock}: the ledger was cut back after block ${block} was written (rolled back)`,
          undefined,
        );
      }
    }
  }
}

function parseBinding(bytes: Uint8Array): ChainBinding {
  const b = JSON.parse(Buffer.from(bytes).toString('utf8')) as ChainBinding;
  if (typeof b.genesis !== 'string' || typeof b.committed !== 'boolean' || typeof b.params !== 'object' || b.params === null) {
    throw new LedgerError(`${KEY_FILE} holds a chain binding this Conclave does not read`);
  }
  return b;
}

function lostLedger(dir: string, binding: ChainBinding, what: string): LedgerError {
  return new LedgerError(
    `data directory ${dir} belongs to the chain with genesis ${binding.genesis}, but its ledger ${what}: ` +
      `restore ${DB_FILE} (with ${DB_FILE}-wal, if there was one) from a copy of this directory, or start with --reset to begin a new chain`,
  );
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

function newerSnapshot(entry: number, head: number): LedgerCorruptError {
  return new LedgerCorruptError(
    `a snapshot of ledger entry ${entry} exists, but the ledger ends at entry ${head}: the ledger was cut back after the snapshot was written (rolled back)`,
    entry,
    'snapshot',
  );
}
