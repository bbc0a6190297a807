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
    seq,
    payload: Buffer.from(`block ${seq} ${SECRET_STRING}`),
    txHashes: [h(`tx-${seq}-0`), h(`tx-${seq}-1`)],
    blockHash: h(`block-${seq}`),
    // Logs in even blocks only; duplicate keys must be harmless.
    logKeys: seq % 2 === 0 ? [ADDR_A, TOPIC_X, ADDR_A] : [],
  };
}

interface Env { dir: string; secret: Buffer; }
function env(): Env {
  const root = tmp();
  return { dir: path.join(root, 'data'), secret: loadPlatformSecret(path.join(root, 'platform-secret')) };
}
function openL(e: Env, create = true): Ledger {
  return Ledger.open(e.dir, { platformSecret: e.secret, create });
}
/** A ledger with entries 0..n-1, closed. */
function filled(n: number): Env {
  const e = env();
  const l = openL(e);
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
  test('round trip', () => {
    const e = env();
    const l = openL(e);
    assert.equal(l.head, -1);
    for (let i = 0; i < 5; i++) l.append(block(i));
    assert.equal(l.head, 4);
    for (let i = 0; i < 5; i++) assert.equal(Buffer.from(l.read(i)).toString(), `block ${i} ${SECRET_STRING}`);
    l.verifyAll();
    l.verifyAll(3);
    assert.equal(fs.readFileSync(path.join(e.dir, 'FORMAT'), 'utf8'), 'conclave-data 2\n');
    assert.equal(l.getMeta('nope'), undefined);
    l.setMeta('config', Buffer.from(META_STRING));
    assert.equal(Buffer.from(l.getMeta('config')!).toString(), META_STRING);
    assert.throws(() => l.read(5), LedgerError);
    l.close();
  });

  test('append must be head + 1, and is atomic', () => {
    const e = env();
    const l = openL(e);
    assert.throws(() => l.append(block(1)), /expected entry 0, got 1/);
    l.append(block(0));
    assert.throws(() => l.append(block(0)), /expected entry 1, got 0/);
    // A duplicate tx hash violates idx_tx's key mid-transaction: nothing of block 1 may remain.
    const bad = { ...block(1), txHashes: [h('fresh'), h('tx-0-0')] };
    assert.throws(() => l.append(bad));
    assert.equal(l.head, 0);
    assert.equal(l.seqOfTx(h('fresh')), undefined);
    l.append(block(1)); // chain link cache unaffected by the failed attempt
    l.close();
    const r = openL(e);
    assert.equal(r.head, 1);
    r.verifyAll();
    r.close();
  });

  test('restart preserves entries, head, indexes, snapshots and meta', () => {
    const e = filled(6);
    let l = openL(e, false);
    assert.equal(l.head, 5);
    l.writeSnapshot(4, Buffer.from('snap4'));
    l.setMeta('m', Buffer.from('v'));
    l.append(block(6)); // chain continues across restart
    l.close();
    l = openL(e, false);
    assert.equal(l.head, 6);
    l.verifyAll();
    for (let i = 0; i <= 6; i++) assert.equal(Buffer.from(l.read(i)).toString(), `block ${i} ${SECRET_STRING}`);
    assert.equal(l.seqOfTx(h('tx-3-1')), 3);
    assert.equal(l.seqOfBlockHash(h('block-6')), 6);
    assert.deepEqual(l.seqsWithLogKey('any', 0, 100, 100), [0, 2, 4, 6]);
    assert.deepEqual(l.latestSnapshot(), { seq: 4, payload: Buffer.from('snap4') });
    assert.equal(Buffer.from(l.getMeta('m')!).toString(), 'v');
    l.close();
  });

  test('index lookups', () => {
    const e = filled(10);
    const l = openL(e);
    assert.equal(l.seqOfTx(h('tx-7-0')), 7);
    assert.equal(l.seqOfTx(h('tx-7-1')), 7);
    assert.equal(l.seqOfTx(h('tx-99-0')), undefined);
    assert.equal(l.seqOfBlockHash(h('block-0')), 0);
    assert.equal(l.seqOfBlockHash(h('tx-0-0')), undefined); // domains are separate
    assert.equal(l.seqOfTx(h('block-0')), undefined);
    assert.deepEqual(l.seqsWithLogKey(ADDR_A, 0, 9, 100), [0, 2, 4, 6, 8]);
    assert.deepEqual(l.seqsWithLogKey(TOPIC_X, 3, 7, 100), [4, 6]);
    assert.deepEqual(l.seqsWithLogKey(ADDR_A, 0, 9, 2), [0, 2]);
    assert.deepEqual(l.seqsWithLogKey('any', 1, 9, 100), [2, 4, 6, 8]);
    assert.deepEqual(l.seqsWithLogKey(ADDR_B, 0, 9, 100), []);
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
    fs.writeFileSync(path.join(e.dir, 'FORMAT'), 'conclave-data 3\n');
    assert.throws(() => openL(e), (err: unknown) =>
      err instanceof LedgerError &&
      err.message === `data directory ${e.dir} has data format "conclave-data 3"; this Conclave reads format 2. Use a matching Conclave version or start with --reset.`);
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

  test('flipping one byte of a body is detected and names the entry', () => {
    const e = filled(5);
    tamper(e, (db) => {
      const b = rawBody(db, 2);
      b[b.length >> 1] ^= 0x01;
      db.prepare('UPDATE ledger SET body = ? WHERE seq = 2').run(b);
    });
    const l = openL(e);
    assert.equal(Buffer.from(l.read(1)).toString(), `block 1 ${SECRET_STRING}`);
    assertCorrupt(() => l.read(2), 2, /^ledger entry 2 failed authentication \(tampered, swapped or truncated\)$/);
    assertCorrupt(() => l.read(3), 3, /ledger entry 3 failed/); // its link to entry 2 no longer matches
    assertCorrupt(() => l.verifyAll(), 2, /ledger entry 2 failed/);
    l.close();
  });

  test('swapping two rows is detected', () => {
    const e = filled(5);
    tamper(e, (db) => {
      const b1 = rawBody(db, 1), b2 = rawBody(db, 2);
      const up = db.prepare('UPDATE ledger SET body = ? WHERE seq = ?');
      up.run(b2, 1);
      up.run(b1, 2);
    });
    const l = openL(e);
    assertCorrupt(() => l.read(1), 1, /ledger entry 1 failed/);
    assertCorrupt(() => l.read(2), 2, /ledger entry 2 failed/);
    assertCorrupt(() => l.verifyAll(), 1, /ledger entry 1 failed/);
    l.close();
  });

  test('deleting a middle row is reported as missing', () => {
    const e = filled(5);
    tamper(e, (db) => db.prepare('DELETE FROM ledger WHERE seq = 2').run());
    const l = openL(e);
    assertCorrupt(() => l.read(2), 2, /^ledger entry 2 is missing$/);
    assertCorrupt(() => l.read(3), 2, /ledger entry 2 is missing/);
    assertCorrupt(() => l.verifyAll(), 2, /ledger entry 2 is missing/);
    l.close();
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
    const l = openL(e);
    assertCorrupt(() => l.read(3), 3, /ledger entry 3 failed/);
    l.close();
    tamper(e, (db) => db.prepare("UPDATE ledger SET body = x'0102' WHERE seq = 1").run());
    const l2 = openL(e);
    assertCorrupt(() => l2.read(1), 1, /ledger entry 1 failed/);
    l2.close();
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

  test('snapshots: round trip, at-or-below, tamper and swap', () => {
    const e = filled(10);
    const l = openL(e);
    assert.equal(l.latestSnapshot(), undefined);
    l.writeSnapshot(3, Buffer.from('state@3'));
    l.writeSnapshot(7, Buffer.from('state@7'));
    assert.throws(() => l.writeSnapshot(10, Buffer.from('future')), LedgerError);
    assert.deepEqual(l.latestSnapshot(), { seq: 7, payload: Buffer.from('state@7') });
    assert.deepEqual(l.snapshotAtOrBelow(6), { seq: 3, payload: Buffer.from('state@3') });
    assert.deepEqual(l.snapshotAtOrBelow(7), { seq: 7, payload: Buffer.from('state@7') });
    assert.equal(l.snapshotAtOrBelow(2), undefined);
    l.close();

    // Relabel the old snapshot as the newest: the AAD binds it to block 3.
    tamper(e, (db) => {
      const b3 = db.prepare('SELECT body FROM snapshots WHERE seq = 3').pluck().get() as Buffer;
      db.prepare('UPDATE snapshots SET body = ? WHERE seq = 7').run(b3);
    });
    let r = openL(e);
    assertCorrupt(() => r.latestSnapshot(), 7, /^snapshot at block 7 failed authentication/);
    assert.deepEqual(r.snapshotAtOrBelow(5), { seq: 3, payload: Buffer.from('state@3') });
    r.close();

    tamper(e, (db) => db.prepare("UPDATE snapshots SET body = body || x'00' WHERE seq = 3").run());
    r = openL(e);
    assertCorrupt(() => r.snapshotAtOrBelow(5), 3, /snapshot at block 3/);
    r.close();
  });

  test('meta values are bound to their name', () => {
    const e = filled(1);
    const l = openL(e);
    l.setMeta('a', Buffer.from('value-a'));
    l.setMeta('b', Buffer.from('value-b'));
    assert.throws(() => l.setMeta('\0head', Buffer.from('x')), LedgerError);
    l.close();
    tamper(e, (db) => {
      const a = db.prepare("SELECT body FROM meta WHERE name = 'a'").pluck().get() as Buffer;
      db.prepare("UPDATE meta SET body = ? WHERE name = 'b'").run(a);
    });
    const r = openL(e);
    assert.equal(Buffer.from(r.getMeta('a')!).toString(), 'value-a');
    assertCorrupt(() => r.getMeta('b'), undefined, /meta value "b" failed authentication/);
    r.close();
  });

  test('nothing on disk reveals payloads, meta values, hashes, addresses or topics', () => {
    const e = env();
    const l = openL(e);
    for (let i = 0; i < 20; i++) l.append(block(i));
    l.writeSnapshot(10, Buffer.from(`snapshot ${SECRET_STRING}`));
    l.setMeta('note', Buffer.from(META_STRING));
    const needles: [string, Buffer][] = [
      ['payload string', Buffer.from(SECRET_STRING)],
      ['meta string', Buffer.from(META_STRING)],
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
