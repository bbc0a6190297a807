/**
 * Integrity at start, with real node processes: tampered, cut back, foreign or
 * mismatched data directories are refused with a message that says why, and the
 * refusal leaves the data as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { ethers } from 'ethers';
import { call, ETH, fresh, send, sign, waitReceipt, type Json } from '../helpers/chainCalls.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, ROOT, rpc, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

/**
 * Starts `conclave start` expecting it to refuse: resolves with its exit code and output.
 * If it starts listening instead, it is killed and `listened` is true.
 */
function startExpectingRefusal(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; output: string; listened: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'node/cli.ts'), 'start', '--port', '0', ...args], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listened = false;
  const onData = (d: Buffer) => {
    output += d;
    if (!listened && /Listening on /.test(output)) {
      listened = true;
      child.kill('SIGKILL');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, listened });
    });
  });
}

async function assertRefused(args: string[], pattern: RegExp, what: string): Promise<string> {
  const r = await startExpectingRefusal(args);
  assert.equal(r.listened, false, `${what}: the node started instead of refusing:\n${r.output}`);
  assert.notEqual(r.code, 0, `${what}: expected a non-zero exit:\n${r.output}`);
  assert.equal(r.code, 1, `${what}: expected exit code 1:\n${r.output}`);
  assert.match(r.output, /^conclave: /m, `${what}: the reason is printed as "conclave: ..."\n${r.output}`);
  assert.match(r.output, pattern, `${what}: unexpected message:\n${r.output}`);
  if (process.env.SHOW_REFUSALS) console.log(`${what}: ${r.output.trim()}`);
  return r.output;
}

test('a tampered ledger, an unknown FORMAT, another chain id or another platform secret are refused at start', { timeout: 240_000 }, async () => {
  const home = tempHome('conclave-tamper-');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile];
  const dbFile = path.join(home.dataDir, 'conclave.db');
  const running: NodeProcess[] = [];
  try {
    let node = await spawnNode(args);
    running.push(node);
    const dev0 = new ethers.Wallet(DEV_KEY_0);
    const mined: Json[] = [];
    for (let i = 0; i < 3; i++) mined.push(await waitReceipt(node.url, await send(node.url, await sign(dev0, i, { to: fresh(), value: ETH }))));
    // An older copy of the database (head 3, snapshot 3), for the splice below.
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
    const oldDb = path.join(home.dir, 'conclave.db.at-block-3');
    fs.copyFileSync(dbFile, oldDb);
    node = await spawnNode(args);
    running.push(node);
    for (let i = 3; i < 7; i++) mined.push(await waitReceipt(node.url, await send(node.url, await sign(dev0, i, { to: fresh(), value: ETH }))));
    const head = await call(node.url, 'eth_getBlockByNumber', ['latest', false]);
    const genesisHash = (await call(node.url, 'eth_getBlockByNumber', ['0x0', false])).hash;
    const headNumber = Number(head.number);
    assert.equal(headNumber, 7, 'one block per transaction');
    assert.equal(await node.kill('SIGTERM'), 0, node.output());

    const withDb = (fn: (db: Database.Database) => void) => {
      const db = new Database(dbFile, { fileMustExist: true });
      try {
        fn(db);
      } finally {
        db.close();
      }
    };
    const body = (db: Database.Database, table: string, seq: number) => db.prepare(`SELECT body FROM ${table} WHERE seq = ?`).pluck().get(seq) as Buffer;
    const setBody = (db: Database.Database, table: string, seq: number, b: Buffer) => {
      assert.equal(db.prepare(`UPDATE ${table} SET body = ? WHERE seq = ?`).run(b, seq).changes, 1);
    };
    const startsAgain = async () => {
      const n = await spawnNode(args);
      running.push(n);
      const h = await call(n.url, 'eth_getBlockByNumber', ['latest', false]);
      assert.equal(h.hash, head.hash, 'same head after the repair');
      assert.equal(await n.kill('SIGTERM'), 0, n.output());
    };

    // --- one flipped byte inside the body of a middle entry
    const N = Math.floor(headNumber / 2);
    let original!: Buffer;
    withDb((db) => {
      original = Buffer.from(body(db, 'ledger', N));
      const flipped = Buffer.from(original);
      flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
      setBody(db, 'ledger', N, flipped);
    });
    await assertRefused(args, new RegExp(`ledger entry ${N} failed authentication`), 'flipped byte');
    withDb((db) => setBody(db, 'ledger', N, original));
    await startsAgain(); // the refusal was due to the flip alone, and left the data intact

    // --- two genuine entries swapped
    withDb((db) => {
      const a = Buffer.from(body(db, 'ledger', 2));
      const b = Buffer.from(body(db, 'ledger', 4));
      setBody(db, 'ledger', 2, b);
      setBody(db, 'ledger', 4, a);
    });
    await assertRefused(args, /ledger entry 2 failed authentication/, 'swapped entries');
    withDb((db) => {
      const a = Buffer.from(body(db, 'ledger', 2));
      const b = Buffer.from(body(db, 'ledger', 4));
      setBody(db, 'ledger', 2, b);
      setBody(db, 'ledger', 4, a);
    });

    // --- the newest entry deleted (truncation)
    let newest!: Buffer;
    withDb((db) => {
      newest = Buffer.from(body(db, 'ledger', headNumber));
      db.prepare('DELETE FROM ledger WHERE seq = ?').run(headNumber);
    });
    await assertRefused(args, new RegExp(`ledger entry ${headNumber} is missing`), 'truncated ledger');
    withDb((db) => db.prepare('INSERT INTO ledger(seq, first, last, body) VALUES (?, ?, ?, ?)').run(headNumber, headNumber, headNumber, newest));

    // --- the shutdown snapshot altered
    let snap!: Buffer;
    withDb((db) => {
      snap = Buffer.from(body(db, 'snapshots', headNumber));
      const flipped = Buffer.from(snap);
      flipped[flipped.length - 1]! ^= 0x80;
      setBody(db, 'snapshots', headNumber, flipped);
    });
    await assertRefused(args, new RegExp(`snapshot of ledger entry ${headNumber} failed authentication`), 'altered snapshot');
    withDb((db) => setBody(db, 'snapshots', headNumber, snap));
    await startsAgain();

    // --- a snapshot from another entry: the older copy's snapshot of entry 3 relabelled as the newest
    const snap3 = (() => {
      const db = new Database(oldDb, { readonly: true });
      try {
        return db.prepare('SELECT body FROM snapshots WHERE seq = 3').pluck().get() as Buffer;
      } finally {
        db.close();
      }
    })();
    withDb((db) => setBody(db, 'snapshots', headNumber, snap3));
    await assertRefused(args, new RegExp(`snapshot of ledger entry ${headNumber} failed authentication: it was altered, moved from another entry, or made from another copy`), 'snapshot from another entry');
    withDb((db) => setBody(db, 'snapshots', headNumber, snap));

    // --- a cut back to the older copy that leaves a newer trace: a snapshot, an index row
    const currentDb = path.join(home.dir, 'conclave.db.current');
    fs.copyFileSync(dbFile, currentDb);
    fs.copyFileSync(oldDb, dbFile);
    withDb((db) => db.prepare('INSERT INTO snapshots(seq, body) VALUES (?, ?)').run(headNumber, snap));
    await assertRefused(args, new RegExp(`a snapshot of ledger entry ${headNumber} exists, but the ledger ends at entry 3: the ledger was cut back after the snapshot was written \\(rolled back\\)`), 'tail cut leaving a snapshot');
    fs.copyFileSync(oldDb, dbFile);
    const newerIndex = (() => {
      const db = new Database(currentDb, { readonly: true });
      try {
        return db.prepare('SELECT k, block FROM idx_block WHERE block = ?').raw().get(headNumber) as [Buffer, number];
      } finally {
        db.close();
      }
    })();
    withDb((db) => db.prepare('INSERT INTO idx_block(k, block) VALUES (?, ?)').run(...newerIndex));
    await assertRefused(args, new RegExp(`index rows \\(idx_block\\) name block ${headNumber}, but no ledger entry covers a block after 3: the ledger was cut back`), 'tail cut leaving an index row');
    fs.copyFileSync(currentDb, dbFile);
    await startsAgain();

    // --- the ledger deleted, or emptied, beside the key that names its genesis
    for (const f of ['conclave.db-wal', 'conclave.db-shm']) fs.rmSync(path.join(home.dataDir, f), { force: true });
    fs.renameSync(dbFile, currentDb);
    await assertRefused(args, new RegExp(`belongs to the chain with genesis ${genesisHash}, but its ledger is missing \\(conclave.db was deleted\\): restore conclave.db`), 'ledger deleted');
    assert.equal(fs.existsSync(dbFile), false, 'a refused start creates no database');
    fs.copyFileSync(currentDb, dbFile);
    withDb((db) => db.exec('DELETE FROM ledger; DELETE FROM snapshots; DELETE FROM idx_tx; DELETE FROM idx_block; DELETE FROM idx_log; DELETE FROM meta'));
    await assertRefused(args, /but its ledger is empty \(conclave.db was emptied\)/, 'ledger emptied');
    fs.copyFileSync(currentDb, dbFile);
    await startsAgain();

    // --- a FORMAT file with an unknown version
    const formatFile = path.join(home.dataDir, 'FORMAT');
    const format = fs.readFileSync(formatFile);
    fs.writeFileSync(formatFile, 'conclave-data 99\n');
    await assertRefused(args, /data format "conclave-data 99"; this Conclave reads format 3/, 'unknown FORMAT');
    fs.writeFileSync(formatFile, format);

    // --- another chain id
    await assertRefused([...args, '--chain-id', '999'], /holds chain 31337, not 999/, 'other chain id');

    // --- another block gas limit (a consensus parameter pinned at genesis); the same one, named, is fine
    await assertRefused(
      [...args, '--gas-limit', '40000000'],
      /holds a chain with block gas limit 30000000, not 40000000: it is a consensus parameter fixed at genesis; start it without --gas-limit \(or with --gas-limit 30000000\)/,
      'other gas limit',
    );
    {
      const n = await spawnNode([...args, '--gas-limit', '30000000']);
      running.push(n);
      assert.equal((await call(n.url, 'eth_getBlockByNumber', ['latest', false])).gasLimit, '0x1c9c380');
      assert.equal(await n.kill('SIGTERM'), 0, n.output());
    }

    // --- another platform secret (a different file: a different simulated platform)
    const otherSecret = path.join(home.dir, 'other-platform-secret');
    await assertRefused(['--data', home.dataDir, '--platform-secret-file', otherSecret], /cannot unseal sealed-storage.key/, 'other platform secret');

    // After all the refusals the directory is intact and the chain is where it was.
    await startsAgain();

    // --- index rows redirected (they are not authenticated, and not checked at start):
    // lookups may miss, but must never answer with another block's or transaction's data.
    let savedIdx!: { block: unknown[]; tx: unknown[] };
    withDb((db) => {
      savedIdx = { block: db.prepare('SELECT k, block FROM idx_block').raw().all(), tx: db.prepare('SELECT k, block FROM idx_tx').raw().all() };
      db.prepare('UPDATE idx_block SET block = 1').run();
      db.prepare('UPDATE idx_tx SET block = 1').run();
    });
    node = await spawnNode(args);
    running.push(node);
    const victim = mined[4]!; // in block 5
    assert.equal(Number(victim.blockNumber), 5);
    const byHash = await rpc(node.url, 'eth_getBlockByHash', [victim.blockHash, false]);
    assert.ok(byHash.result === null || byHash.result.hash === victim.blockHash, `block ${victim.blockHash} answered with block ${byHash.result?.hash}`);
    const balanceByHash = await rpc(node.url, 'eth_getBalance', [DEV_ADDRESS_0, { blockHash: victim.blockHash }]);
    const balanceAt5 = await call(node.url, 'eth_getBalance', [DEV_ADDRESS_0, '0x5']);
    assert.ok(balanceByHash.error || balanceByHash.result === balanceAt5, `balance at block hash of 5 answered ${JSON.stringify(balanceByHash)}, at 5 it is ${balanceAt5}`);
    const receipt = await rpc(node.url, 'eth_getTransactionReceipt', [victim.transactionHash]);
    assert.ok(receipt.result === null || receipt.result.transactionHash === victim.transactionHash, `receipt of ${victim.transactionHash}: ${JSON.stringify(receipt.result)}`);
    // Block 1's own entries still resolve.
    assert.equal((await call(node.url, 'eth_getBlockByHash', [mined[0]!.blockHash, false])).hash, mined[0]!.blockHash);
    assert.deepEqual(await call(node.url, 'eth_getTransactionReceipt', [mined[0]!.transactionHash]), mined[0]);
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
    withDb((db) => {
      db.prepare('DELETE FROM idx_block').run();
      db.prepare('DELETE FROM idx_tx').run();
      for (const [k, block] of savedIdx.block as [Buffer, number][]) db.prepare('INSERT INTO idx_block(k, block) VALUES (?, ?)').run(k, block);
      for (const [k, block] of savedIdx.tx as [Buffer, number][]) db.prepare('INSERT INTO idx_tx(k, block) VALUES (?, ?)').run(k, block);
    });
    node = await spawnNode(args);
    running.push(node);
    assert.equal((await call(node.url, 'eth_getBlockByHash', [victim.blockHash, false])).hash, victim.blockHash, 'restored index resolves again');
    assert.deepEqual(await call(node.url, 'eth_getTransactionReceipt', [victim.transactionHash]), victim);
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
  } finally {
    for (const n of running) await n.kill('SIGKILL');
    home.cleanup();
  }
});
