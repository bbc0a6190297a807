/**
 * Calls are bounded and isolated: a looping eth_call ends at its deadline while blocks
 * go on being produced; concurrent calls never see each other's writes or each other's
 * block; the gas cap and the concurrency limit hold.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ContractFactory, Interface, JsonRpcProvider, parseEther, Wallet } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_KEY_0, DEV_KEY_1, rpc, spawnNode, startTestNode, tempHome, type TestNode } from '../helpers/node.ts';

/** Creation code that loops forever: JUMPDEST, PUSH1 0, JUMP. */
const LOOP = '0x5b600056';
const token = loadArtifact('ConclaveToken');
const erc20 = new Interface(token.abi as never);

async function post(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return res.json();
}

/** Sends a transfer and polls for its receipt (every 10 ms, unlike ethers' 4 s block polling). */
async function transfer(wallet: Wallet, url: string, nonce: number): Promise<{ ms: number; blockNumber: number }> {
  const t = performance.now();
  const raw = await wallet.signTransaction({
    to: wallet.address, value: 1n, nonce, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, chainId: 31337n,
  });
  const sent = await rpc(url, 'eth_sendRawTransaction', [raw]);
  assert.ok(sent.result, JSON.stringify(sent.error));
  for (;;) {
    const r = await rpc(url, 'eth_getTransactionReceipt', [sent.result]);
    if (r.result) {
      assert.equal(r.result.status, '0x1');
      return { ms: performance.now() - t, blockNumber: Number(r.result.blockNumber) };
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe('bounded calls', () => {
  let node: TestNode;
  before(async () => {
    // A gas cap high enough that the loop runs into the wall-clock limit (5 s by default).
    node = await startTestNode({ limits: { rpcGasCap: 10n ** 12n } });
  });
  after(() => node.stop());

  test('a looping eth_call ends with the timeout error within 6 s while transfers get receipts', async () => {
    const wallet = new Wallet(DEV_KEY_1);
    const started = performance.now();
    const looping = rpc(node.url, 'eth_call', [{ data: LOOP, gas: '0xfffffffffffffffe' }, 'latest']).then((r) => ({
      r,
      ms: performance.now() - started,
    }));
    // Meanwhile another client's transfers are mined.
    const latencies: number[] = [];
    let nonce = Number((await rpc(node.url, 'eth_getTransactionCount', [wallet.address, 'pending'])).result);
    while (performance.now() - started < 4_000) latencies.push((await transfer(wallet, node.url, nonce++)).ms);
    const { r, ms } = await looping;
    assert.equal(r.error?.code, -32000);
    assert.equal(r.error?.message, 'execution aborted (timeout = 5s)');
    assert.ok(ms < 6_000, `timeout answered after ${ms.toFixed(0)} ms`);
    latencies.sort((a, b) => a - b);
    assert.ok(latencies.length >= 10, `only ${latencies.length} transfers in 4 s`);
    assert.ok(percentile(latencies, 99) < 1_000, `transfer p99 ${percentile(latencies, 99).toFixed(0)} ms`);
  });

  test('64 concurrent looping calls do not stop block production', async () => {
    const wallet = new Wallet(DEV_KEY_0);
    const nonce = Number((await rpc(node.url, 'eth_getTransactionCount', [wallet.address, 'pending'])).result);
    const before = Number((await rpc(node.url, 'eth_blockNumber')).result);
    const loops = Array.from({ length: 64 }, () => rpc(node.url, 'eth_call', [{ data: LOOP, gas: '0xfffffffffffffffe' }, 'latest']));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Several blocks, one after another, while the calls loop.
    for (let i = 0; i < 5; i++) {
      const { ms, blockNumber } = await transfer(wallet, node.url, nonce + i);
      assert.ok(blockNumber > before);
      assert.ok(ms < 1_000, `transfer took ${ms.toFixed(0)} ms among 64 looping calls`);
    }
    const answers = await Promise.all(loops);
    for (const a of answers) assert.equal(a.error?.message, 'execution aborted (timeout = 5s)');
    assert.equal((await rpc(node.url, 'eth_chainId')).result, '0x7a69');
  });
});

describe('call limits', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ limits: { callTimeoutMs: 300, maxConcurrentCalls: 1, maxQueuedCalls: 2 } });
  });
  after(() => node.stop());

  test('the gas cap applies: a loop asking for more gas runs out of the capped gas', async () => {
    const capped = await startTestNode({ limits: { rpcGasCap: 100_000n } });
    try {
      const t = performance.now();
      const r = await rpc(capped.url, 'eth_call', [{ data: LOOP, gas: '0xfffffffffffffffe' }, 'latest']);
      assert.equal(r.error?.code, -32000);
      assert.equal(r.error?.message, 'out of gas');
      assert.ok(performance.now() - t < 1_000);
      // eth_estimateGas searches no higher than the cap.
      const e = await rpc(capped.url, 'eth_estimateGas', [{ data: LOOP }]);
      assert.equal(e.error?.message, 'gas required exceeds allowance (100000)');
    } finally {
      await capped.stop();
    }
  });

  test('a timeout covers a whole eth_estimateGas search', async () => {
    const big = await startTestNode({ limits: { rpcGasCap: 10n ** 12n, callTimeoutMs: 500 } });
    try {
      const t = performance.now();
      const r = await rpc(big.url, 'eth_estimateGas', [{ data: LOOP }]);
      assert.equal(r.error?.message, 'execution aborted (timeout = 500ms)');
      assert.ok(performance.now() - t < 1_500);
    } finally {
      await big.stop();
    }
  });

  test('calls beyond the running and waiting limits are refused with -32005', async () => {
    const many = await post(
      node.url,
      Array.from({ length: 4 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_call', params: [{ data: LOOP, gas: '0x3b9aca00' }, 'latest'] })),
    );
    const messages = many.map((a: any) => a.error?.message);
    assert.deepEqual(messages.slice(0, 3), ['execution aborted (timeout = 300ms)', 'execution aborted (timeout = 300ms)', 'execution aborted (timeout = 300ms)']);
    assert.equal(many[3].error.code, -32005);
    assert.match(many[3].error.message, /^too many reads in progress: 1 running and 2 waiting/);
    assert.equal((await rpc(node.url, 'eth_call', [{ to: '0x0000000000000000000000000000000000000001', data: '0x' }])).result, '0x');
  });
});

describe('isolated reads', () => {
  let node: TestNode;
  let address: string;
  const holder = new Wallet(DEV_KEY_0).address;
  const recipient = new Wallet(DEV_KEY_1).address;
  const blocks: number[] = [];

  before(async () => {
    node = await startTestNode();
    const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const wallet = new Wallet(DEV_KEY_0, provider);
    const contract = await new ContractFactory(token.abi as never, token.bytecode, wallet).deploy('T', 'T', parseEther('1000'));
    await contract.waitForDeployment();
    address = (await contract.getAddress()).toLowerCase();
    for (let i = 1; i <= 3; i++) {
      const tx = await wallet.sendTransaction({ to: address, data: erc20.encodeFunctionData('transfer', [recipient, BigInt(i)]) });
      blocks.push((await tx.wait())!.blockNumber);
    }
  });
  after(() => node.stop());

  test('a batch of calls at different blocks returns what each returns alone, 100 times over', async () => {
    const balanceOf = erc20.encodeFunctionData('balanceOf', [recipient]);
    // A call that writes (a transfer, simulated) between reads of the balance it changes.
    const transfer = erc20.encodeFunctionData('transfer', [recipient, 1000n]);
    const requests: [unknown, string][] = [
      [{ to: address, data: balanceOf }, `0x${blocks[0]!.toString(16)}`],
      [{ to: address, data: balanceOf }, 'latest'],
      [{ from: holder, to: address, data: transfer }, 'latest'],
      [{ to: address, data: balanceOf }, `0x${blocks[1]!.toString(16)}`],
      [{ to: address, data: balanceOf }, 'latest'],
    ];
    const alone = [];
    for (const [call, block] of requests) alone.push((await rpc(node.url, 'eth_call', [call, block])).result);
    assert.deepEqual(
      alone.map((a) => BigInt(a)),
      [1n, 6n, 1n, 3n, 6n],
    );
    for (let round = 0; round < 100; round++) {
      const batch = await post(
        node.url,
        requests.map(([call, block], id) => ({ jsonrpc: '2.0', id, method: 'eth_call', params: [call, block] })),
      );
      assert.deepEqual(
        batch.map((a: any) => a.result),
        alone,
        `round ${round}`,
      );
    }
  });
});

test('the CLI takes the enclave budgets from flags and the environment', async () => {
  const home = tempHome();
  const proc = await spawnNode(
    ['--data', home.dataDir, '--platform-secret-file', home.secretFile, '--rpc-call-timeout', '300ms', '--rpc-gas-cap', '1000000000000'],
    { CONCLAVE_RPC_LOGS_BLOCK_RANGE: '1' },
  );
  try {
    const r = await rpc(proc.url, 'eth_call', [{ data: LOOP, gas: '0xfffffffffffffffe' }, 'latest']);
    assert.equal(r.error?.message, 'execution aborted (timeout = 300ms)');
    await transfer(new Wallet(DEV_KEY_0), proc.url, 0);
    const logs = await rpc(proc.url, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: '0x1' }]);
    assert.equal(logs.error?.message, 'block range too large: 2 blocks, at most 1 per query');
  } finally {
    await proc.kill();
    home.cleanup();
  }
  const bad = spawnNode(['--data', home.dataDir, '--rpc-call-timeout', 'forever']);
  await assert.rejects(bad, /--rpc-call-timeout.*a duration such as 5s/s);
});
