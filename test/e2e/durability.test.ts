/**
 * Durability with real node processes: kill -9 in the middle of load from several
 * senders loses no transaction whose receipt was answered, and a chain of more than
 * 1,000 blocks restarts from its periodic or shutdown snapshot to the same state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { call, ETH, erc20, fresh, GWEI, hex, sign, tokenBalance, waitReceipt, type Json } from '../helpers/chainCalls.ts';
import { rpc, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

const MNEMONIC = 'test test test test test test test test test test test junk';
const token = loadArtifact('ConclaveToken');

/** Dev account i of the standard test mnemonic (public keys, funded at genesis). */
function devWallet(i: number): ethers.HDNodeWallet {
  return ethers.HDNodeWallet.fromMnemonic(ethers.Mnemonic.fromPhrase(MNEMONIC), `m/44'/60'/0'/0/${i}`);
}

/** Many calls of one method in JSON-RPC batches; results in the order of `params`. */
async function callMany(url: string, method: string, params: unknown[][], batch = 200): Promise<any[]> {
  const out: any[] = [];
  for (let from = 0; from < params.length; from += batch) {
    const body = params.slice(from, from + batch).map((p, i) => ({ jsonrpc: '2.0', id: i, method, params: p }));
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answers = (await res.json()) as Json[];
    answers.sort((a, b) => a.id - b.id);
    for (const a of answers) {
      if (a.error) throw new Error(`${method} failed: ${a.error.message}`);
      out.push(a.result);
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

const RECOVERED = /Recovered:\s+head block (\d+) \(snapshot (\d+|none), (\d+) blocks replayed\)/;

/** What the restarted process says it recovered from. */
function recovered(node: NodeProcess): { head: number; snapshot: number | null; replayed: number } {
  const m = RECOVERED.exec(node.output());
  assert.ok(m, `the node says what it recovered from:\n${node.output()}`);
  return { head: Number(m[1]), snapshot: m[2] === 'none' ? null : Number(m[2]), replayed: Number(m[3]) };
}

/** A transaction signed during the load, whether or not its send was answered. */
interface Sent {
  sender: number;
  nonce: number;
  hash: string;
  raw: string;
  /** A value transfer: wei to `to`. */
  value: bigint;
  to?: string;
  /** A token transfer: token units to `holder`. */
  holder?: string;
  tokens: bigint;
}

test('kill -9 under load from 4 senders loses no transaction whose receipt was returned', { timeout: 300_000 }, async () => {
  const home = tempHome('conclave-durability-');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile];
  const running: NodeProcess[] = [];
  try {
    let node = await spawnNode(args);
    running.push(node);
    const wallets = [0, 1, 2, 3].map(devWallet);
    const senders = wallets.map((w) => w.address.toLowerCase());
    const nonces = [0, 0, 0, 0];

    // The token, deployed by sender 0, who gives each other sender a share.
    const deployData = (await new ethers.ContractFactory(token.abi as ethers.InterfaceAbi, token.bytecode).getDeployTransaction('Conclave', 'CLV', 1_000_000n * ETH)).data;
    const deploy = await waitReceipt(node.url, await call(node.url, 'eth_sendRawTransaction', [await sign(wallets[0]!, nonces[0]++, { data: deployData, gasLimit: 3_000_000n })]));
    assert.equal(deploy.status, '0x1');
    const tokenAddress = deploy.contractAddress as string;
    for (let s = 1; s < 4; s++) {
      const raw = await sign(wallets[0]!, nonces[0]++, { to: tokenAddress, data: erc20.encodeFunctionData('transfer', [senders[s], 100_000n * ETH]), gasLimit: 100_000n });
      assert.equal((await waitReceipt(node.url, await call(node.url, 'eth_sendRawTransaction', [raw]))).status, '0x1');
    }

    for (let round = 1; round <= 2; round++) {
      const recipients = Array.from({ length: 8 }, fresh);
      const holders = Array.from({ length: 4 }, fresh);
      const start = { balances: [] as bigint[], tokens: [] as bigint[] };
      for (let s = 0; s < 4; s++) {
        nonces[s] = Number(await call(node.url, 'eth_getTransactionCount', [senders[s], 'latest']));
        start.balances.push(BigInt(await call(node.url, 'eth_getBalance', [senders[s], 'latest'])));
        start.tokens.push(await tokenBalance(node.url, tokenAddress, senders[s]!));
      }

      // --- load: 4 senders stream transfers and token transfers; a poller collects receipts.
      const sent: Sent[] = [];
      const receipts = new Map<string, Json>(); // every receipt the node answered before the kill
      // A different point in each round and each run, well into the load.
      const killAfter = 200 + Math.floor(Math.random() * 200);
      let killed = false;
      let killing: Promise<unknown> | undefined;
      // Each sender keeps several sends in flight: its transactions may reach the node out
      // of nonce order, and wait in the pool for the gap to close.
      const counts = [0, 0, 0, 0];
      const stream = async (s: number) => {
        while (!killed) {
          // Stay a bounded distance ahead of the receipts, so the pool never refuses.
          while (!killed && sent.filter((t) => t.sender === s && !receipts.has(t.hash)).length >= 48) await sleep(5);
          if (killed) return;
          const nonce = nonces[s]!++;
          const i = counts[s]!++;
          const tx: Sent =
            i % 3 === 2
              ? { sender: s, nonce, hash: '', raw: '', value: 0n, holder: holders[(s + i) % holders.length], tokens: BigInt(i + 1) * ETH }
              : { sender: s, nonce, hash: '', raw: '', value: BigInt(1 + s * 1000 + i) * GWEI, to: recipients[(s * 3 + i) % recipients.length], tokens: 0n };
          tx.raw = tx.holder
            ? await sign(wallets[s]!, nonce, { to: tokenAddress, data: erc20.encodeFunctionData('transfer', [tx.holder, tx.tokens]), gasLimit: 100_000n })
            : await sign(wallets[s]!, nonce, { to: tx.to, value: tx.value });
          tx.hash = ethers.keccak256(tx.raw);
          sent.push(tx);
          try {
            const res = await rpc(node.url, 'eth_sendRawTransaction', [tx.raw]);
            if (res.error) throw new Error(`sender ${s} nonce ${nonce} refused: ${res.error.message}`);
            assert.equal(res.result, tx.hash);
          } catch (err) {
            if (killed) return; // the node died under this request
            throw err;
          }
        }
      };
      const poll = async () => {
        while (!killed) {
          const waiting = sent.filter((t) => !receipts.has(t.hash));
          if (waiting.length === 0) {
            await sleep(5);
            continue;
          }
          let answers: (Json | null)[];
          try {
            answers = await callMany(node.url, 'eth_getTransactionReceipt', waiting.map((t) => [t.hash]));
          } catch (err) {
            if (killed) return;
            throw err;
          }
          answers.forEach((r, i) => {
            if (r) receipts.set(waiting[i]!.hash, r);
          });
          // Killed while transactions are in flight (sent, not yet answered with a receipt).
          if (!killed && receipts.size >= killAfter && (sent.length - receipts.size >= 8 || receipts.size >= killAfter + 300)) {
            killed = true;
            killing = node.kill('SIGKILL');
          }
          await sleep(10);
        }
      };
      await Promise.all([...[0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3].map(stream), poll()]);
      await killing;
      assert.ok(receipts.size >= killAfter, `round ${round}: ${receipts.size} receipts before the kill`);

      // --- restart on the same data directory
      node = await spawnNode(args);
      running.push(node);
      const rec = recovered(node);
      const blockNumber = Number(await call(node.url, 'eth_blockNumber'));
      assert.equal(blockNumber, rec.head, 'the head it says it recovered');

      const after = await callMany(node.url, 'eth_getTransactionReceipt', sent.map((t) => [t.hash]));
      const afterByHash = new Map(sent.map((t, i) => [t.hash, after[i] as Json | null]));
      for (const [hash, before] of receipts) assert.deepEqual(afterByHash.get(hash), before, `round ${round}: receipt of ${hash} after the restart`);

      // Per sender, what survived is a prefix by nonce, and the nonce follows it.
      const included: Sent[] = [];
      const lost: Sent[] = [];
      for (let s = 0; s < 4; s++) {
        const mine = sent.filter((t) => t.sender === s).sort((a, b) => a.nonce - b.nonce);
        const kept = mine.filter((t) => afterByHash.get(t.hash));
        assert.deepEqual(
          kept.map((t) => t.nonce),
          mine.slice(0, kept.length).map((t) => t.nonce),
          `round ${round}: sender ${s}'s surviving transactions are a prefix by nonce`,
        );
        const firstNonce = mine[0]!.nonce;
        assert.equal(Number(await call(node.url, 'eth_getTransactionCount', [senders[s], 'latest'])), firstNonce + kept.length, `round ${round}: sender ${s}'s nonce`);
        included.push(...kept);
        lost.push(...mine.slice(kept.length));
      }
      for (const t of included) assert.equal(afterByHash.get(t.hash)!.status, '0x1', `round ${round}: ${t.hash} succeeded`);

      // Balances agree with the included transactions, to the wei and the token unit.
      const checkBalances = async (txs: Sent[], what: string) => {
        const byHash = new Map((await callMany(node.url, 'eth_getTransactionReceipt', txs.map((t) => [t.hash]))).map((r: Json) => [r.transactionHash, r]));
        for (let s = 0; s < 4; s++) {
          const mine = txs.filter((t) => t.sender === s);
          const spent = mine.reduce((sum, t) => {
            const r = byHash.get(t.hash)!;
            return sum + t.value + BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice);
          }, 0n);
          assert.equal(BigInt(await call(node.url, 'eth_getBalance', [senders[s], 'latest'])), start.balances[s]! - spent, `${what}: sender ${s}'s balance`);
          const given = mine.reduce((sum, t) => sum + t.tokens, 0n);
          assert.equal(await tokenBalance(node.url, tokenAddress, senders[s]!), start.tokens[s]! - given, `${what}: sender ${s}'s tokens`);
        }
        for (const r of recipients) {
          const expected = txs.filter((t) => t.to === r).reduce((sum, t) => sum + t.value, 0n);
          assert.equal(BigInt(await call(node.url, 'eth_getBalance', [r, 'latest'])), expected, `${what}: recipient ${r}'s balance`);
        }
        for (const h of holders) {
          const expected = txs.filter((t) => t.holder === h).reduce((sum, t) => sum + t.tokens, 0n);
          assert.equal(await tokenBalance(node.url, tokenAddress, h), expected, `${what}: holder ${h}'s tokens`);
        }
      };
      await checkBalances(included, `round ${round} after the restart`);

      // The node keeps working: the lost transactions, sent again as they were, are mined.
      for (const t of lost) assert.equal(await call(node.url, 'eth_sendRawTransaction', [t.raw]), t.hash);
      for (const t of lost) assert.equal((await waitReceipt(node.url, t.hash)).status, '0x1', `round ${round}: resent ${t.hash} mined`);
      await checkBalances(sent, `round ${round} after resending`);
      if (process.env.SHOW_DURABILITY) {
        console.log(`round ${round}: ${sent.length} sent, ${receipts.size} receipts before the kill, ${included.length} survived, ${lost.length} resent; head ${rec.head} (snapshot ${rec.snapshot}, ${rec.replayed} replayed)`);
      }
    }
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
  } finally {
    for (const n of running) await n.kill('SIGKILL');
    home.cleanup();
  }
});

test('a restart from a snapshot after more than 1,000 blocks serves the same state root and receipts', { timeout: 300_000 }, async () => {
  const home = tempHome('conclave-snapshot-');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile];
  const running: NodeProcess[] = [];
  try {
    const wallet = devWallet(0);
    const sender = wallet.address.toLowerCase();
    const recipients = Array.from({ length: 7 }, fresh);
    const holders = Array.from({ length: 3 }, fresh);
    const deployData = (await new ethers.ContractFactory(token.abi as ethers.InterfaceAbi, token.bytecode).getDeployTransaction('Conclave', 'CLV', 1_000_000n * ETH)).data;
    let tokenAddress = '';
    /** Every transaction sent, in nonce order, with what it moved. */
    const txs: { hash: string; to?: string; value: bigint; holder?: string; tokens: bigint }[] = [];
    let nonce0 = 0;
    /** Sends the next transaction and waits for its receipt: a token deploy, then value transfers with a token transfer every tenth. */
    const sendNext = async (url: string): Promise<Json> => {
      const nonce = nonce0++;
      const tx =
        nonce === 0
          ? { value: 0n, tokens: 0n }
          : nonce % 10 === 0
            ? { value: 0n, holder: holders[nonce % holders.length], tokens: BigInt(nonce) * ETH }
            : { value: BigInt(nonce) * GWEI, to: recipients[nonce % recipients.length], tokens: 0n };
      const raw =
        nonce === 0
          ? await sign(wallet, 0, { data: deployData, gasLimit: 3_000_000n })
          : tx.holder
            ? await sign(wallet, nonce, { to: tokenAddress, data: erc20.encodeFunctionData('transfer', [tx.holder, tx.tokens]), gasLimit: 100_000n })
            : await sign(wallet, nonce, { to: tx.to, value: tx.value });
      const hash = await call(url, 'eth_sendRawTransaction', [raw]);
      txs[nonce] = { hash, ...tx };
      const receipt = await waitReceipt(url, hash, 60_000, 2);
      assert.equal(receipt.status, '0x1', `transaction ${nonce} succeeded`);
      if (nonce === 0) tokenAddress = receipt.contractAddress;
      return receipt;
    };

    // --- most of the way with empty blocks cut every 10 ms and transactions (four at a
    // time) among them, then kill -9, usually short of the periodic snapshot at block 1000
    // (a restart from that snapshot is checked below in any case).
    let node = await spawnNode([...args, '--block-time', '10']);
    running.push(node);
    const early: Json[] = [];
    do early.push(...(await Promise.all([1, 2, 3, 4].map(() => sendNext(node.url)))));
    while (Number(await call(node.url, 'eth_blockNumber')) < 960);
    await node.kill('SIGKILL');

    // --- then one transaction per block, past block 1000
    node = await spawnNode(args);
    running.push(node);
    const firstRestart = recovered(node);
    assert.ok(firstRestart.head >= Number(early.at(-1)!.blockNumber), 'every block with a receipt survived kill -9');
    assert.deepEqual(await callMany(node.url, 'eth_getTransactionReceipt', early.map((r) => [r.transactionHash])), early, 'receipts survived kill -9');
    let last: Json;
    do last = await sendNext(node.url);
    while (Number(last.blockNumber) < 1_010);
    const head = Number(await call(node.url, 'eth_blockNumber'));
    assert.equal(head, Number(last.blockNumber), 'the last transaction is in the head block');

    const hashes = txs.map((t) => t.hash);
    const addresses = [sender, ...recipients, ...holders, tokenAddress];
    const pastBlocks = [1, 5, 999, 1000, 1001, head - 1, head];
    const observe = async () => {
      const latest = await call(node.url, 'eth_getBlockByNumber', ['latest', false]);
      const blocks = await callMany(node.url, 'eth_getBlockByNumber', [0, 1, 2, 5, 999, 1000, 1001, head].map((n) => [hex(n), true]));
      const receipts = await callMany(node.url, 'eth_getTransactionReceipt', hashes.map((h) => [h]));
      const state: Record<string, unknown> = {};
      for (const b of ['latest', ...pastBlocks.map(hex)]) {
        const balances = await callMany(node.url, 'eth_getBalance', addresses.map((a) => [a, b]));
        addresses.forEach((a, i) => (state[`${b}:${a}:balance`] = balances[i]));
        state[`${b}:${sender}:nonce`] = await call(node.url, 'eth_getTransactionCount', [sender, b]);
        for (const h of [sender, ...holders]) {
          state[`${b}:${h}:token`] = await tokenBalance(node.url, tokenAddress, h, b).catch((e: Error) => `error: ${e.message}`);
        }
      }
      return { head: { number: latest.number, hash: latest.hash, stateRoot: latest.stateRoot }, blocks, receipts, state };
    };
    const before = await observe();
    assert.equal(before.head.number, hex(head));
    assert.ok(before.receipts.every((r: Json) => r.status === '0x1'));
    // The archive reads are of the past, and agree with what the transactions moved.
    const minedBy = (block: number) => txs.filter((_, i) => Number(before.receipts[i].blockNumber) <= block);
    for (const b of [999, 1001]) {
      const upTo = minedBy(b);
      assert.equal(before.state[`${hex(b)}:${sender}:nonce`], hex(upTo.length), `nonce at block ${b}`);
      for (const r of recipients) {
        assert.equal(BigInt(before.state[`${hex(b)}:${r}:balance`] as string), upTo.filter((t) => t.to === r).reduce((sum, t) => sum + t.value, 0n), `balance at block ${b}`);
      }
      for (const h of holders) {
        assert.equal(before.state[`${hex(b)}:${h}:token`], upTo.filter((t) => t.holder === h).reduce((sum, t) => sum + t.tokens, 0n), `tokens at block ${b}`);
      }
    }
    assert.notEqual(before.state[`0x5:${sender}:balance`], before.state[`latest:${sender}:balance`]);

    // --- kill -9: the periodic snapshot at block 1000 plus the blocks after it
    await node.kill('SIGKILL');
    node = await spawnNode(args);
    running.push(node);
    let rec = recovered(node);
    assert.equal(rec.head, head);
    assert.ok(rec.snapshot !== null && rec.snapshot >= 1000 && rec.snapshot < head, `recovered from a periodic snapshot at block >= 1000: ${JSON.stringify(rec)}`);
    assert.equal(rec.replayed, head - rec.snapshot);
    if (process.env.SHOW_DURABILITY) {
      console.log(`${txs.length} transactions, head ${head}; first kill -9 at head ${firstRestart.head} (snapshot ${firstRestart.snapshot}), second from snapshot ${rec.snapshot} + ${rec.replayed} replayed`);
    }
    assert.deepEqual(await observe(), before, 'the same after kill -9');

    // --- clean stop: a snapshot of the head
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
    node = await spawnNode(args);
    running.push(node);
    rec = recovered(node);
    assert.deepEqual(rec, { head, snapshot: head, replayed: 0 }, 'recovered from the shutdown snapshot');
    assert.deepEqual(await observe(), before, 'the same after a clean stop');

    // The chain goes on from there.
    const next = await sendNext(node.url);
    assert.equal(next.blockNumber, hex(head + 1));
    assert.equal((await call(node.url, 'eth_getBlockByNumber', [hex(head + 1), false])).parentHash, before.head.hash);
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
  } finally {
    for (const n of running) await n.kill('SIGKILL');
    home.cleanup();
  }
});
