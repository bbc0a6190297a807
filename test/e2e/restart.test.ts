/**
 * Durability across restarts, with real node processes: what a receipt promised
 * survives kill -9, and so does every read of the history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { call, ETH, erc20, fresh, GWEI, hex, send, sign, tokenBalance, waitReceipt, type Json } from '../helpers/chainCalls.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, DEV_KEY_1, rpc, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

const token = loadArtifact('ConclaveToken');

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
