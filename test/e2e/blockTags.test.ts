/**
 * Block tags: `safe` and `finalized` name the latest block (final once durable);
 * `pending` names the block the pool would build next, which with an empty pool holds
 * no transactions and builds on the latest block's state.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { JsonRpcProvider } from 'ethers';
import { DEV_ADDRESS_0, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

/** Init code that returns block.number and block.timestamp (run by eth_call without `to`). */
const NUMBER_AND_TIME = '0x436000524260205260406000f3';

let node: TestNode;
let latest: any;

async function call(method: string, params: unknown[] = []): Promise<any> {
  const { result, error } = await rpc(node.url, method, params);
  assert.equal(error, undefined, `${method}: ${JSON.stringify(error)}`);
  return result;
}

before(async () => {
  node = await startTestNode();
  // One block beyond genesis, so `latest` is a block with a transaction.
  const hash = await call('eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: '0x' + '11'.repeat(20), value: '0x1' }]);
  for (let i = 0; i < 600 && (await call('eth_getTransactionReceipt', [hash])) === null; i++) await new Promise((r) => setTimeout(r, 50));
  latest = await call('eth_getBlockByNumber', ['latest', false]);
  assert.equal(latest.number, '0x1');
});
after(() => node?.stop());

test('safe and finalized are the latest block wherever a block tag is taken', async () => {
  for (const tag of ['safe', 'finalized']) {
    assert.deepEqual(await call('eth_getBlockByNumber', [tag, false]), latest, tag);
    assert.equal(await call('eth_getBlockTransactionCountByNumber', [tag]), '0x1', tag);
    assert.equal(await call('eth_getBalance', [DEV_ADDRESS_0, tag]), await call('eth_getBalance', [DEV_ADDRESS_0, 'latest']), tag);
    assert.equal(await call('eth_getTransactionCount', [DEV_ADDRESS_0, tag]), '0x1', tag);
    assert.equal(await call('eth_call', [{ data: NUMBER_AND_TIME }, tag]), await call('eth_call', [{ data: NUMBER_AND_TIME }, 'latest']), tag);
    assert.equal((await call('eth_getBlockReceipts', [tag])).length, 1, tag);
    assert.equal((await call('eth_getBlockByNumber', [{ blockNumber: tag }, false])).hash, latest.hash, `{ blockNumber: ${tag} }`);
  }
});

test('pending with an empty pool is the next block, with no transactions', async () => {
  for (const full of [false, true]) {
    const pending = await call('eth_getBlockByNumber', ['pending', full]);
    assert.equal(pending.number, '0x2');
    assert.equal(pending.parentHash, latest.hash);
    assert.deepEqual(pending.transactions, []);
    assert.equal(pending.gasUsed, '0x0');
    // Not yet sealed: no hash or nonce (as geth and Hardhat).
    assert.equal(pending.hash, null);
    assert.equal(pending.nonce, null);
    assert.equal(pending.stateRoot, latest.stateRoot, 'nothing in it changes the state');
    assert.ok(BigInt(pending.timestamp) > BigInt(latest.timestamp));
    assert.equal(pending.gasLimit, latest.gasLimit);
  }
  assert.equal(await call('eth_getBlockTransactionCountByNumber', ['pending']), '0x0');
  assert.equal(await call('eth_getTransactionByBlockNumberAndIndex', ['pending', '0x0']), null);
  assert.deepEqual(await call('eth_getBlockReceipts', ['pending']), []);
});

test('state reads at pending with an empty pool see the latest state, in the next block', async () => {
  for (const method of ['eth_getBalance', 'eth_getTransactionCount', 'eth_getCode']) {
    assert.equal(await call(method, [DEV_ADDRESS_0, 'pending']), await call(method, [DEV_ADDRESS_0, 'latest']), method);
  }
  assert.equal(await call('eth_getStorageAt', [DEV_ADDRESS_0, '0x0', 'pending']), await call('eth_getStorageAt', [DEV_ADDRESS_0, '0x0', 'latest']));
  // A call at pending runs in the pending block: block.number is latest + 1.
  const out = await call('eth_call', [{ data: NUMBER_AND_TIME }, 'pending']);
  assert.equal(BigInt(out.slice(0, 66)), 2n);
  assert.ok(BigInt('0x' + out.slice(66)) > BigInt(latest.timestamp));
  assert.equal(BigInt((await call('eth_call', [{ data: NUMBER_AND_TIME }, 'latest'])).slice(0, 66)), 1n);
  assert.ok(BigInt(await call('eth_estimateGas', [{ from: DEV_ADDRESS_0, to: DEV_ADDRESS_0 }, 'pending'])) >= 21000n);
});

test('ethers reads the pending block', async () => {
  const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true });
  const block = await provider.getBlock('pending');
  assert.ok(block);
  assert.equal(block.number, 2);
  assert.equal(block.parentHash, latest.hash);
  assert.equal(block.transactions.length, 0);
  provider.destroy();
});
