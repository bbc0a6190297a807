/**
 * The `pending` tag with transactions waiting (automine off): the pending block holds
 * them, executed speculatively on the latest state, and every read at `pending` sees
 * what they did (balances, nonces, storage, calls, gas estimates), with the disclosure
 * rules of any read for a contract with a confidentiality policy. It is rebuilt when
 * something changes and shared until then; after the block is mined it is empty again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Interface, JsonRpcProvider, Wallet } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { call, erc20, ETH, fresh, hex } from '../helpers/chainCalls.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, rpc, startTestNode, type TestNode } from '../helpers/node.ts';
import { deployContract, TOKEN_POLICY } from '../confidentiality/consortium.ts';

const NOT_PERMITTED = -32010;
const DEV_ADDRESS_1 = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const tokenAbi = new Interface(loadArtifact('ConfidentialERC20').abi as never);

describe('the pending block with transactions waiting', () => {
  let node: TestNode;
  let url: string;
  let provider: JsonRpcProvider;

  before(async () => {
    node = await startTestNode();
    url = node.url;
    provider = new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1 });
  });
  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  /** Runs `fn` with automine off, then mines what waits and turns automine on again. */
  async function paused(fn: () => Promise<void>): Promise<void> {
    assert.equal(await call(url, 'evm_setAutomine', [false]), true);
    try {
      await fn();
    } finally {
      await call(url, 'evm_mine');
      await call(url, 'evm_setAutomine', [true]);
    }
  }

  test('holds the waiting transactions, executed: counts, balances, nonces, calls and estimates at pending see them', async () => {
    const to = fresh();
    const latest = await call(url, 'eth_getBlockByNumber', ['latest', false]);
    const nonce = BigInt(await call(url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'latest']));
    await paused(async () => {
      const a = await call(url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to, value: hex(ETH) }]);
      const b = await call(url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to, value: hex(2n * ETH) }]);
      const pending = await call(url, 'eth_getBlockByNumber', ['pending', false]);
      assert.deepEqual(pending.transactions, [a, b]);
      assert.equal(pending.number, hex(BigInt(latest.number) + 1n));
      assert.equal(pending.parentHash, latest.hash);
      assert.equal(pending.hash, null);
      assert.equal(BigInt(pending.gasUsed), 42_000n);
      const full = await call(url, 'eth_getBlockByNumber', ['pending', true]);
      assert.deepEqual(full.transactions.map((t: any) => [t.hash, t.from, t.to, t.value, t.blockHash]), [
        [a, DEV_ADDRESS_0, to, hex(ETH), null],
        [b, DEV_ADDRESS_0, to, hex(2n * ETH), null],
      ]);
      assert.equal(await call(url, 'eth_getBlockTransactionCountByNumber', ['pending']), '0x2');
      assert.equal((await call(url, 'eth_getTransactionByBlockNumberAndIndex', ['pending', '0x1'])).hash, b);
      assert.equal(await call(url, 'eth_getTransactionByBlockNumberAndIndex', ['pending', '0x2']), null);

      assert.equal(BigInt(await call(url, 'eth_getBalance', [to, 'pending'])), 3n * ETH);
      assert.equal(BigInt(await call(url, 'eth_getBalance', [to, 'latest'])), 0n, 'latest is the durable head');
      assert.equal(BigInt(await call(url, 'eth_getTransactionCount', [DEV_ADDRESS_0, 'pending'])), nonce + 2n);
      // A call at pending runs on the state after them: `to` can pay what it received.
      const spend = { from: to, to: DEV_ADDRESS_0, value: hex(ETH) };
      assert.equal(await call(url, 'eth_call', [spend, 'pending']), '0x');
      assert.match((await rpc(url, 'eth_call', [spend, 'latest'])).error?.message ?? '', /insufficient funds/);
      assert.equal(BigInt(await call(url, 'eth_estimateGas', [spend, 'pending'])), 21_000n);
      // ethers' pending reads.
      assert.equal(await provider.getBalance(to, 'pending'), 3n * ETH);
      assert.equal((await provider.getBlock('pending'))?.transactions.length, 2);
    });
    // Mined: the same transactions, now in the latest block; pending is empty again.
    assert.equal(BigInt(await call(url, 'eth_getBalance', [to, 'latest'])), 3n * ETH);
    assert.equal((await call(url, 'eth_getBlockByNumber', ['latest', false])).transactions.length, 2);
    assert.deepEqual((await call(url, 'eth_getBlockByNumber', ['pending', false])).transactions, []);
  });

  test('is rebuilt when a transaction arrives or is dropped, and shared between reads until then', async () => {
    await paused(async () => {
      const first = await call(url, 'eth_getBlockByNumber', ['pending', false]);
      const again = await call(url, 'eth_getBlockByNumber', ['pending', false]);
      assert.equal(again.timestamp, first.timestamp, 'nothing changed: the same block');
      const a = await call(url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: fresh(), value: '0x1' }]);
      assert.deepEqual((await call(url, 'eth_getBlockByNumber', ['pending', false])).transactions, [a]);
      assert.equal(await call(url, 'hardhat_dropTransaction', [a]), true);
      assert.deepEqual((await call(url, 'eth_getBlockByNumber', ['pending', false])).transactions, []);
    });
  });

  test('a waiting transaction that can no longer run is left out, as the block builder drops it', async () => {
    const poor = new Wallet('0x' + '42'.repeat(32));
    await call(url, 'hardhat_setBalance', [poor.address, hex(ETH)]);
    await paused(async () => {
      const signed = await poor.signTransaction({
        type: 2, chainId: 31337, nonce: 0, to: fresh(), value: ETH / 2n, gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n,
      });
      const hash = await call(url, 'eth_sendRawTransaction', [signed]);
      assert.deepEqual((await call(url, 'eth_getBlockByNumber', ['pending', false])).transactions, [hash]);
      // Its funds go while it waits: the speculative block no longer holds it.
      await call(url, 'hardhat_setBalance', [poor.address, '0x0']);
      assert.deepEqual((await call(url, 'eth_getBlockByNumber', ['pending', false])).transactions, []);
    });
  });

  test('a waiting transaction that runs past the read time limit ends the pending block there; reads at pending still answer', async () => {
    const slow = await startTestNode({ limits: { callTimeoutMs: 300 } });
    try {
      const loop = fresh();
      // JUMPDEST, PUSH1 0, JUMP: loops until its gas runs out.
      await call(slow.url, 'hardhat_setCode', [loop, '0x5b600056']);
      await call(slow.url, 'evm_setAutomine', [false]);
      const to = fresh();
      const first = await call(slow.url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to, value: '0x7' }]);
      await call(slow.url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: loop, gas: hex(29_000_000) }]);
      const pending = await rpc(slow.url, 'eth_getBlockByNumber', ['pending', false]);
      assert.equal(pending.error, undefined, JSON.stringify(pending.error));
      assert.deepEqual(pending.result.transactions, [first], 'the block ends before the transaction that ran out of time');
      assert.equal(BigInt(await call(slow.url, 'eth_getBalance', [to, 'pending'])), 7n);
    } finally {
      await slow.stop();
    }
  });

  test('a contract with a policy: pending reads disclose what latest reads do, to the same readers', async () => {
    const deployer = new Wallet(DEV_KEY_0, provider);
    const token = (await (await deployContract(deployer, provider, 'ConfidentialERC20', ['Token', 'TKN', 1000n], TOKEN_POLICY)).getAddress()).toLowerCase();
    const holder = fresh();
    await paused(async () => {
      const data = tokenAbi.encodeFunctionData('transfer', [holder, 7n]);
      const hash = await call(url, 'eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: token, data }]);
      // The sender sees its input and its balance after the transfer; anyone else sees neither.
      const own = { from: DEV_ADDRESS_0, to: token, data: erc20.encodeFunctionData('balanceOf', [DEV_ADDRESS_0]) };
      const before = BigInt(await call(url, 'eth_call', [own, 'latest']));
      assert.equal(BigInt(await call(url, 'eth_call', [own, 'pending'])), before - 7n);
      const anonymous = await rpc(url, 'eth_call', [{ to: token, data: own.data }, 'pending']);
      assert.equal(anonymous.error?.code, NOT_PERMITTED, JSON.stringify(anonymous));
      // Another account is answered at pending exactly as at latest (here: the contract's own refusal).
      const other = { from: DEV_ADDRESS_1, to: token, data: own.data };
      assert.deepEqual((await rpc(url, 'eth_call', [other, 'pending'])).error, (await rpc(url, 'eth_call', [other, 'latest'])).error);
      assert.equal((await rpc(url, 'eth_getStorageAt', [token, '0x0', 'pending'])).error?.code, NOT_PERMITTED);
      const full = await call(url, 'eth_getBlockByNumber', ['pending', true]);
      const tx = full.transactions.find((t: any) => t.hash === hash);
      assert.ok(tx, 'the transfer is in the pending block');
      assert.equal(tx.input, '0x', 'its input is not shown to an anonymous reader');
      assert.equal((await call(url, 'eth_getTransactionByBlockNumberAndIndex', ['pending', '0x0'])).input, '0x');
    });
  });
});
