/**
 * Durability and integrity across restarts, with real node processes: what a receipt
 * promised survives kill -9; tampered, foreign or mismatched data directories are
 * refused at start with a message that says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { ethers } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { call, ETH, erc20, fresh, GWEI, hex, sign, tokenBalance, waitReceipt, type Json } from '../helpers/chainCalls.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, DEV_KEY_1, ROOT, rpc, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

const token = loadArtifact('ConclaveToken');

async function send(url: string, raw: string): Promise<string> {
  return call(url, 'eth_sendRawTransaction', [raw]);
}

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

/** Everything observable that must survive a restart. */
async function observe(url: string, hashes: string[], addresses: string[], tokenAddress: string | undefined, pastBlocks: number[]) {
  const receipts = await Promise.all(hashes.map((h) => call(url, 'eth_getTransactionReceipt', [h])));
  const transactions = await Promise.all(hashes.map((h) => call(url, 'eth_getTransactionByHash', [h])));
  const head = await call(url, 'eth_getBlockByNumber', ['latest', false]);
  const blocks = [];
  for (let n = 0; n <= Number(head.number); n++) blocks.push(await call(url, 'eth_getBlockByNumber', [hex(n), true]));
  const balances: Record<string, string> = {};
  const nonces: Record<string, string> = {};
  const tokens: Record<string, bigint> = {};
  for (const a of addresses) {
    balances[a] = await call(url, 'eth_getBalance', [a, 'latest']);
    nonces[a] = await call(url, 'eth_getTransactionCount', [a, 'latest']);
    if (tokenAddress) tokens[a] = await tokenBalance(url, tokenAddress, a);
  }
  // Archive reads at past blocks.
  const past: Record<string, unknown> = {};
  for (const b of pastBlocks) {
    for (const a of addresses) {
      past[`${b}:${a}:balance`] = await call(url, 'eth_getBalance', [a, hex(b)]);
      if (tokenAddress) past[`${b}:${a}:token`] = await tokenBalance(url, tokenAddress, a, hex(b)).catch((e: Error) => `error: ${e.message}`);
    }
  }
  const code = tokenAddress ? await call(url, 'eth_getCode', [tokenAddress, 'latest']) : undefined;
  return { receipts, transactions, head: { number: head.number, hash: head.hash, stateRoot: head.stateRoot }, blocks, balances, nonces, tokens, past, code };
}

test('receipts, balances, token balances, head and history survive kill -9; new transactions work after restart', { timeout: 240_000 }, async () => {
  const home = tempHome('conclave-restart-');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile];
  const running: NodeProcess[] = [];
  try {
    let node = await spawnNode(args);
    running.push(node);
    const dev0 = new ethers.Wallet(DEV_KEY_0);
    const recipients = Array.from({ length: 6 }, fresh);
    const holders = Array.from({ length: 4 }, fresh);
    const hashes: string[] = [];
    let nonce = 0;

    // Wave 1: value transfers (several per block, since they are sent without waiting).
    for (let i = 0; i < 8; i++) {
      hashes.push(await send(node.url, await sign(dev0, nonce++, { to: recipients[i % recipients.length], value: BigInt(i + 1) * ETH + 12345n })));
      if (i % 3 === 2) await waitReceipt(node.url, hashes.at(-1)!);
    }
    for (const h of hashes) assert.equal((await waitReceipt(node.url, h)).status, '0x1');
    const blockAfterTransfers = Number(await call(node.url, 'eth_blockNumber'));

    // Wave 2: an ERC20 deploy and transfers, mixed with value transfers.
    const deployData = (await new ethers.ContractFactory(token.abi as ethers.InterfaceAbi, token.bytecode).getDeployTransaction('Conclave', 'CLV', 1_000_000n * ETH)).data;
    const deployHash = await send(node.url, await sign(dev0, nonce++, { data: deployData, gasLimit: 3_000_000n }));
    hashes.push(deployHash);
    const deployReceipt = await waitReceipt(node.url, deployHash);
    assert.equal(deployReceipt.status, '0x1');
    const tokenAddress = deployReceipt.contractAddress as string;
    assert.ok(tokenAddress);
    const blockAfterDeploy = Number(deployReceipt.blockNumber);
    for (let i = 0; i < 12; i++) {
      const raw =
        i % 4 === 3
          ? await sign(dev0, nonce++, { to: recipients[0], value: 777n * GWEI })
          : await sign(dev0, nonce++, { to: tokenAddress, data: erc20.encodeFunctionData('transfer', [holders[i % holders.length], BigInt(i + 1) * 1000n * ETH]), gasLimit: 100_000n });
      hashes.push(await send(node.url, raw));
      if (i % 5 === 4) await waitReceipt(node.url, hashes.at(-1)!);
    }
    for (const h of hashes) assert.equal((await waitReceipt(node.url, h)).status, '0x1', `tx ${h} succeeded`);
    assert.equal(hashes.length, 21);

    const addresses = [DEV_ADDRESS_0, ...recipients, ...holders, tokenAddress];
    const pastBlocks = [0, 1, blockAfterTransfers, blockAfterDeploy];
    const before = await observe(node.url, hashes, addresses, tokenAddress, pastBlocks);
    assert.ok(Number(before.head.number) >= 5, `several blocks were made (head ${before.head.number})`);
    assert.equal(before.tokens[holders[0]!], (1n + 5n + 9n) * 1000n * ETH, 'token transfers landed');
    assert.ok(before.receipts.every((r) => r !== null));
    // A past balance really is from the past: recipient 0 received again after blockAfterTransfers.
    assert.notEqual(before.past[`${blockAfterTransfers}:${recipients[0]}:balance`], before.balances[recipients[0]!]);
    assert.equal(before.past[`${blockAfterTransfers}:${holders[0]}:token`], `error: no contract at ${tokenAddress} at block ${hex(blockAfterTransfers)}`, 'no token before the deploy');
    assert.equal(before.past[`${blockAfterDeploy}:${DEV_ADDRESS_0}:token`], 1_000_000n * ETH, 'whole supply with the deployer right after the deploy');

    // --- kill -9 and restart on the same data dir and secret
    await node.kill('SIGKILL');
    node = await spawnNode(args);
    running.push(node);
    assert.match(node.output(), /Recovered:\s+head block (\d+)/);
    assert.equal(/Recovered:\s+head block (\d+)/.exec(node.output())![1], String(Number(before.head.number)));
    const after = await observe(node.url, hashes, addresses, tokenAddress, pastBlocks);
    assert.deepEqual(after.head, before.head, 'head block number, hash and state root');
    assert.deepEqual(after.receipts, before.receipts, 'every receipt identical');
    assert.deepEqual(after.transactions, before.transactions, 'every transaction identical');
    assert.deepEqual(after.blocks, before.blocks, 'every block identical');
    assert.deepEqual(after.balances, before.balances, 'balances');
    assert.deepEqual(after.nonces, before.nonces, 'nonces');
    assert.deepEqual(after.tokens, before.tokens, 'token balances');
    assert.deepEqual(after.past, before.past, 'balances and token balances at past blocks');
    assert.equal(after.code, before.code, 'token code');

    // --- new transactions work after the restart
    const extraRecipient = fresh();
    const newHashes = [
      await send(node.url, await sign(dev0, nonce++, { to: extraRecipient, value: 42n * GWEI })),
      await send(node.url, await sign(dev0, nonce++, { to: tokenAddress, data: erc20.encodeFunctionData('transfer', [extraRecipient, 5n * ETH]), gasLimit: 100_000n })),
    ];
    const newReceipts = [];
    for (const h of newHashes) newReceipts.push(await waitReceipt(node.url, h));
    for (const r of newReceipts) assert.equal(r.status, '0x1');
    assert.ok(Number(newReceipts[0].blockNumber) > Number(before.head.number), 'new block after the old head');
    const newBlock = await call(node.url, 'eth_getBlockByNumber', [newReceipts[0].blockNumber, false]);
    if (Number(newReceipts[0].blockNumber) === Number(before.head.number) + 1) assert.equal(newBlock.parentHash, before.head.hash, 'the chain continues from the recovered head');
    assert.equal(BigInt(await call(node.url, 'eth_getBalance', [extraRecipient, 'latest'])), 42n * GWEI);
    assert.equal(await tokenBalance(node.url, tokenAddress, extraRecipient), 5n * ETH);
    assert.equal(BigInt(await call(node.url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest'])), BigInt(nonce));
    // History from before the crash is still answerable after new blocks.
    assert.equal(await call(node.url, 'eth_getBalance', [recipients[0], hex(blockAfterTransfers)]), before.past[`${blockAfterTransfers}:${recipients[0]}:balance`]);

    // --- and once more, with a clean stop this time
    const beforeStop = await observe(node.url, [...hashes, ...newHashes], [...addresses, extraRecipient], tokenAddress, pastBlocks);
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
    node = await spawnNode(args);
    running.push(node);
    const afterStop = await observe(node.url, [...hashes, ...newHashes], [...addresses, extraRecipient], tokenAddress, pastBlocks);
    assert.deepEqual(afterStop, beforeStop);
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
  } finally {
    for (const n of running) await n.kill('SIGKILL');
    home.cleanup();
  }
});

test('kill -9 with transactions in flight: every receipt returned before the kill is there after restart', { timeout: 240_000 }, async (t) => {
  const home = tempHome('conclave-inflight-');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile];
  const running: NodeProcess[] = [];
  try {
    const sender = new ethers.Wallet(DEV_KEY_1);
    const to = fresh();
    const VALUE = 1000n * GWEI;
    let node = await spawnNode(args);
    running.push(node);
    let startNonce = 0;
    let totalSeen = 0;

    // burst: all 40 fired at once, killed the moment the first receipt comes back.
    // stream: sent one after another while receipts are polled, killed right after send #k.
    const rounds: ({ mode: 'burst' } | { mode: 'stream'; killAfterSend: number })[] = [
      { mode: 'burst' },
      { mode: 'stream', killAfterSend: 7 },
      { mode: 'stream', killAfterSend: 21 },
      { mode: 'stream', killAfterSend: 34 },
    ];
    for (const [round, plan] of rounds.entries()) {
      const raws: string[] = [];
      for (let i = 0; i < 40; i++) raws.push(await sign(sender, startNonce + i, { to, value: VALUE }));
      const hashes = raws.map((r) => ethers.keccak256(r));
      const seen = new Map<string, Json>(); // receipts answered before the kill
      const sent: string[] = []; // hashes whose eth_sendRawTransaction answered before the kill
      let killed = false;
      let exited: Promise<number | null> | undefined;
      const url = node.url;
      const victim = node;
      const killNow = () => {
        if (killed) return;
        killed = true; // from here on, answers do not count as "returned before the kill"
        exited = victim.kill('SIGKILL');
      };
      const sendOne = async (i: number) => {
        const r = await rpc(url, 'eth_sendRawTransaction', [raws[i]]).catch(() => undefined);
        if (!killed && r?.result) sent.push(hashes[i]!);
      };

      let sending: Promise<unknown>;
      if (plan.mode === 'burst') {
        sending = Promise.allSettled(raws.map((_, i) => sendOne(i)));
      } else {
        sending = (async () => {
          for (let i = 0; i < raws.length && !killed; i++) {
            await sendOne(i);
            if (i + 1 === plan.killAfterSend) killNow();
          }
        })();
      }
      const polling = (async () => {
        while (!killed) {
          // burst: watch the lowest nonce only, to notice the first block as early as possible.
          const pending = plan.mode === 'burst' ? hashes.filter((h) => !seen.has(h)).slice(0, 1) : sent.filter((h) => !seen.has(h));
          if (pending.length === 0) {
            await new Promise((res) => setTimeout(res, 1));
            continue;
          }
          const answers = await Promise.all(pending.map((h) => rpc(url, 'eth_getTransactionReceipt', [h]).catch(() => undefined)));
          if (killed) break;
          pending.forEach((h, i) => {
            const r = answers[i]?.result;
            if (r) seen.set(h, r);
          });
          if (plan.mode === 'burst' && seen.size >= 1) killNow();
        }
      })();
      await Promise.all([sending, polling]);
      killNow(); // in case every send finished before the planned kill
      await exited;
      totalSeen += seen.size;

      node = await spawnNode(args);
      running.push(node);
      for (const [h, r] of seen) {
        assert.deepEqual(await call(node.url, 'eth_getTransactionReceipt', [h]), r, `round ${round}: receipt of ${h} (nonce ${hashes.indexOf(h) + startNonce}) survives`);
      }
      // What survived is a prefix by nonce: no gaps, nothing half-applied.
      const count = Number(await call(node.url, 'eth_getTransactionCount', [sender.address, 'latest']));
      assert.ok(count >= startNonce + Math.max(...[...seen.keys()].map((h) => hashes.indexOf(h))) + 1, `round ${round}: nonce ${count} covers every seen receipt`);
      for (let i = 0; i < hashes.length; i++) {
        const r = await call(node.url, 'eth_getTransactionReceipt', [hashes[i]]);
        if (startNonce + i < count) assert.ok(r && r.status === '0x1', `round ${round}: nonce ${startNonce + i} < ${count} is in a block`);
        else assert.equal(r, null, `round ${round}: nonce ${startNonce + i} >= ${count} is not in a block`);
      }
      t.diagnostic(`round ${round} (${JSON.stringify(plan)}): ${sent.length} sends and ${seen.size} receipts answered before the kill; ${count - startNonce} of ${hashes.length} transactions survived`);
      assert.equal(BigInt(await call(node.url, 'eth_getBalance', [to, 'latest'])), BigInt(count) * VALUE, `round ${round}: recipient balance matches the included transfers`);
      // The lost ones (never acknowledged) can be sent again.
      if (count < startNonce + hashes.length) {
        const last = hashes.length - 1;
        for (let i = count - startNonce; i <= last; i++) await send(node.url, raws[i]!);
        await waitReceipt(node.url, hashes[last]!);
      }
      startNonce += hashes.length;
      assert.equal(Number(await call(node.url, 'eth_getTransactionCount', [sender.address, 'latest'])), startNonce);
    }
    assert.ok(totalSeen >= rounds.length, 'receipts were seen before kills');
  } finally {
    for (const n of running) await n.kill('SIGKILL');
    home.cleanup();
  }
});

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
    await assertRefused(args, new RegExp(`snapshot of ledger entry ${headNumber} failed authentication \\(tampered, or made from another entry`), 'snapshot from another entry');
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

test('a storage write failure stops the node, and nothing after it is announced', { timeout: 240_000 }, async (t) => {
  const home = tempHome('conclave-full-');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile];
  const running: NodeProcess[] = [];
  try {
    // A ledger that may grow to 1 MiB fills as a full disk would: SQLite refuses the write.
    const node = await spawnNode([...args, '--ledger-max-mb', '1']);
    running.push(node);
    const announced: { number: string; hash: string }[] = [];
    const ws = new WebSocket(node.wsUrl);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.method === 'eth_subscription') announced.push({ number: m.params.result.number, hash: m.params.result.hash });
    });
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    ws.on('error', () => {});

    // Transfers with 60 KB of data each, from two senders, until the node stops.
    const senders = [new ethers.Wallet(DEV_KEY_0), new ethers.Wallet(DEV_KEY_1)];
    const receipts = new Map<string, Json>();
    const data = '0x' + 'ab'.repeat(60_000);
    let stopped = false;
    const exited = new Promise<number | null>((resolve) => node.child.once('exit', (code) => { stopped = true; resolve(code); }));
    await Promise.all(senders.map(async (wallet) => {
      for (let nonce = 0; !stopped && nonce < 60; nonce++) {
        const raw = await sign(wallet, nonce, { to: fresh(), value: 1n, data, gasLimit: 3_000_000n });
        const sent = await rpc(node.url, 'eth_sendRawTransaction', [raw]).catch(() => undefined);
        if (!sent?.result) {
          t.diagnostic(`send stopped: ${JSON.stringify(sent?.error)}`);
          break;
        }
        for (let i = 0; i < 500 && !stopped; i++) {
          const r = await rpc(node.url, 'eth_getTransactionReceipt', [sent.result]).catch(() => undefined);
          if (r?.result) {
            receipts.set(sent.result, r.result);
            break;
          }
          await new Promise((res) => setTimeout(res, 10));
        }
      }
    }));
    const code = await Promise.race([exited, new Promise((res) => setTimeout(() => res('still running'), 30_000))]);
    ws.terminate();
    assert.equal(stopped, true, `the node stopped when the ledger was full:\n${node.output()}`);
    assert.notEqual(code, 0, 'a node stopped by a storage failure exits non-zero');
    assert.match(node.output(), /ledger write failed: database or disk is full/);
    t.diagnostic(`${receipts.size} receipts and ${announced.length} heads announced before the failure`);
    assert.ok(receipts.size >= 3, 'some blocks were written before the ledger filled');

    // Restarted with room: everything answered or announced is there, and nothing after the failure.
    const again = await spawnNode(args.concat(['--ledger-max-mb', '64']));
    running.push(again);
    for (const [hash, r] of receipts) assert.deepEqual(await call(again.url, 'eth_getTransactionReceipt', [hash]), r, `receipt ${hash} survives`);
    const head = Number((await call(again.url, 'eth_getBlockByNumber', ['latest', false])).number);
    for (const h of announced) {
      assert.ok(Number(h.number) <= head, `announced block ${Number(h.number)} is durable (head ${head})`);
      assert.equal((await call(again.url, 'eth_getBlockByNumber', [h.number, false])).hash, h.hash, `announced block ${Number(h.number)} is the same block`);
    }
    // And the node goes on from there.
    const wallet = senders[0]!;
    const nonce = Number(await call(again.url, 'eth_getTransactionCount', [wallet.address, 'latest']));
    await waitReceipt(again.url, await send(again.url, await sign(wallet, nonce, { to: fresh(), value: 1n })));
  } finally {
    for (const n of running) await n.kill('SIGKILL');
    home.cleanup();
  }
});
