/**
 * Read budgets enforced in the enclave: eth_getLogs block range, result count and
 * filter size; eth_feeHistory blocks and percentiles; reads of old state rebuilt
 * beyond recent history. Each limit answers a clear error and the node keeps serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ContractFactory, Interface, JsonRpcProvider, parseEther, Wallet } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_KEY_0, DEV_KEY_1, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

const token = loadArtifact('ConclaveToken');
const erc20 = new Interface(token.abi as never);
const hex = (n: number | bigint) => `0x${n.toString(16)}`;

describe('read budgets', () => {
  let node: TestNode;
  let address: string;
  let head: number;
  const recipient = new Wallet(DEV_KEY_1).address;

  before(async () => {
    node = await startTestNode({ limits: { logsBlockRange: 5, logsMaxResults: 3, filterMaxCriteria: 10, feeHistoryMaxBlocks: 8, feeHistoryMaxPercentiles: 4 } });
    const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20 });
    const wallet = new Wallet(DEV_KEY_0, provider);
    const contract = await new ContractFactory(token.abi as never, token.bytecode, wallet).deploy('T', 'T', parseEther('1000'));
    await contract.waitForDeployment();
    address = await contract.getAddress();
    // Four blocks with a Transfer log each.
    for (let i = 1; i <= 4; i++) {
      await (await wallet.sendTransaction({ to: address, data: erc20.encodeFunctionData('transfer', [recipient, BigInt(i)]) })).wait();
    }
    head = Number((await rpc(node.url, 'eth_blockNumber')).result);
  });
  after(() => node.stop());

  const ok = async () => assert.equal((await rpc(node.url, 'eth_chainId')).result, '0x7a69');

  test('eth_getLogs: a block range over the limit is refused with -32005 naming it', async () => {
    const r = await rpc(node.url, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: hex(head) }]);
    assert.equal(r.error?.code, -32005);
    assert.equal(r.error?.message, `block range too large: ${head + 1} blocks, at most 5 per query`);
    await ok();
    const fine = await rpc(node.url, 'eth_getLogs', [{ fromBlock: hex(head - 1), toBlock: hex(head) }]);
    assert.equal(fine.result.length, 2);
  });

  test('eth_getLogs: more results than the limit are refused with -32005', async () => {
    const r = await rpc(node.url, 'eth_getLogs', [{ fromBlock: hex(head - 4), toBlock: 'latest' }]);
    assert.equal(r.error?.code, -32005);
    assert.equal(r.error?.message, 'query returned more than 3 results');
    await ok();
  });

  test('eth_getLogs: too many addresses or topics are refused with -32005', async () => {
    const addresses = Array.from({ length: 11 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}`);
    const r = await rpc(node.url, 'eth_getLogs', [{ address: addresses }]);
    assert.equal(r.error?.code, -32005);
    assert.equal(r.error?.message, 'too many addresses in filter: 11, at most 10');
    const topics = Array.from({ length: 11 }, (_, i) => `0x${(i + 1).toString(16).padStart(64, '0')}`);
    const t = await rpc(node.url, 'eth_getLogs', [{ topics: [topics.slice(0, 6), topics.slice(6)] }]);
    assert.equal(t.error?.code, -32005);
    assert.equal(t.error?.message, 'too many topics in filter: 11, at most 10');
    await ok();
  });

  test('eth_getLogs: an inverted range is refused with -32602, also with tags', async () => {
    const r = await rpc(node.url, 'eth_getLogs', [{ fromBlock: 'latest', toBlock: hex(head - 1) }]);
    assert.equal(r.error?.code, -32602);
    assert.match(r.error!.message, /fromBlock .* after toBlock/);
    // A range that starts beyond the head has nothing yet.
    assert.deepEqual((await rpc(node.url, 'eth_getLogs', [{ fromBlock: hex(head + 10) }])).result, []);
    await ok();
  });

  test('a transaction index beyond any block (2^53 .. 2^64) answers null', async () => {
    for (const index of ['0x20000000000000', '0xffffffffffffffff']) {
      assert.equal((await rpc(node.url, 'eth_getTransactionByBlockNumberAndIndex', ['latest', index])).result, null);
      const hash = (await rpc(node.url, 'eth_getBlockByNumber', ['latest', false])).result.hash;
      assert.equal((await rpc(node.url, 'eth_getTransactionByBlockHashAndIndex', [hash, index])).result, null);
    }
  });

  test('eth_feeHistory: blocks and percentiles over their limits are refused with -32602', async () => {
    const blocks = await rpc(node.url, 'eth_feeHistory', ['0x9', 'latest', []]);
    assert.equal(blocks.error?.code, -32602);
    assert.equal(blocks.error?.message, 'invalid argument 0 (blockCount): at most 8 blocks');
    const pct = await rpc(node.url, 'eth_feeHistory', ['0x2', 'latest', [10, 20, 30, 40, 50]]);
    assert.equal(pct.error?.code, -32602);
    assert.equal(pct.error?.message, 'invalid argument 2 (rewardPercentiles): at most 4 percentiles');
    const fine = await rpc(node.url, 'eth_feeHistory', ['0x4', 'latest', [10, 50, 90, 100]]);
    assert.equal(fine.result.baseFeePerGas.length, 5);
    assert.equal(fine.result.reward.length, 4);
  });
});

describe('reads of old state', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.stop());

  test('state older than recent history is rebuilt from the ledger, for plain reads and calls', async () => {
    const wallet = new Wallet(DEV_KEY_0);
    const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20 });
    const signer = wallet.connect(provider);
    const contract = await new ContractFactory(token.abi as never, token.bytecode, signer).deploy('T', 'T', 1000n);
    await contract.waitForDeployment();
    const address = await contract.getAddress();
    const recipient = new Wallet(DEV_KEY_1).address;
    const balances: { block: number; eth: bigint; tokens: bigint }[] = [];
    // More blocks than recent history keeps in memory (128).
    let nonce = await provider.getTransactionCount(wallet.address);
    for (let i = 0; i < 140; i++) {
      const raw = await wallet.signTransaction({
        to: address,
        data: erc20.encodeFunctionData('transfer', [recipient, 1n]),
        nonce: nonce++,
        gasLimit: 100_000n,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
        chainId: 31337n,
      });
      const hash = (await rpc(node.url, 'eth_sendRawTransaction', [raw])).result;
      let receipt;
      while (!(receipt = (await rpc(node.url, 'eth_getTransactionReceipt', [hash])).result)) await new Promise((r) => setTimeout(r, 5));
      if (i % 40 === 0) {
        const block = Number(receipt.blockNumber);
        const eth = BigInt((await rpc(node.url, 'eth_getBalance', [recipient, hex(block)])).result);
        balances.push({ block, eth, tokens: BigInt(i + 1) });
      }
    }
    for (const { block, eth, tokens } of balances) {
      assert.equal(BigInt((await rpc(node.url, 'eth_getBalance', [recipient, hex(block)])).result), eth, `balance at ${block}`);
      const call = await rpc(node.url, 'eth_call', [{ to: address, data: erc20.encodeFunctionData('balanceOf', [recipient]) }, hex(block)]);
      assert.equal(BigInt(call.result), tokens, `token balance at ${block}`);
    }
  });
});
