import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { Ledger, type LedgerAppend } from '../../runtime/ledger/Ledger.ts';
import { LedgerCorruptError, LedgerError } from '../../runtime/ledger/errors.ts';
import { loadPlatformSecret } from '../../runtime/ledger/platformSecret.ts';

const SECRET_STRING = 'CONCLAVE-PLAINTEXT-CANARY-9f2c4e';
const META_STRING = 'CONCLAVE-META-CANARY-71b0d3';

const tmpDirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'conclave-ledger-'));
  tmpDirs.push(d);
  return d;
}
afterEach(() => {
  while (tmpDirs.length) fs.rmSync(tmpDirs.pop()!, { recursive: true, force: true });
});

/** Deterministic 32-byte "hash" for test data. */
function h(label: string): Buffer {
  return createHash('sha256').update(label).digest();
}
const ADDR_A = h('addr-a').subarray(0, 20);
const ADDR_B = h('addr-b').subarray(0, 20);
const TOPIC_X = h('topic-x');

function block(seq: number): LedgerAppend {
  return {
    firstBlock: seq,
    lastBlock: seq,
    payload: Buffer.from(`block ${seq} ${SECRET_STRING}`),
    // Logs in even blocks only; duplicate keys must be harmless.
    blocks: [{ number: seq, hash: h(`block-${seq}`), txHashes: [h(`tx-${seq}-0`), h(`tx-${seq}-1`)], logKeys: seq % 2 === 0 ? [ADDR_A, TOPIC_X, ADDR_A] : [] }],
  };
}

const BINDING = { genesis: '0x' + h('block-0').toString('hex'), params: { chainId: '31337' }, committed: true };

interface Env { dir: string; secret: Buffer; }
function env(): Env {
  const root = tmp();
  return { dir: path.join(root, 'data'), secret: loadPlatformSecret(path.join(root, 'platform-secret')) };
}
function openL(e: Env, create = true): Ledger {
  return Ledger.open(e.dir, { platformSecret: e.secret, create });
}
/** A ledger with entries 0..n-1 (entry i holds block i), its genesis committed, closed. */
function filled(n: number): Env {
  const e = env();
  const l = openL(e);
  l.bind(BINDING);
  for (let i = 0; i < n; i++) l.append(block(i));
  l.close();
  return e;
}
/** Run raw SQL against the closed ledger's database, as the untrusted host could. */
function tamper(e: Env, fn: (db: Database.Database) => void): void {
  const db = new Database(path.join(e.dir, 'conclave.db'));
  try { fn(db); } finally { db.close(); }
}
function rawBody(db: Database.Database, seq: number): Buffer {
  return db.prepare('SELECT body FROM ledger WHERE seq = ?').pluck().get(seq) as Buffer;
}
function assertCorrupt(fn: () => unknown, seq: number | undefined, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LedgerCorruptError, `expected LedgerCorruptError, got ${String(err)}`);
    assert.equal(err.seq, seq);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('platform secret', () => {
  test('created once with mode 0600 and reused', () => {
    const file = path.join(tmp(), 'nested', 'platform-secret');
    const a = loadPlatformSecret(file);
    assert.equal(a.length, 32);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(loadPlatformSecret(file), a);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['platform-secret']); // no temp files left
  });

  test('default path honours CONCLAVE_PLATFORM_SECRET_FILE', () => {
    const file = path.join(tmp(), 'ps');
    const saved = process.env.CONCLAVE_PLATFORM_SECRET_FILE;
    process.env.CONCLAVE_PLATFORM_SECRET_FILE = file;
    try {
      const s = loadPlatformSecret();
      assert.deepEqual(fs.readFileSync(file), s);
    } finally {
      if (saved === undefined) delete process.env.CONCLAVE_PLATFORM_SECRET_FILE;
      else process.env.CONCLAVE_PLATFORM_SECRET_FILE = saved;
    }
  });
});


describe('Ledger', () => {
  test('round trip: entries numbered by append order, each naming its blocks', () => {
    const e = env();
    const l = openL(e);
    assert.equal(l.head, -1);
    assert.equal(l.lastBlock, -1);
    l.bind(BINDING);
    for (let i = 0; i < 5; i++) assert.equal(l.append(block(i)), i);
    assert.equal(l.head, 4);
    assert.equal(l.lastBlock, 4);
    for (let i = 0; i < 5; i++) assert.equal(Buffer.from(l.read(i)).toString(), `block ${i} ${SECRET_STRING}`);
    assert.equal(fs.readFileSync(path.join(e.dir, 'FORMAT'), 'utf8'), 'conclave-data 3\n');
    assert.throws(() => l.read(5), LedgerError);
    l.close();
  });

  test('an entry may cover many blocks, or start over from an earlier block', () => {
    const e = filled(3); // blocks 0..2 in entries 0..2
    let l = openL(e);
    const many = (first: number, last: number, label: string): LedgerAppend => ({
      firstBlock: first,
      lastBlock: last,
      payload: Buffer.from(label),
      blocks: Array.from({ length: last - first + 1 }, (_, i) => ({ number: first + i, hash: h(`${label}-${first + i}`), txHashes: [], logKeys: [] })),
    });
    assert.equal(l.append(many(3, 1002, 'mined')), 3); // 1,000 blocks in one entry
    assert.equal(l.lastBlock, 1002);
    assert.equal(l.entryOfBlock(2), 2);
    assert.equal(l.entryOfBlock(3), 3);
    assert.equal(l.entryOfBlock(1002), 3);
    assert.equal(l.entryOfBlock(1003), undefined);
    assert.equal(l.blockOfHash(h('mined-500')), 500);
    assert.equal(l.append(block(1003)), 4);
    // Back to block 10: an entry covering no block; then block 11 again, in entry 6.
    assert.equal(l.append({ firstBlock: 11, lastBlock: 10, payload: Buffer.from('rewind'), blocks: [] }), 5);
    assert.equal(l.lastBlock, 10);
    assert.equal(l.entryOfBlock(10), 3);
    assert.equal(l.entryOfBlock(11), undefined);
    assert.equal(l.append(block(11)), 6);
    assert.equal(l.entryOfBlock(11), 6);
    assert.equal(l.blockOfHash(h('block-11')), 11);
    assert.throws(() => l.append(block(13)), /ledger entry 7 covers blocks 13\.\.13, which cannot follow block 11/);
    l.close();
    // The same map is rebuilt from the entries at open.
    l = openL(e);
    assert.equal(l.head, 6);
    assert.equal(l.lastBlock, 11);
    for (const [block, entry] of [[0, 0], [2, 2], [3, 3], [10, 3], [11, 6]] as const) assert.equal(l.entryOfBlock(block), entry);
    assert.equal(l.entryOfBlock(12), undefined);
    assert.equal(Buffer.from(l.read(3)).toString(), 'mined');
    l.close();
  });

  test('a failed write stops the ledger: nothing after it is appended', () => {
    const e = env();
    const l = openL(e);
    l.bind(BINDING);
    l.append(block(0));
    // The host drops the index table: the next append fails mid-transaction.
    tamper(e, (db) => db.exec('DROP TABLE idx_block'));
    assert.throws(() => l.append(block(1)), /ledger write failed/);
    assert.equal(l.head, 0);
    assert.throws(() => l.append(block(1)), /ledger write failed/);
    l.close();
  });

  test('restart preserves entries, head, indexes and snapshots', () => {
    const e = filled(6);
    let l = openL(e, false);
    assert.equal(l.head, 5);
    l.writeSnapshot(Buffer.from('snap5'));
    l.append(block(6)); // chain continues across restart
    l.close();
    l = openL(e, false);
    assert.equal(l.head, 6);
    for (let i = 0; i <= 6; i++) assert.equal(Buffer.from(l.read(i)).toString(), `block ${i} ${SECRET_STRING}`);
    assert.equal(l.blockOfTx(h('tx-3-1')), 3);
    assert.equal(l.blockOfHash(h('block-6')), 6);
    assert.deepEqual(l.blocksWithLogKey('any', 0, 100, 100), [0, 2, 4, 6]);
    assert.deepEqual(l.latestSnapshot(), { entry: 5, payload: Buffer.from('snap5') });
    assert.deepEqual(l.binding, BINDING);
    l.close();
  });

  test('index lookups', () => {
    const e = filled(10);
    const l = openL(e);
    assert.equal(l.blockOfTx(h('tx-7-0')), 7);
    assert.equal(l.blockOfTx(h('tx-7-1')), 7);
    assert.equal(l.blockOfTx(h('tx-99-0')), undefined);
    assert.equal(l.blockOfHash(h('block-0')), 0);
    assert.equal(l.blockOfHash(h('tx-0-0')), undefined); // domains are separate
    assert.equal(l.blockOfTx(h('block-0')), undefined);
    assert.deepEqual(l.blocksWithLogKey(ADDR_A, 0, 9, 100), [0, 2, 4, 6, 8]);
    assert.deepEqual(l.blocksWithLogKey(TOPIC_X, 3, 7, 100), [4, 6]);
    assert.deepEqual(l.blocksWithLogKey(ADDR_A, 0, 9, 2), [0, 2]);
    assert.deepEqual(l.blocksWithLogKey('any', 1, 9, 100), [2, 4, 6, 8]);
    assert.deepEqual(l.blocksWithLogKey(ADDR_B, 0, 9, 100), []);
    l.close();
  });

  test('create:false refuses an uninitialised directory', () => {
    const e = env();
    assert.throws(() => openL(e, false), LedgerError);
    fs.mkdirSync(e.dir);
    assert.throws(() => openL(e, false), /not an initialised Conclave data directory/);
  });

  test('wrong FORMAT is refused', () => {
    const e = filled(1);
    fs.writeFileSync(path.join(e.dir, 'FORMAT'), 'conclave-data 2\n');
    assert.throws(() => openL(e), (err: unknown) =>
      err instanceof LedgerError &&
      err.message === `data directory ${e.dir} has data format "conclave-data 2"; this Conclave reads format 3. Use a matching Conclave version or start with --reset.`);
  });

  test('another platform secret is refused', () => {
    const e = filled(1);
    const other = loadPlatformSecret(path.join(tmp(), 'other-secret'));
    assert.throws(() => Ledger.open(e.dir, { platformSecret: other, create: false }),
      /cannot unseal sealed-storage.key: this data directory was sealed on another platform/);
  });

  test('a lost key file is not silently replaced', () => {
    const e = filled(1);
    fs.rmSync(path.join(e.dir, 'sealed-storage.key'));
    assert.throws(() => openL(e, true), /sealed-storage.key is missing/);
  });
});

describe('the sealed key binds the directory to its genesis', () => {
  test('a deleted or emptied ledger beside a committed key is refused, naming the genesis', () => {
    const e = filled(3);
    for (const f of ['conclave.db', 'conclave.db-wal', 'conclave.db-shm']) fs.rmSync(path.join(e.dir, f), { force: true });
    assert.throws(() => openL(e), (err: unknown) => {
      assert.ok(err instanceof LedgerError);
      assert.match(err.message, new RegExp(`belongs to the chain with genesis ${BINDING.genesis}, but its ledger is missing \\(conclave.db was deleted\\)`));
      assert.match(err.message, /restore conclave.db .* or start with --reset/);
      return true;
    });
    const e2 = filled(3);
    tamper(e2, (db) => db.exec('DELETE FROM ledger; DELETE FROM meta; DELETE FROM idx_tx; DELETE FROM idx_block; DELETE FROM idx_log; DELETE FROM snapshots'));
    assert.throws(() => openL(e2), /but its ledger is empty \(conclave.db was emptied\)/);
  });

  test('a first start that ended before its genesis was durable starts over under fresh keys', () => {
    const e = env();
    const l = openL(e);
    l.bind({ ...BINDING, committed: false });
    l.close();
    const key = fs.readFileSync(path.join(e.dir, 'sealed-storage.key'));
    const r = openL(e);
    assert.equal(r.binding, undefined);
    assert.notDeepEqual(fs.readFileSync(path.join(e.dir, 'sealed-storage.key')), key);
    r.close();
  });

  test('entries without a binding are refused (the key file was replaced)', () => {
    const e = filled(2);
    const other = env();
    openL({ ...other, secret: e.secret }).close(); // a fresh, unbound key sealed on the same platform
    fs.copyFileSync(path.join(other.dir, 'sealed-storage.key'), path.join(e.dir, 'sealed-storage.key'));
    assert.throws(() => openL(e), LedgerCorruptError);
  });
});

describe('tampering', () => {
  test('flipping one byte of a body is detected at open and names the entry', () => {
    const e = filled(5);
    tamper(e, (db) => {
      const b = rawBody(db, 2);
      b[b.length >> 1] ^= 0x01;
      db.prepare('UPDATE ledger SET body = ? WHERE seq = 2').run(b);
    });
    assertCorrupt(() => openL(e), 2, /^ledger entry 2 failed authentication \(tampered, swapped or truncated\)$/);
  });

  test('swapping two rows, or their block ranges, is detected', () => {
    const e = filled(5);
    tamper(e, (db) => {
      const b1 = rawBody(db, 1), b2 = rawBody(db, 2);
      const up = db.prepare('UPDATE ledger SET body = ? WHERE seq = ?');
      up.run(b2, 1);
      up.run(b1, 2);
    });
    assertCorrupt(() => openL(e), 1, /ledger entry 1 failed/);
    const e2 = filled(5);
    tamper(e2, (db) => db.prepare('UPDATE ledger SET first = 3, last = 3 WHERE seq = 2').run());
    assertCorrupt(() => openL(e2), 2, /ledger entry 2 failed/);
  });

  test('deleting a middle row is reported as missing', () => {
    const e = filled(5);
    tamper(e, (db) => db.prepare('DELETE FROM ledger WHERE seq = 2').run());
    assertCorrupt(() => openL(e), 2, /^ledger entry 2 is missing$/);
  });

  test('renumbering rows to close a gap is detected', () => {
    const e = filled(5);
    tamper(e, (db) => {
      db.prepare('DELETE FROM ledger WHERE seq = 2').run();
      db.prepare('UPDATE ledger SET seq = seq - 1 WHERE seq > 2').run();
    });
    assertCorrupt(() => openL(e), 4, /ledger entry 4 is missing/); // head record says 4 exists
  });

  test('truncating a body is detected', () => {
    const e = filled(5);
    tamper(e, (db) => db.prepare('UPDATE ledger SET body = substr(body, 1, length(body) - 5) WHERE seq = 3').run());
    assertCorrupt(() => openL(e), 3, /ledger entry 3 failed/);
  });

  test('cutting or altering the tail is detected at open', () => {
    const e = filled(5);
    tamper(e, (db) => db.prepare('DELETE FROM ledger WHERE seq >= 3').run());
    assertCorrupt(() => openL(e), 3, /ledger entry 3 is missing/);

    const e2 = filled(5);
    tamper(e2, (db) => {
      const b = rawBody(db, 4);
      b[20] ^= 0xff;
      db.prepare('UPDATE ledger SET body = ? WHERE seq = 4').run(b);
    });
    assertCorrupt(() => openL(e2), 4, /ledger entry 4 failed/);

    const e3 = filled(5);
    tamper(e3, (db) => db.prepare("DELETE FROM meta WHERE name = char(0) || 'head'").run());
    assert.throws(() => openL(e3), LedgerCorruptError);
  });

  test('a cut back to an older head record that leaves a newer snapshot or index row is refused', () => {
    const e = filled(6);
    const headAt5 = (() => {
      const db = new Database(path.join(e.dir, 'conclave.db'), { readonly: true });
      try { return db.prepare("SELECT body FROM meta WHERE name = char(0) || 'head'").pluck().get() as Buffer; } finally { db.close(); }
    })();
    const l = openL(e);
    for (let i = 6; i < 10; i++) l.append(block(i));
    l.writeSnapshot(Buffer.from('state@9'));
    l.close();
    // The host restores the head record it saw at entry 5 and deletes the entries after it.
    const cut = (db: Database.Database) => {
      db.prepare('DELETE FROM ledger WHERE seq > 5').run();
      db.prepare("UPDATE meta SET body = ? WHERE name = char(0) || 'head'").run(headAt5);
    };
    tamper(e, cut);
    assertCorrupt(() => openL(e), 9, /a snapshot of ledger entry 9 exists, but the ledger ends at entry 5: the ledger was cut back after the snapshot was written \(rolled back\)/);
    tamper(e, (db) => db.prepare('DELETE FROM snapshots').run());
    assertCorrupt(() => openL(e), undefined, /index rows \(idx_block\) name block 9, but no ledger entry covers a block after 5: the ledger was cut back after block 9 was written \(rolled back\)/);
    tamper(e, (db) => db.prepare('DELETE FROM idx_block WHERE block > 5').run());
    assertCorrupt(() => openL(e), undefined, /index rows \(idx_tx\) name block 9/);
    // A cut that leaves no trace is one a single node cannot tell from an older copy.
    tamper(e, (db) => db.exec('DELETE FROM idx_tx WHERE block > 5; DELETE FROM idx_log WHERE block > 5'));
    const r = openL(e);
    assert.equal(r.head, 5);
    r.close();
  });

  test('entries replaced while the node runs are caught by the chain verified at start', () => {
    // Two copies of one directory that went their own ways after entry 39.
    const a = filled(40);
    const b = { dir: path.join(tmp(), 'copy'), secret: a.secret };
    fs.cpSync(a.dir, b.dir, { recursive: true });
    for (const [copy, label] of [[a, 'a'], [b, 'b']] as const) {
      const l = openL(copy);
      for (let i = 40; i < 100; i++) l.append({ ...block(i), payload: Buffer.from(`copy ${label} block ${i}`) });
      l.writeSnapshot(Buffer.from(`copy ${label} state@99`));
      l.close();
    }
    const l = openL(a);
    assert.equal(Buffer.from(l.read(45)).toString(), 'copy a block 45');
    // The host swaps in the other copy's entries 40..99 (and its snapshot), each consistent with the one before.
    const other = new Database(path.join(b.dir, 'conclave.db'), { readonly: true });
    const rows = other.prepare('SELECT seq, body FROM ledger WHERE seq >= 40').all() as { seq: number; body: Buffer }[];
    const snap = other.prepare('SELECT body FROM snapshots WHERE seq = 99').pluck().get() as Buffer;
    other.close();
    tamper(a, (db) => {
      const up = db.prepare('UPDATE ledger SET body = ? WHERE seq = ?');
      for (const r of rows) up.run(r.body, r.seq);
      db.prepare('UPDATE snapshots SET body = ? WHERE seq = 99').run(snap);
    });
    assertCorrupt(() => l.read(45), 45, /ledger entry 45 is not the entry verified at start|ledger entries 32\.\.63 are not the entries verified at start/);
    assertCorrupt(() => l.read(70), 70, /ledger entry 70 is not the entry verified at start|ledger entries 64\.\.95 are not the entries verified at start/);
    assertCorrupt(() => l.read(97), 97, /ledger entry 97 is not the entry verified at start/); // the open segment
    assertCorrupt(() => l.latestSnapshot(), 99, /snapshot of ledger entry 99 failed authentication: it was altered, moved from another entry, or made from another copy of this data directory/);
    assert.equal(Buffer.from(l.read(10)).toString(), `block 10 ${SECRET_STRING}`); // the shared past still reads
    l.close();
  });

  test('snapshots: round trip, at-or-below, relabelled or altered', () => {
    const e = filled(4);
    const l = openL(e);
    assert.equal(l.latestSnapshot(), undefined);
    l.writeSnapshot(Buffer.from('state@3'));
    for (let i = 4; i < 8; i++) l.append(block(i));
    l.writeSnapshot(Buffer.from('state@7'));
    assert.deepEqual(l.latestSnapshot(), { entry: 7, payload: Buffer.from('state@7') });
    assert.deepEqual(l.snapshotAtOrBelow(6), { entry: 3, payload: Buffer.from('state@3') });
    assert.deepEqual(l.snapshotAtOrBelow(7), { entry: 7, payload: Buffer.from('state@7') });
    assert.equal(l.snapshotAtOrBelow(2), undefined);
    l.close();

    // Relabel the old snapshot as the newest: the AAD binds it to entry 3 and its hash.
    tamper(e, (db) => {
      const b3 = db.prepare('SELECT body FROM snapshots WHERE seq = 3').pluck().get() as Buffer;
      db.prepare('UPDATE snapshots SET body = ? WHERE seq = 7').run(b3);
    });
    let r = openL(e);
    assertCorrupt(() => r.latestSnapshot(), 7, /^snapshot of ledger entry 7 failed authentication/);
    assert.deepEqual(r.snapshotAtOrBelow(5), { entry: 3, payload: Buffer.from('state@3') });
    r.close();

    tamper(e, (db) => db.prepare("UPDATE snapshots SET body = body || x'00' WHERE seq = 3").run());
    r = openL(e);
    assertCorrupt(() => r.snapshotAtOrBelow(5), 3, /snapshot of ledger entry 3/);
    r.close();
  });

  test('nothing on disk reveals payloads, the binding, hashes, addresses or topics', () => {
    const e = env();
    const l = openL(e);
    l.bind({ ...BINDING, params: { note: META_STRING } });
    for (let i = 0; i < 20; i++) l.append(block(i));
    l.writeSnapshot(Buffer.from(`snapshot ${SECRET_STRING}`));
    const needles: [string, Buffer][] = [
      ['payload string', Buffer.from(SECRET_STRING)],
      ['binding string', Buffer.from(META_STRING)],
      ['tx hash', h('tx-5-0')],
      ['block hash', h('block-5')],
      ['address', ADDR_A],
      ['topic', TOPIC_X],
    ];
    const scan = (when: string): void => {
      const files = fs.readdirSync(e.dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
      const names = files.map((d) => d.name);
      for (const f of ['conclave.db', 'sealed-storage.key', 'FORMAT']) assert.ok(names.includes(f), `${f} present ${when}`);
      for (const d of files) {
        const content = fs.readFileSync(path.join(d.parentPath ?? d.path, d.name));
        for (const [what, needle] of needles) {
          assert.equal(content.indexOf(needle), -1, `${what} found in ${d.name} ${when}`);
          assert.equal(content.indexOf(needle.toString('hex')), -1, `${what} (hex) found in ${d.name} ${when}`);
        }
      }
    };
    assert.ok(fs.existsSync(path.join(e.dir, 'conclave.db-wal')), 'WAL in use');
    scan('while open');
    l.close();
    scan('after close');
  });
});
