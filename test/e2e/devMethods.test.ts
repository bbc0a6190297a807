/**
 * The dev methods (evm_*, hardhat_*, anvil_*) against a real node, answered as Hardhat's
 * node answers them; impersonated sends and Hardhat's send semantics (a send returns once
 * its block is durable); a restart that replays snapshots, reverts, mines and time offsets
 * to the same chain; and the refusals: every dev method on a network started from
 * examples/consortium.json, and state changes or impersonation of a contract with a
 * confidentiality policy or of Conclave's registries on the dev network.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Interface, JsonRpcProvider, Wallet } from 'ethers';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { methods } from '../../node/rpc/methods/index.ts';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { startNode, type RunningNode } from '../../node/startNode.ts';
import { call, ETH, fresh, GWEI, hex, sign, type Json } from '../helpers/chainCalls.ts';
import { mined } from '../helpers/mined.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, DEV_KEY_1, rpc, startTestNode, tempHome, withPlatformSecretFile, type TestNode } from '../helpers/node.ts';
import { deployContract, POLICY_REGISTRY, startConsortium, TOKEN_POLICY } from '../confidentiality/consortium.ts';

const IDENTITY_REGISTRY = '0x0000000000000000000000000000000000000c01';
const HISTORY_STORAGE = '0x0000f90827f1c53a10cb7a02335b175320002935';
const INVALID_PARAMS = -32602;
const INVALID_INPUT = -32000;
const LIMIT_EXCEEDED = -32005;
const UNSUPPORTED = -32004;
const NOT_PERMITTED = -32010;
/** Codes a caller may get for its own input (-32603, internal, is not among them). */
const CLIENT_ERRORS = new Set([-32602, -32000, -32001, -32004, -32005, -32010, 3]);
const WORD = (n: number | bigint) => '0x' + BigInt(n).toString(16).padStart(64, '0');
/** Runtime code that returns 42 from any call (PUSH1 42, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN). */
const RETURNS_42 = '0x602a60005260206000f3';


/** The error of a call that must fail, with its code checked. */
async function refused(url: string, method: string, params: unknown[], code: number, message?: RegExp): Promise<{ code: number; message: string }> {
  const a = await rpc(url, method, params);
  assert.ok(a.error, `${method}(${JSON.stringify(params).slice(0, 120)}) should fail, answered ${JSON.stringify(a.result)?.slice(0, 200)}`);
  assert.equal(a.error.code, code, `${method}: ${a.error.message}`);
  if (message) assert.match(a.error.message, message, method);
  return a.error;
}

const block = (url: string, tag: string | number = 'latest'): Promise<Json> =>
  call(url, 'eth_getBlockByNumber', [typeof tag === 'number' ? hex(tag) : tag, false]);
const head = async (url: string) => Number(await call(url, 'eth_blockNumber'));

describe('dev methods on the dev network', () => {
  let node: TestNode;
  let url: string;
  let provider: JsonRpcProvider;
  let nonce0 = 0;
  const dev0 = new Wallet(DEV_KEY_0);

  before(async () => {
    node = await startTestNode();
    url = node.url;
    provider = new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1 });
  });
  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  test('evm_snapshot ids increase from "0x1"; evm_revert answers true, then false for the same id, and deletes later snapshots', async () => {
    const who = fresh();
    const s1 = await call(url, 'evm_snapshot');
    assert.equal(s1, '0x1');
    assert.equal(await call(url, 'hardhat_setBalance', [who, hex(ETH)]), true);
    const s2 = await call(url, 'evm_snapshot');
    assert.equal(s2, '0x2');
    await call(url, 'hardhat_setBalance', [who, hex(2n * ETH)]);
    const blockAtS2 = await head(url);
    await call(url, 'evm_mine');
    const s3 = await call(url, 'evm_snapshot');
    assert.equal(s3, '0x3');

    assert.equal(await call(url, 'evm_revert', [s2]), true);
    assert.equal(BigInt(await call(url, 'eth_getBalance', [who, 'latest'])), ETH, 'state as at snapshot 2');
    assert.equal(await head(url), blockAtS2, 'blocks after snapshot 2 are gone');
    assert.equal(await call(url, 'evm_revert', [s2]), false, 'a snapshot is used up by its revert');
    assert.equal(await call(url, 'evm_revert', [s3]), false, 'reverting deletes every later snapshot');
    // Ids keep increasing after a revert (Hardhat never reuses one).
    const s4 = await call(url, 'evm_snapshot');
    assert.equal(s4, '0x4');
    assert.equal(await call(url, 'evm_revert', [s1]), true);
    assert.equal(BigInt(await call(url, 'eth_getBalance', [who, 'latest'])), 0n, 'state as at snapshot 1');
    assert.equal(await call(url, 'evm_revert', [s4]), false, 'a later snapshot went with the earlier revert');
    assert.equal(await call(url, 'evm_revert', ['0x99']), false, 'an unknown id');
  });

  test('evm_revert to a snapshot with nothing after it (a test that only read) answers true and changes nothing; a time change alone is taken back', async () => {
    const before = await call(url, 'eth_getBlockByNumber', ['latest', false]);
    const s = await call(url, 'evm_snapshot');
    await call(url, 'eth_getBalance', [DEV_ADDRESS_0, 'latest']);
    assert.equal(await call(url, 'evm_revert', [s]), true);
    assert.equal(await call(url, 'evm_revert', [s]), false, 'used up all the same');
    assert.deepEqual(await call(url, 'eth_getBlockByNumber', ['latest', false]), before);
    // Only the clock moved: the revert takes it back (the next block is not 1000 s later).
    const t = await call(url, 'evm_snapshot');
    await call(url, 'evm_increaseTime', [1000]);
    assert.equal(await call(url, 'evm_revert', [t]), true);
    await call(url, 'evm_mine');
    assert.ok(Number((await block(url)).timestamp) - Number(before.timestamp) < 1000, 'the time offset was taken back');
  });

  test('evm_mine answers "0x0" and adds a block; evm_mine(timestamp) mines at that timestamp', async () => {
    const before = await head(url);
    assert.equal(await call(url, 'evm_mine'), '0x0');
    assert.equal(await head(url), before + 1);
    const ts = Number((await block(url)).timestamp) + 50;
    assert.equal(await call(url, 'evm_mine', [ts]), '0x0');
    assert.equal(Number((await block(url)).timestamp), ts);
  });

  test('evm_increaseTime answers the total offset as a decimal string; the next block moves by it', async () => {
    const first = Number(await call(url, 'evm_increaseTime', [0]));
    assert.equal(typeof (await call(url, 'evm_increaseTime', [0])), 'string');
    const answer = await call(url, 'evm_increaseTime', [3600]);
    assert.equal(answer, String(first + 3600));
    assert.equal(await call(url, 'evm_increaseTime', ['0xe10']), String(first + 7200), 'hex seconds too');
    const latest = Number((await block(url)).timestamp);
    await call(url, 'evm_mine');
    const ts = Number((await block(url)).timestamp);
    const expected = Math.floor(Date.now() / 1000) + first + 7200;
    assert.ok(ts >= latest + 1, `the block after (${ts}) follows ${latest}`);
    assert.ok(Math.abs(ts - expected) <= 5, `timestamp ${ts} near now + offset (${expected})`);
  });

  test('evm_setNextBlockTimestamp: the next block has exactly that timestamp; one <= latest is refused (-32000)', async () => {
    const latest = Number((await block(url)).timestamp);
    const next = latest + 1000;
    await call(url, 'evm_setNextBlockTimestamp', [next]);
    await call(url, 'evm_mine');
    assert.equal(Number((await block(url)).timestamp), next);
    // Hex is accepted as well.
    await call(url, 'evm_setNextBlockTimestamp', [hex(next + 7)]);
    await call(url, 'evm_mine');
    assert.equal(Number((await block(url)).timestamp), next + 7);
    const e = await refused(url, 'evm_setNextBlockTimestamp', [next + 7], INVALID_INPUT);
    assert.match(e.message, new RegExp(`${next + 7}`), 'names the timestamp');
    await refused(url, 'evm_setNextBlockTimestamp', [next], INVALID_INPUT);
  });

  test('hardhat_mine(N, interval): N blocks, interval seconds apart, hashes chained', async () => {
    const start = await head(url);
    const startTs = Number((await block(url)).timestamp);
    assert.equal(await call(url, 'hardhat_mine', ['0x10', '0x3c']), true);
    assert.equal(await head(url), start + 16);
    const blocks = [];
    for (let n = start + 1; n <= start + 16; n++) blocks.push(await block(url, n));
    assert.ok(Number(blocks[0].timestamp) > startTs);
    for (let i = 1; i < blocks.length; i++) {
      assert.equal(Number(blocks[i].timestamp) - Number(blocks[i - 1].timestamp), 60, `block ${start + 1 + i} is 60 s after the one before`);
      assert.equal(blocks[i].parentHash, blocks[i - 1].hash);
      assert.equal(Number(blocks[i].number), start + 1 + i);
    }
    // Defaults: one block; anvil_mine answers null.
    assert.equal(await call(url, 'hardhat_mine'), true);
    assert.equal(await head(url), start + 17);
    assert.equal(await call(url, 'anvil_mine', [2]), null);
    assert.equal(await head(url), start + 19);
  });

  test('hardhat_mine announces every block of the run to newHeads subscriptions and block filters', async () => {
    const ws = new WebSocket(node.wsUrl);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const heads: number[] = [];
    const answers = new Map<number, any>();
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.method === 'eth_subscription') heads.push(Number(m.params.result.number));
      else answers.set(m.id, m);
    });
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    for (let i = 0; i < 200 && !answers.has(1); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(answers.get(1)?.result, 'subscribed');
    const filter = await call(url, 'eth_newBlockFilter');
    const start = await head(url);
    await call(url, 'hardhat_mine', ['0x5']);
    const numbers = Array.from({ length: 5 }, (_, i) => start + 1 + i);
    for (let i = 0; i < 500 && heads.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    ws.close();
    assert.deepEqual(heads, numbers);
    const hashes = await call(url, 'eth_getFilterChanges', [filter]);
    assert.deepEqual(hashes, await Promise.all(numbers.map(async (n) => (await block(url, n)).hash)));
  });

  // Its speed is the bench's to measure, not a test's.
  test('hardhat_mine of 8,201 blocks: the chain reads back', async () => {
    const start = await head(url);
    await call(url, 'hardhat_mine', [hex(8201)]);
    assert.equal(await head(url), start + 8201);
    const mid = await block(url, start + 4000);
    const next = await block(url, start + 4001);
    assert.equal(next.parentHash, mid.hash);
    assert.equal((await call(url, 'eth_getBlockByHash', [mid.hash, false])).number, hex(start + 4000));
  });

  test('hardhat_mine with the history contract replaced runs its code; without code the call is skipped', async () => {
    const canonical = await call(url, 'eth_getCode', [HISTORY_STORAGE, 'latest']);
    // The same code and an unreachable STOP: it stores the same, but runs in the EVM.
    await call(url, 'hardhat_setCode', [HISTORY_STORAGE, canonical + '00']);
    const start = await head(url);
    await call(url, 'hardhat_mine', ['0x5']);
    for (let n = start; n < start + 5; n++) {
      assert.equal(await call(url, 'eth_getStorageAt', [HISTORY_STORAGE, hex(n % 8191), 'latest']), (await block(url, n)).hash, `slot of block ${n}`);
    }
    await call(url, 'hardhat_setCode', [HISTORY_STORAGE, '0x']);
    const slot = hex((start + 6) % 8191);
    const before = await call(url, 'eth_getStorageAt', [HISTORY_STORAGE, slot, 'latest']);
    await call(url, 'hardhat_mine', ['0x3']);
    assert.equal(await call(url, 'eth_getStorageAt', [HISTORY_STORAGE, slot, 'latest']), before, 'no code: nothing stored');
    assert.notEqual(before, (await block(url, start + 6)).hash);
    await call(url, 'hardhat_setCode', [HISTORY_STORAGE, canonical]);
    const from = await head(url);
    await call(url, 'hardhat_mine', ['0x3']);
    assert.equal(await call(url, 'eth_getStorageAt', [HISTORY_STORAGE, hex((from + 1) % 8191), 'latest']), (await block(url, from + 1)).hash);
  });

  test('hardhat_setBalance / setCode / setNonce / setStorageAt are visible at latest; the anvil_ names answer null', async () => {
    const a = fresh();
    assert.equal(await call(url, 'hardhat_setBalance', [a, hex(123n * ETH)]), true);
    assert.equal(BigInt(await call(url, 'eth_getBalance', [a, 'latest'])), 123n * ETH);
    assert.equal(await call(url, 'hardhat_setNonce', [a, '0x2a']), true);
    assert.equal(await call(url, 'eth_getTransactionCount', [a, 'latest']), '0x2a');
    assert.equal(await call(url, 'hardhat_setCode', [a, RETURNS_42]), true);
    assert.equal(await call(url, 'eth_getCode', [a, 'latest']), RETURNS_42);
    assert.equal(BigInt(await call(url, 'eth_call', [{ to: a, data: '0x' }, 'latest'])), 42n, 'the new code runs');
    assert.equal(await call(url, 'hardhat_setStorageAt', [a, '0x5', WORD(77)]), true);
    assert.equal(await call(url, 'eth_getStorageAt', [a, '0x5', 'latest']), WORD(77));
    // The other fields stay as they were.
    assert.equal(BigInt(await call(url, 'eth_getBalance', [a, 'latest'])), 123n * ETH);
    assert.equal(await call(url, 'eth_getTransactionCount', [a, 'latest']), '0x2a');

    const b = fresh();
    assert.equal(await call(url, 'anvil_setBalance', [b, hex(5n)]), null);
    assert.equal(await call(url, 'anvil_setNonce', [b, hex(3)]), null);
    assert.equal(await call(url, 'anvil_setCode', [b, RETURNS_42]), null);
    assert.equal(await call(url, 'anvil_setStorageAt', [b, WORD(1), WORD(9)]), null);
    assert.equal(await call(url, 'eth_getBalance', [b, 'latest']), '0x5');
    assert.equal(await call(url, 'eth_getTransactionCount', [b, 'latest']), '0x3');
    assert.equal(await call(url, 'eth_getCode', [b, 'latest']), RETURNS_42);
    assert.equal(await call(url, 'eth_getStorageAt', [b, '0x1', 'latest']), WORD(9));
    // Storage set to zero reads zero; code set empty makes an account without code.
    await call(url, 'hardhat_setStorageAt', [b, '0x1', WORD(0)]);
    assert.equal(await call(url, 'eth_getStorageAt', [b, '0x1', 'latest']), WORD(0));
    await call(url, 'hardhat_setCode', [b, '0x']);
    assert.equal(await call(url, 'eth_getCode', [b, 'latest']), '0x');
  });

  test('evm_setAutomine(false) leaves a sent transaction pending until evm_mine', async () => {
    nonce0 = Number(await call(url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'pending']));
    assert.equal(await call(url, 'hardhat_getAutomine'), true);
    assert.equal(await call(url, 'evm_setAutomine', [false]), true);
    try {
      assert.equal(await call(url, 'hardhat_getAutomine'), false);
      const to = fresh();
      const before = await head(url);
      const hash = await call(url, 'eth_sendRawTransaction', [await sign(dev0, nonce0++, { to, value: 7n })]);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await head(url), before, 'no block without automine');
      assert.equal(await call(url, 'eth_getTransactionReceipt', [hash]), null);
      const pending = await call(url, 'eth_getTransactionByHash', [hash]);
      assert.ok(pending, 'the transaction is known while it waits');
      assert.equal(pending.blockNumber, null);
      assert.equal(await call(url, 'eth_getBalance', [to, 'latest']), '0x0');
      assert.equal(await call(url, 'evm_mine'), '0x0');
      const receipt = await call(url, 'eth_getTransactionReceipt', [hash]);
      assert.equal(receipt?.status, '0x1', 'mined by evm_mine');
      assert.equal(Number(receipt.blockNumber), before + 1);
      assert.equal(await call(url, 'eth_getBalance', [to, 'latest']), '0x7');
    } finally {
      await call(url, 'evm_setAutomine', [true]);
    }
  });

  test('hardhat_dropTransaction removes a waiting transaction; true once, then false', async () => {
    await call(url, 'evm_setAutomine', [false]);
    try {
      const nonce = Number(await call(url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'pending']));
      const hash = await call(url, 'eth_sendRawTransaction', [await sign(dev0, nonce, { to: fresh(), value: 1n })]);
      assert.ok(await call(url, 'eth_getTransactionByHash', [hash]));
      assert.equal(await call(url, 'hardhat_dropTransaction', [hash]), true);
      assert.equal(await call(url, 'eth_getTransactionByHash', [hash]), null);
      assert.equal(await call(url, 'hardhat_dropTransaction', [hash]), false);
      await call(url, 'evm_mine');
      assert.equal(await call(url, 'eth_getTransactionReceipt', [hash]), null, 'a dropped transaction is never mined');
      assert.equal(Number(await call(url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest'])), nonce);
    } finally {
      await call(url, 'evm_setAutomine', [true]);
    }
  });

  test("hardhat_setNextBlockBaseFeePerGas(0): the next block's baseFeePerGas is 0", async () => {
    assert.equal(await call(url, 'hardhat_setNextBlockBaseFeePerGas', ['0x0']), true);
    await call(url, 'evm_mine');
    assert.equal((await block(url)).baseFeePerGas, '0x0');
    assert.equal(await call(url, 'anvil_setNextBlockBaseFeePerGas', [hex(5n * GWEI)]), null);
    await call(url, 'evm_mine');
    assert.equal(BigInt((await block(url)).baseFeePerGas), 5n * GWEI);
  });

  test('hardhat_metadata and anvil_nodeInfo shapes', async () => {
    const latest = await block(url);
    const meta = await call(url, 'hardhat_metadata');
    assert.equal(typeof meta.clientVersion, 'string');
    assert.equal(meta.chainId, 31337);
    assert.equal(typeof meta.instanceId, 'string');
    assert.match(meta.instanceId, /^0x[0-9a-f]{64}$/);
    assert.equal(meta.latestBlockNumber, Number(latest.number));
    assert.equal(meta.latestBlockHash, latest.hash);
    assert.equal(meta.forkedNetwork, undefined);
    const info = await call(url, 'anvil_nodeInfo');
    assert.equal(info.currentBlockNumber, Number(latest.number));
    assert.equal(info.currentBlockTimestamp, Number(latest.timestamp));
    assert.equal(info.currentBlockHash, latest.hash);
    assert.equal(typeof info.hardFork, 'string');
    assert.equal(info.environment.chainId, 31337);
    assert.equal(info.environment.baseFee, latest.baseFeePerGas);
    assert.equal(info.environment.gasLimit, latest.gasLimit);
  });

  test('bad params answer -32602 naming the parameter', async () => {
    const a = fresh();
    const cases: [string, unknown[], RegExp][] = [
      ['hardhat_setBalance', ['0x1234', '0x1'], /address/],
      ['hardhat_setBalance', [a, 'lots'], /balance/],
      ['hardhat_setBalance', [a, -1], /balance/],
      ['hardhat_setNonce', [a, '0x' + '1'.repeat(17)], /nonce.*64 bits/],
      ['hardhat_setCode', [a, 'not hex'], /code/],
      ['hardhat_setStorageAt', [a, 'slot', WORD(1)], /slot/],
      ['hardhat_setStorageAt', [a, '0x0', '0x01'], /value.*32 bytes/],
      ['hardhat_mine', ['ten'], /blocks/],
      ['hardhat_mine', ['0x2', 'x'], /interval/],
      ['evm_revert', ['snap'], /snapshotId/],
      ['evm_increaseTime', [-5], /seconds/],
      ['evm_setNextBlockTimestamp', ['tomorrow'], /timestamp/],
      ['evm_setAutomine', ['yes'], /enabled/],
      ['evm_mine', [{ timestamp: 1, when: 2 }], /when/],
      ['hardhat_dropTransaction', ['0x12'], /hash/],
      ['hardhat_impersonateAccount', ['me'], /address/],
      ['hardhat_setNextBlockBaseFeePerGas', ['cheap'], /baseFeePerGas/],
      // Beyond what a timer takes (it would fire at once: a block every millisecond).
      ['evm_setIntervalMining', [2 ** 31], /interval.*at most 2147483647 ms/],
      ['anvil_setIntervalMining', [3_000_000], /interval.*at most/],
    ];
    for (const [method, params, message] of cases) await refused(url, method, params, INVALID_PARAMS, message);
    // A missing required parameter is named too.
    await refused(url, 'hardhat_setBalance', [a], INVALID_PARAMS, /balance/);
  });

  test('hardhat_mine(0) and more than the limit give clear errors; the chain does not move', async () => {
    const before = await head(url);
    await refused(url, 'hardhat_mine', ['0x0'], INVALID_INPUT, /at least 1/);
    await refused(url, 'hardhat_mine', ['0x1', '0x0'], INVALID_INPUT, /interval.*at least 1/);
    await refused(url, 'hardhat_mine', [hex(100_001)], LIMIT_EXCEEDED, /at most 100000 blocks/);
    await refused(url, 'hardhat_mine', ['0xffffffffffffffff'], LIMIT_EXCEEDED, /at most/);
    assert.equal(await head(url), before);
  });

  test('impersonation: eth_sendTransaction as an address without its key, a contract too; stopped, it is refused again', async () => {
    const who = fresh();
    const to = fresh();
    await call(url, 'hardhat_setBalance', [who, hex(10n * ETH)]);
    assert.ok((await rpc(url, 'eth_sendTransaction', [{ from: who, to, value: hex(1n) }])).error, 'no key, no impersonation: refused');
    assert.equal(await call(url, 'hardhat_impersonateAccount', [who]), true);
    const hash = await call(url, 'eth_sendTransaction', [{ from: who, to, value: hex(ETH) }]);
    assert.ok(await call(url, 'eth_getTransactionReceipt', [hash]), 'an impersonated send returns once its block is durable');
    const receipt = await mined(provider, hash);
    assert.equal(receipt.status, 1);
    assert.equal(receipt.from.toLowerCase(), who);
    assert.equal(BigInt(await call(url, 'eth_getBalance', [to, 'latest'])), ETH);
    assert.equal(await call(url, 'eth_getTransactionCount', [who, 'latest']), '0x1');

    // A contract address sends too (EIP-3607 does not apply to an impersonated sender).
    const contract = fresh();
    await call(url, 'hardhat_setCode', [contract, RETURNS_42]);
    await call(url, 'hardhat_setBalance', [contract, hex(ETH)]);
    assert.equal(await call(url, 'anvil_impersonateAccount', [contract]), null);
    const fromContract = await call(url, 'eth_sendTransaction', [{ from: contract, to, value: hex(5n) }]);
    assert.equal((await mined(provider, fromContract)).status, 1);

    assert.equal(await call(url, 'hardhat_stopImpersonatingAccount', [who]), true);
    assert.ok((await rpc(url, 'eth_sendTransaction', [{ from: who, to, value: hex(1n) }])).error, 'refused once impersonation stops');
    assert.equal(await call(url, 'anvil_stopImpersonatingAccount', [contract]), null);
  });

  test('a send returns once its block is durable: receipt and state at latest right after it', async () => {
    // eth_sendTransaction from a dev account and eth_sendRawTransaction, each read at once, several times over.
    const to = fresh();
    const dev1 = new Wallet(DEV_KEY_1);
    let nonce = Number(await call(url, 'eth_getTransactionCount', [dev1.address, 'pending']));
    let total = 0n;
    for (let i = 0; i < 10; i++) {
      const viaNode = await call(url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to, value: hex(3n) }]);
      total += 3n;
      assert.equal((await call(url, 'eth_getTransactionReceipt', [viaNode]))?.status, '0x1', `receipt at once after eth_sendTransaction ${i}`);
      assert.equal(BigInt(await call(url, 'eth_getBalance', [to, 'latest'])), total, `state at latest after eth_sendTransaction ${i}`);
      const raw = await call(url, 'eth_sendRawTransaction', [await sign(dev1, nonce++, { to, value: 4n })]);
      total += 4n;
      assert.equal((await call(url, 'eth_getTransactionReceipt', [raw]))?.status, '0x1', `receipt at once after eth_sendRawTransaction ${i}`);
      assert.equal(BigInt(await call(url, 'eth_getBalance', [to, 'latest'])), total, `state at latest after eth_sendRawTransaction ${i}`);
    }
  });

  test('a send that waits for a nonce gap is answered at once; filling the gap mines both', async () => {
    const to = fresh();
    const sender = new Wallet(DEV_KEY_1);
    const nonce = Number(await call(url, 'eth_getTransactionCount', [sender.address, 'pending']));
    const gapped = call(url, 'eth_sendRawTransaction', [await sign(sender, nonce + 1, { to, value: 2n })]);
    const answered = await Promise.race([gapped.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 20_000))]);
    assert.equal(answered, true, 'answered without waiting for a block that cannot come yet');
    assert.equal(await call(url, 'eth_getTransactionReceipt', [await gapped]), null);
    const filler = await call(url, 'eth_sendRawTransaction', [await sign(sender, nonce, { to, value: 1n })]);
    assert.equal((await call(url, 'eth_getTransactionReceipt', [filler]))?.status, '0x1');
    assert.equal((await mined(provider, await gapped)).status, 1);
    assert.equal(BigInt(await call(url, 'eth_getBalance', [to, 'latest'])), 3n);
  });

  test('the send of a transaction that reverts answers its revert error and data; the transaction is still mined', async () => {
    const reverter = fresh();
    // Runtime code: MSTORE(0, 42), REVERT(0, 32).
    await call(url, 'hardhat_setCode', [reverter, '0x602a60005260206000fd']);
    const before = await head(url);
    const nonce = Number(await call(url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest']));
    const answer = await rpc(url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: reverter, gas: hex(100_000) }]);
    assert.equal(answer.error?.code, 3, JSON.stringify(answer));
    assert.match(answer.error!.message, /^execution reverted/);
    assert.equal(answer.error!.data, WORD(42));
    assert.equal(await head(url), before + 1, 'mined all the same');
    const [hash] = (await block(url)).transactions;
    const receipt = await call(url, 'eth_getTransactionReceipt', [hash]);
    assert.equal(receipt.status, '0x0');
    assert.equal(receipt.to, reverter);
    assert.equal(Number(await call(url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest'])), nonce + 1);
  });

  describe('refused for a contract with a confidentiality policy and for the registries', () => {
    let governed: string;

    before(async () => {
      const deployer = new Wallet(DEV_KEY_0, provider);
      governed = (await (await deployContract(deployer, provider, 'ConfidentialERC20', ['Token', 'TKN', 1000n], TOKEN_POLICY)).getAddress()).toLowerCase();
      assert.ok((await call(url, 'conclave_getPolicy', [governed])), 'the contract has a policy');
    });

    test('setStorageAt / setBalance / setCode / setNonce / impersonateAccount on it are refused, and nothing changes', async () => {
      const balance = await call(url, 'eth_getBalance', [governed, 'latest']);
      const code = await call(url, 'eth_getCode', [governed, 'latest']);
      const nonce = await call(url, 'eth_getTransactionCount', [governed, 'latest']);
      for (const prefix of ['hardhat', 'anvil']) {
        const policy = /confidentiality policy/;
        await refused(url, `${prefix}_setStorageAt`, [governed, '0x2', WORD(1)], NOT_PERMITTED, policy);
        await refused(url, `${prefix}_setBalance`, [governed, hex(ETH)], NOT_PERMITTED, policy);
        await refused(url, `${prefix}_setCode`, [governed, RETURNS_42], NOT_PERMITTED, policy);
        await refused(url, `${prefix}_setNonce`, [governed, '0x99'], NOT_PERMITTED, policy);
        await refused(url, `${prefix}_impersonateAccount`, [governed], NOT_PERMITTED, policy);
      }
      assert.equal(await call(url, 'eth_getBalance', [governed, 'latest']), balance);
      assert.equal(await call(url, 'eth_getCode', [governed, 'latest']), code);
      assert.equal(await call(url, 'eth_getTransactionCount', [governed, 'latest']), nonce);
      assert.ok((await rpc(url, 'eth_sendTransaction', [{ from: governed, to: fresh(), value: '0x0' }])).error, 'no send as it');
    });

    test('a send whose transaction reverts inside it, through a contract without a policy, answers a bare revert', async () => {
      const deployer = new Wallet(DEV_KEY_0, provider);
      const peek = (await (await deployContract(deployer, provider, 'Peek', [])).getAddress()).toLowerCase();
      const data = new Interface(loadArtifact('Peek').abi as never).encodeFunctionData('peekAndRecord', [governed, DEV_ADDRESS_0]);
      // Whoever submitted it need not be in the governed contract's audience: nothing of what reverted in there comes back.
      const answer = await rpc(url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: peek, data, gas: hex(300_000) }]);
      assert.equal(answer.error?.code, 3, JSON.stringify(answer));
      assert.equal(answer.error!.message, 'execution reverted');
      assert.equal(answer.error!.data, '0x');
    });

    test('impersonating its deployer changes no anonymous read of it', async () => {
      const tokenAbi = new Interface(loadArtifact('ConfidentialERC20').abi as never);
      const reads = () =>
        Promise.all([
          rpc(url, 'eth_getStorageAt', [governed, '0x2', 'latest']),
          rpc(url, 'eth_call', [{ from: DEV_ADDRESS_0, to: governed, data: tokenAbi.encodeFunctionData('balanceOf', [DEV_ADDRESS_0]) }, 'latest']),
          rpc(url, 'eth_getLogs', [{ address: governed, fromBlock: '0x0' }]),
        ]);
      const before = await reads();
      assert.equal(before[0].error?.code, NOT_PERMITTED, 'raw storage is not for anonymous readers');
      assert.equal(await call(url, 'hardhat_impersonateAccount', [DEV_ADDRESS_0]), true);
      try {
        assert.deepEqual(await reads(), before);
      } finally {
        await call(url, 'hardhat_stopImpersonatingAccount', [DEV_ADDRESS_0]);
      }
    });

    test('on the identity and policy registries (0x...0c01, 0x...0c02) they are refused', async () => {
      for (const registry of [IDENTITY_REGISTRY, POLICY_REGISTRY]) {
        const code = await call(url, 'eth_getCode', [registry, 'latest']);
        for (const prefix of ['hardhat', 'anvil']) {
          await refused(url, `${prefix}_setStorageAt`, [registry, '0x0', WORD(1)], NOT_PERMITTED, /registry/);
          await refused(url, `${prefix}_setBalance`, [registry, hex(ETH)], NOT_PERMITTED, /registry/);
          await refused(url, `${prefix}_setCode`, [registry, RETURNS_42], NOT_PERMITTED, /registry/);
          await refused(url, `${prefix}_setNonce`, [registry, '0x5'], NOT_PERMITTED, /registry/);
          await refused(url, `${prefix}_impersonateAccount`, [registry], NOT_PERMITTED, /registry/);
        }
        assert.equal(await call(url, 'eth_getCode', [registry, 'latest']), code);
      }
    });

    test("an impersonated sender cannot call the registries (it could set a policy as a contract's deployer)", async () => {
      const someone = fresh();
      await call(url, 'hardhat_setBalance', [someone, hex(ETH)]);
      assert.equal(await call(url, 'hardhat_impersonateAccount', [someone]), true);
      try {
        const setPolicy = new Interface(['function setPolicy(address target, string policy)']).encodeFunctionData('setPolicy', [governed, '{"state":["everyone"]}']);
        for (const to of [POLICY_REGISTRY, IDENTITY_REGISTRY]) {
          await refused(url, 'eth_sendTransaction', [{ from: someone, to, data: setPolicy, gas: hex(1_000_000) }], NOT_PERMITTED, /registry/);
        }
        // Elsewhere it sends.
        const sent = await call(url, 'eth_sendTransaction', [{ from: someone, to: fresh(), value: '0x1' }]);
        assert.equal((await call(url, 'eth_getTransactionReceipt', [sent]))?.status, '0x1');
      } finally {
        await call(url, 'hardhat_stopImpersonatingAccount', [someone]);
      }
    });
  });
});

/** A node in this process on a data dir that outlives it (same platform secret each start). */
function startOn(home: ReturnType<typeof tempHome>): Promise<RunningNode> {
  return withPlatformSecretFile(home.secretFile, () =>
    startNode({ host: '127.0.0.1', port: 0, dataDir: home.dataDir, chainId: 31337n, blockTime: 0, reset: false }),
  );
}

test('a restart after snapshots, reverts, dev state changes, mines, time offsets and transactions replays to the same chain', { timeout: 180_000 }, async () => {
  const home = tempHome('conclave-dev-restart-');
  let node: RunningNode | undefined;
  let provider: JsonRpcProvider | undefined;
  try {
    node = await startOn(home);
    let url = node.url;
    provider = new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const dev0 = new Wallet(DEV_KEY_0, provider);
    const [a, b, c] = [fresh(), fresh(), fresh()];
    const hashes: string[] = [];
    const tx = async (to: string, value: bigint) => {
      const sent = await dev0.sendTransaction({ to, value });
      hashes.push(sent.hash);
      assert.equal((await mined(provider!, sent.hash)).status, 1);
    };

    await tx(a, ETH);
    const s1 = await call(url, 'evm_snapshot');
    await call(url, 'hardhat_setBalance', [b, hex(50n * ETH)]);
    await tx(a, 2n * ETH);
    const s2 = await call(url, 'evm_snapshot');
    await call(url, 'hardhat_setCode', [c, RETURNS_42]);
    await call(url, 'hardhat_mine', ['0x5']);
    assert.equal(await call(url, 'evm_revert', [s2]), true);
    assert.equal(await call(url, 'evm_revert', [s1]), true, 'reverting past a transaction');
    hashes.length = 1; // the second transfer went with the revert
    await tx(a, 3n * ETH);
    await call(url, 'hardhat_setBalance', [b, hex(7n * ETH)]);
    await call(url, 'hardhat_setCode', [c, RETURNS_42]);
    await call(url, 'hardhat_setStorageAt', [c, '0x3', WORD(33)]);
    await call(url, 'evm_snapshot'); // one left outstanding
    await call(url, 'hardhat_mine', [hex(3000), '0x2']);
    await tx(b, ETH / 2n);
    const latestTs = Number((await block(url)).timestamp);
    await call(url, 'evm_setNextBlockTimestamp', [latestTs + 100]);
    await call(url, 'evm_increaseTime', [500]);
    await call(url, 'evm_mine');
    assert.equal(Number((await block(url)).timestamp), latestTs + 100);
    await tx(c, 1n);

    const observe = async (u: string) => {
      const latest = await block(u);
      return {
        head: { number: latest.number, hash: latest.hash, stateRoot: latest.stateRoot, timestamp: latest.timestamp },
        receipts: await Promise.all(hashes.map((h) => call(u, 'eth_getTransactionReceipt', [h]))),
        balances: await Promise.all([a, b, c, DEV_ADDRESS_0].map((x) => call(u, 'eth_getBalance', [x, 'latest']))),
        code: await call(u, 'eth_getCode', [c, 'latest']),
        slot: await call(u, 'eth_getStorageAt', [c, '0x3', 'latest']),
        mined: await block(u, Number(latest.number) - 1500),
      };
    };
    const offset = Number(await call(url, 'evm_increaseTime', [0]));
    // The last entry before the stop sets state outside a block (its root is not the head block's).
    await call(url, 'hardhat_setBalance', [DEV_ADDRESS_0, hex(1234n * ETH)]);
    const before = await observe(url);
    assert.equal(BigInt(before.balances[0]), 4n * ETH, 'the reverted transfer is not there');
    assert.equal(BigInt(before.balances[3]), 1234n * ETH);
    assert.ok(before.receipts.every((r) => r?.status === '0x1'));

    provider.destroy();
    await node.close();
    node = await startOn(home);
    url = node.url;
    const after = await observe(url);
    assert.deepEqual(after, before, 'head number, hash, state root, receipts, balances, code and storage identical');
    assert.equal(await call(url, 'evm_increaseTime', [0]), String(offset), 'the time offset survives');

    // A new block still follows the time offset.
    await call(url, 'evm_mine');
    const ts = Number((await block(url)).timestamp);
    const expected = Math.floor(Date.now() / 1000) + offset;
    assert.ok(ts >= Number(before.head.timestamp) + 1, `new block ${ts} after ${before.head.timestamp}`);
    assert.ok(Math.abs(ts - expected) <= 5, `timestamp ${ts} near now + offset (${expected})`);
  } finally {
    provider?.destroy();
    await node?.close();
    home.cleanup();
  }
});

test('a network started from examples/consortium.json refuses every dev method with a clear error', { timeout: 120_000 }, async () => {
  const c = await startConsortium();
  try {
    const url = c.node.url;
    const a = fresh();
    const latest = await block(url);
    const calls: [string, unknown[]][] = [
      ['evm_mine', []],
      ['evm_snapshot', []],
      ['evm_revert', ['0x1']],
      ['evm_increaseTime', [60]],
      ['evm_setNextBlockTimestamp', [Number(latest.timestamp) + 100]],
      ['evm_setAutomine', [false]],
      ['evm_setIntervalMining', [1000]],
    ];
    for (const prefix of ['hardhat', 'anvil']) {
      calls.push(
        [`${prefix}_mine`, ['0x2']],
        [`${prefix}_setBalance`, [a, hex(ETH)]],
        [`${prefix}_setCode`, [a, RETURNS_42]],
        [`${prefix}_setNonce`, [a, '0x5']],
        [`${prefix}_setStorageAt`, [a, '0x0', WORD(1)]],
        [`${prefix}_impersonateAccount`, [a]],
        [`${prefix}_stopImpersonatingAccount`, [a]],
        [`${prefix}_dropTransaction`, [WORD(1)]],
        [`${prefix}_setNextBlockBaseFeePerGas`, ['0x0']],
        [`${prefix}_getAutomine`, []],
      );
    }
    calls.push(['hardhat_metadata', []], ['anvil_nodeInfo', []], ['anvil_setIntervalMining', [1]], ['anvil_setAutomine', [false]]);
    for (const [method, params] of calls) await refused(url, method, params, UNSUPPORTED, /dev network only/);
    // Nothing moved.
    const now = await block(url);
    assert.equal(now.hash, latest.hash);
    assert.equal(await call(url, 'eth_getBalance', [a, 'latest']), '0x0');
    assert.equal(await call(url, 'eth_getCode', [a, 'latest']), '0x');
  } finally {
    await c.stop();
  }
});

test('hostile params to every dev method: a client error or an answer, never an internal error; the node keeps serving', { timeout: 180_000 }, async () => {
  const node = await startTestNode();
  try {
    const devMethods = Object.keys(methods).filter((m) => /^(evm|hardhat|anvil)_/.test(m));
    const value = fc.constantFrom<unknown>(
      '0x0', '0x1', '0x2', '0x00', '0xffffffffffffffff', '0x' + 'f'.repeat(64), '0x' + 'f'.repeat(65), -1, 0, 1, 2, 1.5, 2 ** 53, 1e308,
      'latest', 'pending', null, true, false, {}, [], 'zz', '0x', '0x' + '11'.repeat(20), WORD(1), '0x' + '11'.repeat(33),
      { timestamp: 1 }, { blocks: '0x2', timestamp: '0x1' }, { blocks: 'many' }, '__proto__',
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...devMethods), fc.array(value, { maxLength: 4 }), async (method, params) => {
        const answer = await rpc(node.url, method, params);
        if (answer.error) assert.ok(CLIENT_ERRORS.has(answer.error.code), `${method}(${JSON.stringify(params)}): ${JSON.stringify(answer.error)}`);
        else assert.ok('result' in answer, `${method}: neither result nor error`);
      }),
      { numRuns: 400, seed: 12 },
    );
    assert.match(await call(node.url, 'eth_blockNumber'), /^0x[0-9a-f]+$/);
  } finally {
    await node.stop();
  }
});
