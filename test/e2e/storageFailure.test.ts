/**
 * A storage write failure, with a real node process: the node stops, exits non-zero,
 * and announces nothing it did not make durable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ethers } from 'ethers';
import { call, fresh, send, sign, waitReceipt, type Json } from '../helpers/chainCalls.ts';
import { DEV_KEY_0, DEV_KEY_1, rpc, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

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
