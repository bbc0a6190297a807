// End-to-end: the admission pool's limits against a real node, with ethers signing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HDNodeWallet, JsonRpcProvider, SigningKey, Transaction, Wallet } from 'ethers';
import type { OrderedEntry } from '../../runtime/boundary/messages.ts';
import { EmbeddedLog } from '../../node/ordering/EmbeddedLog.ts';
import { DEV_MNEMONIC } from '../../node/startNode.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, DEV_KEY_1, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

/** The embedded log, counting the transactions appended to it. */
class CountingLog extends EmbeddedLog {
  txs = 0;
  override append(entry: OrderedEntry): Promise<number> {
    if (entry.kind === 'tx') this.txs++;
    return super.append(entry);
  }
}

const DEAD = '0x000000000000000000000000000000000000dEaD';

/** Transfers of 1 wei from `key` at these nonces, signed without a provider (fast). */
function signTransfers(key: string, nonces: number[], fees = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n }): string[] {
  const signer = new SigningKey(key);
  const base = Transaction.from({ type: 2, chainId: 31337n, to: DEAD, value: 1n, gasLimit: 21_000n, ...fees });
  return nonces.map((nonce) => {
    const tx = base.clone();
    tx.nonce = nonce;
    tx.signature = signer.sign(tx.unsignedHash);
    return tx.serialized;
  });
}

/** Sends raw transactions in JSON-RPC batches; returns each answer (a hash or an error), in order. */
async function sendRaw(url: string, raws: string[], batch = 100, parallel = 4): Promise<{ result?: string; error?: { code: number; message: string } }[]> {
  const answers: { result?: string; error?: { code: number; message: string } }[] = new Array(raws.length);
  let next = 0;
  const worker = async () => {
    while (next < raws.length) {
      const from = next;
      next += batch;
      const body = raws.slice(from, from + batch).map((raw, i) => ({ jsonrpc: '2.0', id: from + i, method: 'eth_sendRawTransaction', params: [raw] }));
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      for (const a of (await res.json()) as { id: number; result?: string; error?: { code: number; message: string } }[]) answers[a.id] = a;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return answers;
}

async function receipt(url: string, hash: string, ms = 30_000): Promise<any> {
  const until = Date.now() + ms;
  for (;;) {
    const { result } = await rpc(url, 'eth_getTransactionReceipt', [hash]);
    if (result) return result;
    if (Date.now() > until) throw new Error(`no receipt for ${hash} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('transaction pool', () => {
  let node: TestNode;
  let log: CountingLog;

  before(async () => {
    log = new CountingLog();
    node = await startTestNode({ orderingLog: log });
  });
  after(async () => {
    await node?.stop();
  });

  test('20,000 gapped transactions from one dev key: refused past the limits, none on the log; another sender transacts; the gap filled later mines the queued ones in order', async () => {
    // 2,000 distinct transactions (nonces 1..2,000: nonce 0 missing), each sent 10 times.
    const distinct = signTransfers(DEV_KEY_0, Array.from({ length: 2_000 }, (_, i) => i + 1));
    const hashes = distinct.map((raw) => Transaction.from(raw).hash!);
    const raws = Array.from({ length: 10 }, () => distinct).flat();
    assert.equal(raws.length, 20_000);
    const answers = await sendRaw(node.url, raws);

    const accepted = new Set<string>();
    const messages = new Map<string, number>();
    for (const [i, a] of answers.entries()) {
      if (a.result) {
        accepted.add(a.result);
        continue;
      }
      const nonce = (i % 2_000) + 1;
      // The first round queues nonces 1..64 (the maximum nonce gap, 64, from next nonce 0);
      // later rounds hear that those are known.
      const kind = a.error!.message.startsWith('nonce too high')
        ? 'nonce too high'
        : a.error!.message === 'already known'
          ? 'already known'
          : a.error!.message;
      messages.set(kind, (messages.get(kind) ?? 0) + 1);
      if (kind === 'nonce too high') {
        assert.ok(nonce > 64, `nonce ${nonce} refused`);
        assert.equal(a.error!.code, -32000);
        assert.match(a.error!.message, /more than the maximum nonce gap \(poolMaxNonceGap\) of 64 ahead/);
      }
    }
    assert.deepEqual([...accepted].sort(), hashes.slice(0, 64).sort(), 'nonces 1..64 queued, nothing else');
    assert.deepEqual(Object.fromEntries(messages), { 'nonce too high': 1_936 * 10, 'already known': 64 * 9 });
    assert.equal(log.txs, 0, 'no queued transaction reached the ordering log');
    assert.equal((await rpc(node.url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'pending'])).result, '0x0', 'queued ones do not count');
    const queued = await rpc(node.url, 'eth_getTransactionByHash', [hashes[10]]);
    assert.equal(queued.result?.blockNumber, null, 'a queued transaction is known, in no block');
    assert.equal((await rpc(node.url, 'eth_getTransactionByHash', [hashes[100]])).result, null, 'a refused one is not');

    // Another sender is not held up.
    const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const other = new Wallet(DEV_KEY_1, provider);
      const sent = await other.sendTransaction({ to: DEAD, value: 1n });
      const r = await sent.wait(1, 30_000);
      assert.equal(r?.status, 1);
      assert.equal(log.txs, 1);
      const head = await provider.getBlockNumber();
      for (let n = 1; n <= head; n++) {
        const block = await provider.getBlock(n, true);
        for (const tx of block!.prefetchedTransactions) assert.notEqual(tx.from.toLowerCase(), DEV_ADDRESS_0, `block ${n} holds no queued transaction`);
      }
    } finally {
      provider.destroy();
    }

    // Nonce 0 fills the gap: it and the 64 queued go onto the log, and are mined in nonce order.
    const [fill] = signTransfers(DEV_KEY_0, [0]);
    const filled = await rpc(node.url, 'eth_sendRawTransaction', [fill]);
    assert.ok(filled.result, JSON.stringify(filled.error));
    const receipts = [await receipt(node.url, filled.result)];
    for (const hash of hashes.slice(0, 64)) receipts.push(await receipt(node.url, hash));
    assert.equal(log.txs, 1 + 65);
    const position = (r: any) => BigInt(r.blockNumber) * 1_000_000n + BigInt(r.transactionIndex);
    for (let i = 0; i < receipts.length; i++) {
      assert.equal(receipts[i].status, '0x1');
      if (i > 0) assert.ok(position(receipts[i]) > position(receipts[i - 1]), `nonce ${i} after nonce ${i - 1}`);
    }
    assert.equal((await rpc(node.url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest'])).result, '0x41');
    // Now nonce 65 is next, and the gap limit counts from there.
    const [far] = signTransfers(DEV_KEY_0, [65 + 65]);
    assert.match((await rpc(node.url, 'eth_sendRawTransaction', [far])).error!.message, /nonce too high: next nonce 65, tx nonce 130/);
  });

  test('submissions from two paths at once reach the log in the order the pool sealed them (nonce order per sender)', async () => {
    // Dev account 2: even nonces through eth_sendTransaction (signed in the enclave, answered
    // by its main thread), odd ones signed here (answered by the admission thread).
    const wallet = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, "m/44'/60'/0'/0/2");
    const from = wallet.address.toLowerCase();
    assert.equal(node.accounts[2]!.toLowerCase(), from);
    const fees = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n };
    // Within the maximum nonce gap, so whichever arrives first is taken (queued or pending).
    const count = 64;
    const odd = signTransfers(wallet.privateKey, Array.from({ length: count / 2 }, (_, i) => 2 * i + 1), fees);
    const before = log.txs;
    const sends = Array.from({ length: count }, (_, n) =>
      n % 2
        ? rpc(node.url, 'eth_sendRawTransaction', [odd[(n - 1) / 2]])
        : rpc(node.url, 'eth_sendTransaction', [
            { from, to: DEAD, value: '0x1', gas: '0x5208', nonce: `0x${n.toString(16)}`, maxFeePerGas: `0x${fees.maxFeePerGas.toString(16)}`, maxPriorityFeePerGas: `0x${fees.maxPriorityFeePerGas.toString(16)}` },
          ]),
    );
    const answers = await Promise.all(sends);
    for (const a of answers) assert.ok(a.result, JSON.stringify(a.error));
    for (const a of answers) assert.equal((await receipt(node.url, a.result!)).status, '0x1');
    assert.equal(log.txs - before, count);
    assert.equal((await rpc(node.url, 'eth_getTransactionCount', [from, 'latest'])).result, `0x${count.toString(16)}`);
  });

  test('concurrent eth_sendTransaction from one account get consecutive nonces and all succeed', async () => {
    const from = new Wallet(DEV_KEY_1).address;
    const start = Number((await rpc(node.url, 'eth_getTransactionCount', [from, 'pending'])).result);
    // Without gas: each send estimates first, then takes its turn for a nonce.
    const body = Array.from({ length: 8 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'eth_sendTransaction', params: [{ from, to: DEAD, value: '0x1' }] }));
    const res = await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answers = (await res.json()) as { result?: string; error?: unknown }[];
    const hashes = answers.map((a) => {
      assert.ok(a.result, JSON.stringify(a.error));
      return a.result!;
    });
    const nonces = await Promise.all(hashes.map(async (h) => Number((await receipt(node.url, h)) && (await rpc(node.url, 'eth_getTransactionByHash', [h])).result.nonce)));
    assert.deepEqual(
      nonces.sort((a, b) => a - b),
      Array.from({ length: 8 }, (_, i) => start + i),
    );
  });
});
