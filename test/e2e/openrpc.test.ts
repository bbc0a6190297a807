/**
 * Conformance of every JSON-RPC method the node supports that the execution-apis
 * OpenRPC document defines: each answer is validated against the spec's result schema,
 * and its values are checked against the chain content this file creates (a token
 * deployment, transfers with logs, transactions of types 0, 1 and 2, a contract
 * creation, a failed transaction, several transactions in one block).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Contract, ContractFactory, Interface, Wallet, getCreateAddress, id as topicOf, keccak256, verifyMessage, verifyTypedData, type TransactionRequest } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { methods as methodTable } from '../../node/rpc/methods/index.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, DEV_KEY_1, rpc, startTestNode, type TestNode } from '../helpers/node.ts';
import { getValidator, validateResult } from '../helpers/openrpc.ts';

const CHAIN_ID = 31337n;
const token = loadArtifact('ConclaveToken');
const registry = loadArtifact('Registry');
const tokenIface = new Interface(token.abi as never);
const registryIface = new Interface(registry.abi as never);
const TRANSFER_TOPIC = topicOf('Transfer(address,address,uint256)');
const DEV_ADDRESS_1 = new Wallet(DEV_KEY_1).address.toLowerCase();
const DEV_ADDRESS_2 = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc';

let node: TestNode;
const wallet0 = new Wallet(DEV_KEY_0);
/** Methods whose results were validated against the spec. */
const validated = new Set<string>();

/** Calls a method, fails on a JSON-RPC error, and returns the result. */
async function call(method: string, params: unknown[] = []): Promise<any> {
  const res = await rpc(node.url, method, params);
  assert.equal(res.error, undefined, `${method}(${JSON.stringify(params)}) failed: ${JSON.stringify(res.error)}`);
  assert.ok('result' in res, `${method} answered without a result`);
  return res.result;
}

/** Asserts that `result` conforms to the spec's result schema of `method`. */
function conforms(method: string, result: unknown): void {
  const problems = validateResult(method, result);
  assert.deepEqual(problems, [], `${method} result does not match the OpenRPC spec:\n  ${problems.join('\n  ')}\nresult: ${JSON.stringify(result)?.slice(0, 2000)}`);
  validated.add(method);
}

/** Calls and validates in one go. */
async function checked(method: string, params: unknown[] = []): Promise<any> {
  const result = await call(method, params);
  conforms(method, result);
  return result;
}

async function receiptOf(hash: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call('eth_getTransactionReceipt', [hash]);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no receipt for ${hash} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const hex = (n: bigint | number) => '0x' + n.toString(16);
const big = (h: string) => BigInt(h);

/** Everything the tests below look at, created once. */
const chain = {} as {
  gasPrice: bigint;
  tokenAddress: string;
  deployHash: string;
  deployBlock: any;
  /** The block holding several transactions. */
  multi: {
    block: any;
    hashes: { type2Transfer: string; legacy: string; accessList: string; create: string; failing: string; value: string };
  };
  pendingTx: any;
  registryAddress: string;
  logFilterId: string;
  blockFilterId: string;
  pendingFilterId: string;
  sendTxHash: string;
};

function fees(): Pick<TransactionRequest, 'maxFeePerGas' | 'maxPriorityFeePerGas'> {
  return { maxFeePerGas: chain.gasPrice * 2n, maxPriorityFeePerGas: 1_000_000_000n };
}

before(async () => {
  node = await startTestNode();
  chain.gasPrice = big(await call('eth_gasPrice'));

  // Filters installed before any content, so they gather what follows.
  chain.logFilterId = await call('eth_newFilter', [{ fromBlock: '0x0', topics: [TRANSFER_TOPIC] }]);
  chain.blockFilterId = await call('eth_newBlockFilter');
  chain.pendingFilterId = await call('eth_newPendingTransactionFilter');

  // Block 1: deploy ConclaveToken (type 2, contract creation, a Transfer log from the mint).
  const deployData = (await new ContractFactory(token.abi as never, token.bytecode).getDeployTransaction('Conclave', 'CNV', 10n ** 24n)).data;
  const deployRaw = await wallet0.signTransaction({ type: 2, chainId: CHAIN_ID, nonce: 0, data: deployData, gasLimit: 3_000_000n, ...fees() });
  chain.deployHash = await call('eth_sendRawTransaction', [deployRaw]);
  const deployReceipt = await receiptOf(chain.deployHash);
  chain.tokenAddress = deployReceipt.contractAddress;
  chain.deployBlock = await call('eth_getBlockByNumber', [deployReceipt.blockNumber, false]);

  // One block with several transactions: those with nonces 2..6 are submitted first and
  // wait for the gap at nonce 1; nonce 1 then makes them all executable in one block.
  const transfer = (to: string, amount: bigint) => tokenIface.encodeFunctionData('transfer', [to, amount]);
  chain.registryAddress = getCreateAddress({ from: DEV_ADDRESS_0, nonce: 4 }).toLowerCase();
  const signed = [
    // nonce 1: type 2 token transfer
    await wallet0.signTransaction({ type: 2, chainId: CHAIN_ID, nonce: 1, to: chain.tokenAddress, data: transfer(DEV_ADDRESS_1, 1000n), gasLimit: 100_000n, ...fees() }),
    // nonce 2: legacy type 0 token transfer (EIP-155)
    await wallet0.signTransaction({ type: 0, chainId: CHAIN_ID, nonce: 2, to: chain.tokenAddress, data: transfer(DEV_ADDRESS_2, 2000n), gasLimit: 100_000n, gasPrice: chain.gasPrice * 2n }),
    // nonce 3: type 1 token transfer with an access list
    await wallet0.signTransaction({
      type: 1,
      chainId: CHAIN_ID,
      nonce: 3,
      to: chain.tokenAddress,
      data: transfer(DEV_ADDRESS_1, 3000n),
      gasLimit: 100_000n,
      gasPrice: chain.gasPrice * 2n,
      accessList: [{ address: chain.tokenAddress, storageKeys: [keccak256('0x01'), '0x' + '00'.repeat(31) + '02'] }],
    }),
    // nonce 4: contract creation (Registry, no logs)
    await wallet0.signTransaction({
      type: 2,
      chainId: CHAIN_ID,
      nonce: 4,
      data: (await new ContractFactory(registry.abi as never, registry.bytecode).getDeployTransaction(0n)).data,
      gasLimit: 2_000_000n,
      ...fees(),
    }),
    // nonce 5: a call that reverts (EmptyName): included with status 0
    await wallet0.signTransaction({
      type: 2,
      chainId: CHAIN_ID,
      nonce: 5,
      to: chain.registryAddress,
      data: registryIface.encodeFunctionData('register', ['', 1n]),
      gasLimit: 200_000n,
      ...fees(),
    }),
    // nonce 6: a plain value transfer (legacy)
    await wallet0.signTransaction({ type: 0, chainId: CHAIN_ID, nonce: 6, to: DEV_ADDRESS_2, value: 12345n, gasLimit: 21_000n, gasPrice: chain.gasPrice * 2n }),
  ];
  const [first, ...gapped] = signed;
  const gappedHashes: string[] = [];
  for (const raw of gapped) gappedHashes.push(await call('eth_sendRawTransaction', [raw]));
  // nonce 2 waits for nonce 1: it is pending, with null block fields.
  chain.pendingTx = await call('eth_getTransactionByHash', [gappedHashes[0]]);
  const firstHash: string = await call('eth_sendRawTransaction', [first]);
  chain.multi = {
    block: undefined,
    hashes: {
      type2Transfer: firstHash,
      legacy: gappedHashes[0]!,
      accessList: gappedHashes[1]!,
      create: gappedHashes[2]!,
      failing: gappedHashes[3]!,
      value: gappedHashes[4]!,
    },
  };
  for (const h of [firstHash, ...gappedHashes]) await receiptOf(h);
  const r = await receiptOf(firstHash);
  chain.multi.block = await call('eth_getBlockByNumber', [r.blockNumber, true]);

  // A transaction signed by the node (dev account 1): a value transfer.
  chain.sendTxHash = await call('eth_sendTransaction', [{ from: DEV_ADDRESS_1, to: DEV_ADDRESS_2, value: hex(777n) }]);
  await receiptOf(chain.sendTxHash);
});

after(async () => {
  await node?.stop();
});

test('the multi-transaction block holds all six transactions in nonce order', () => {
  const h = chain.multi.hashes;
  const block = chain.multi.block;
  assert.deepEqual(
    block.transactions.map((t: any) => t.hash),
    [h.type2Transfer, h.legacy, h.accessList, h.create, h.failing, h.value],
  );
});

test('web3_clientVersion, net_version, net_listening, eth_chainId, eth_syncing, eth_coinbase, eth_accounts', async () => {
  const version = await call('web3_clientVersion');
  assert.equal(typeof version, 'string');
  assert.match(version, /Conclave/);
  assert.equal(await checked('net_version'), '31337');
  assert.equal(await call('net_listening'), true);
  assert.equal(await checked('eth_chainId'), '0x7a69');
  assert.equal(await checked('eth_syncing'), false);
  assert.match(await checked('eth_coinbase'), /^0x[0-9a-f]{40}$/);
  const accounts: string[] = await checked('eth_accounts');
  assert.equal(accounts.length, 10);
  assert.equal(accounts[0]!.toLowerCase(), DEV_ADDRESS_0);
  assert.equal(accounts[1]!.toLowerCase(), DEV_ADDRESS_1);
});

test('eth_blockNumber', async () => {
  const n = await checked('eth_blockNumber');
  // genesis, the token deployment, the multi-tx block, the eth_sendTransaction block
  assert.ok(big(n) >= 3n, `block number ${n}`);
  const latest = await call('eth_getBlockByNumber', ['latest', false]);
  assert.equal(latest.number, n);
});

test('eth_getBalance, eth_getTransactionCount, eth_getCode, eth_getStorageAt', async () => {
  const bal = await checked('eth_getBalance', [DEV_ADDRESS_2, 'latest']);
  assert.equal(big(bal), 10_000n * 10n ** 18n + 12345n + 777n);
  // Archive read: before the multi block, dev 2 had only its genesis balance.
  const before = big(chain.multi.block.number) - 1n;
  assert.equal(big(await checked('eth_getBalance', [DEV_ADDRESS_2, hex(before)])), 10_000n * 10n ** 18n);
  assert.equal(await checked('eth_getBalance', ['0x' + '12'.repeat(20), 'latest']), '0x0');
  // EIP-1898 block object
  assert.equal(big(await checked('eth_getBalance', [DEV_ADDRESS_2, { blockHash: chain.multi.block.hash }])), 10_000n * 10n ** 18n + 12345n);

  assert.equal(await checked('eth_getTransactionCount', [DEV_ADDRESS_0, 'latest']), '0x7');
  assert.equal(await checked('eth_getTransactionCount', [DEV_ADDRESS_0, 'earliest']), '0x0');
  assert.equal(await checked('eth_getTransactionCount', [DEV_ADDRESS_0, 'pending']), '0x7');
  assert.equal(await checked('eth_getTransactionCount', [DEV_ADDRESS_0, chain.deployBlock.number]), '0x1');

  const code = await checked('eth_getCode', [chain.tokenAddress, 'latest']);
  assert.equal(code, token.deployedBytecode.toLowerCase());
  assert.equal(await checked('eth_getCode', [DEV_ADDRESS_0, 'latest']), '0x');
  assert.equal(await checked('eth_getCode', [chain.tokenAddress, 'earliest']), '0x');

  // OpenZeppelin ERC20 v5 layout: slot 2 is _totalSupply.
  const supply = await checked('eth_getStorageAt', [chain.tokenAddress, '0x2', 'latest']);
  assert.equal(supply, '0x' + (10n ** 24n).toString(16).padStart(64, '0'));
  assert.equal(await checked('eth_getStorageAt', [chain.tokenAddress, '0x2', 'earliest']), '0x' + '0'.repeat(64));
  // Registry: slot 0 is minDeposit (0), slot 1 is count (0: the register call failed).
  assert.equal(await checked('eth_getStorageAt', [chain.registryAddress, '0x1', 'latest']), '0x' + '0'.repeat(64));
});

test('eth_call and eth_estimateGas', async () => {
  const balanceOf = tokenIface.encodeFunctionData('balanceOf', [DEV_ADDRESS_1]);
  const out = await checked('eth_call', [{ to: chain.tokenAddress, data: balanceOf }, 'latest']);
  assert.equal(tokenIface.decodeFunctionResult('balanceOf', out)[0], 4000n);
  const atDeploy = await checked('eth_call', [{ to: chain.tokenAddress, input: balanceOf }, chain.deployBlock.number]);
  assert.equal(tokenIface.decodeFunctionResult('balanceOf', atDeploy)[0], 0n);
  const name = await checked('eth_call', [{ to: chain.tokenAddress, data: tokenIface.encodeFunctionData('name') }]);
  assert.equal(tokenIface.decodeFunctionResult('name', name)[0], 'Conclave');
  // A call to an account without code returns empty data.
  assert.equal(await checked('eth_call', [{ from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, value: '0x1' }, 'latest']), '0x');

  const plain = await checked('eth_estimateGas', [{ from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, value: '0x1' }]);
  assert.equal(plain, '0x5208');
  const gas = big(
    await checked('eth_estimateGas', [{ from: DEV_ADDRESS_0, to: chain.tokenAddress, data: tokenIface.encodeFunctionData('transfer', [DEV_ADDRESS_1, 5n]) }, 'latest']),
  );
  assert.ok(gas > 21_000n && gas < 100_000n, `transfer estimate ${gas}`);
  // The estimate is enough: a call with exactly that much gas succeeds.
  const ok = await rpc(node.url, 'eth_call', [{ from: DEV_ADDRESS_0, to: chain.tokenAddress, gas: hex(gas), data: tokenIface.encodeFunctionData('transfer', [DEV_ADDRESS_1, 5n]) }]);
  assert.equal(ok.error, undefined, JSON.stringify(ok.error));
});

test('eth_gasPrice, eth_maxPriorityFeePerGas', async () => {
  const latest = await call('eth_getBlockByNumber', ['latest', false]);
  const gasPrice = big(await checked('eth_gasPrice'));
  const tip = big(await checked('eth_maxPriorityFeePerGas'));
  assert.ok(tip > 0n);
  // The gas price covers at least the next base fee (which is within 12.5% of the latest).
  assert.ok(gasPrice >= (big(latest.baseFeePerGas) * 7n) / 8n, `gasPrice ${gasPrice} vs baseFee ${latest.baseFeePerGas}`);
});

test('eth_feeHistory with and without percentiles', async () => {
  const head = big(await call('eth_blockNumber'));
  const plain = await checked('eth_feeHistory', ['0x3', 'latest', []]);
  assert.equal(big(plain.oldestBlock), head - 2n);
  assert.equal(plain.baseFeePerGas.length, 4);
  assert.equal(plain.gasUsedRatio.length, 3);
  assert.equal(plain.reward, undefined);
  const noArg = await checked('eth_feeHistory', ['0x2', 'latest']);
  assert.equal(noArg.gasUsedRatio.length, 2);

  const n = chain.multi.block.number;
  const withP = await checked('eth_feeHistory', ['0x2', n, [10, 50, 90]]);
  assert.equal(withP.oldestBlock, hex(big(n) - 1n));
  assert.equal(withP.reward.length, 2);
  for (const r of withP.reward) assert.equal(r.length, 3);
  // gasUsedRatio of the multi block is its gasUsed / gasLimit.
  const ratio = Number(big(chain.multi.block.gasUsed)) / Number(big(chain.multi.block.gasLimit));
  assert.ok(Math.abs(withP.gasUsedRatio[1] - ratio) < 1e-9);
  // Base fees agree with the blocks.
  assert.equal(withP.baseFeePerGas[1], chain.multi.block.baseFeePerGas);
  // More blocks than exist: clipped to genesis.
  const all = await checked('eth_feeHistory', ['0x400', 'latest', [50]]);
  assert.equal(all.oldestBlock, '0x0');
  assert.equal(all.gasUsedRatio.length, Number(head) + 1);
});

test('eth_sendRawTransaction answers the transaction hash', async () => {
  const nonce = Number(big(await call('eth_getTransactionCount', [DEV_ADDRESS_0, 'pending'])));
  const raw = await wallet0.signTransaction({ type: 2, chainId: CHAIN_ID, nonce, to: DEV_ADDRESS_1, value: 1n, gasLimit: 21_000n, ...fees() });
  const hash = await checked('eth_sendRawTransaction', [raw]);
  assert.equal(hash, keccak256(raw));
  const receipt = await receiptOf(hash);
  assert.equal(receipt.status, '0x1');
});

test('eth_sendTransaction signs with a dev account', async () => {
  const tx = await call('eth_getTransactionByHash', [chain.sendTxHash]);
  conforms('eth_getTransactionByHash', tx);
  assert.equal(tx.from.toLowerCase(), DEV_ADDRESS_1);
  assert.equal(tx.to.toLowerCase(), DEV_ADDRESS_2);
  assert.equal(tx.value, hex(777n));
  // Another one, validated as eth_sendTransaction's result.
  const hash = await checked('eth_sendTransaction', [{ from: DEV_ADDRESS_1, to: chain.tokenAddress, data: tokenIface.encodeFunctionData('approve', [DEV_ADDRESS_0, 1n]) }]);
  const receipt = await receiptOf(hash);
  assert.equal(receipt.status, '0x1');
  assert.equal(receipt.logs.length, 1, 'Approval log');
  assert.equal(receipt.to.toLowerCase(), chain.tokenAddress.toLowerCase());
});

test('eth_getTransactionByHash for each transaction type, and a pending one', async () => {
  const h = chain.multi.hashes;
  const block = chain.multi.block;
  const cases: [string, string, number][] = [
    [h.type2Transfer, '0x2', 0],
    [h.legacy, '0x0', 1],
    [h.accessList, '0x1', 2],
    [h.create, '0x2', 3],
    [h.failing, '0x2', 4],
    [h.value, '0x0', 5],
  ];
  for (const [hash, type, index] of cases) {
    const tx = await checked('eth_getTransactionByHash', [hash]);
    assert.equal(tx.hash, hash);
    assert.equal(tx.type, type);
    assert.equal(tx.blockHash, block.hash);
    assert.equal(tx.blockNumber, block.number);
    assert.equal(tx.transactionIndex, hex(index));
    assert.equal(tx.from.toLowerCase(), DEV_ADDRESS_0);
    assert.equal(tx.nonce, hex(index + 1));
    assert.equal(tx.chainId, '0x7a69');
    // The block's hydrated transaction is the same object.
    assert.deepEqual(block.transactions[index], tx);
  }
  const legacy = await call('eth_getTransactionByHash', [h.legacy]);
  // EIP-155: v = chainId * 2 + 35 + yParity
  assert.ok([CHAIN_ID * 2n + 35n, CHAIN_ID * 2n + 36n].includes(big(legacy.v)), `legacy v ${legacy.v}`);
  assert.equal(legacy.accessList, undefined);
  const al = await call('eth_getTransactionByHash', [h.accessList]);
  assert.equal(al.accessList.length, 1);
  assert.equal(al.accessList[0].address.toLowerCase(), chain.tokenAddress.toLowerCase());
  assert.equal(al.accessList[0].storageKeys.length, 2);
  assert.equal(al.yParity, al.v);
  const create = await call('eth_getTransactionByHash', [h.create]);
  assert.equal(create.to, null);
  const t2 = await call('eth_getTransactionByHash', [h.type2Transfer]);
  // gasPrice of a mined 1559 tx is the effective price: baseFee + min(tip, maxFee - baseFee).
  assert.equal(big(t2.gasPrice), big(block.baseFeePerGas) + 1_000_000_000n);

  // Unknown hash: null (valid per the spec's "Not Found" branch).
  assert.equal(await checked('eth_getTransactionByHash', ['0x' + 'ab'.repeat(32)]), null);

  // The pending transaction seen while it waited for its nonce gap: geth shape, block fields null.
  const p = chain.pendingTx;
  assert.ok(p, 'the gapped transaction was visible while pending');
  assert.equal(p.hash, h.legacy);
  assert.equal(p.blockHash, null);
  assert.equal(p.blockNumber, null);
  assert.equal(p.transactionIndex, null);
  // The spec's transaction schema has no pending variant (block fields are required
  // strings); every other field must conform.
  conforms('eth_getTransactionByHash', { ...p, blockHash: block.hash, blockNumber: block.number, blockTimestamp: block.timestamp, transactionIndex: '0x1' });
});

test('eth_getTransactionReceipt: success, failure, contract creation; cumulative gas and log indexes', async () => {
  const h = chain.multi.hashes;
  const block = chain.multi.block;
  const order = [h.type2Transfer, h.legacy, h.accessList, h.create, h.failing, h.value];
  const receipts: any[] = [];
  for (const hash of order) receipts.push(await checked('eth_getTransactionReceipt', [hash]));

  let cumulative = 0n;
  let logIndex = 0;
  receipts.forEach((r, i) => {
    assert.equal(r.transactionHash, order[i]);
    assert.equal(r.transactionIndex, hex(i));
    assert.equal(r.blockHash, block.hash);
    assert.equal(r.blockNumber, block.number);
    assert.equal(r.from.toLowerCase(), DEV_ADDRESS_0);
    cumulative += big(r.gasUsed);
    assert.equal(big(r.cumulativeGasUsed), cumulative, `cumulativeGasUsed of tx ${i}`);
    for (const log of r.logs) {
      assert.equal(log.logIndex, hex(logIndex++), 'log indexes run across the block');
      assert.equal(log.transactionHash, r.transactionHash);
      assert.equal(log.transactionIndex, r.transactionIndex);
      assert.equal(log.blockHash, block.hash);
      assert.equal(log.blockNumber, block.number);
      assert.equal(log.removed, false);
    }
  });
  assert.equal(cumulative, big(block.gasUsed), 'the last cumulativeGasUsed is the block gasUsed');
  assert.equal(logIndex, 3, 'three Transfer logs');

  // Token transfers: status 1, one Transfer log each.
  for (const r of receipts.slice(0, 3)) {
    assert.equal(r.status, '0x1');
    assert.equal(r.contractAddress, null);
    assert.equal(r.logs.length, 1);
    assert.equal(r.logs[0].topics[0], TRANSFER_TOPIC);
    assert.equal(r.logs[0].address.toLowerCase(), chain.tokenAddress.toLowerCase());
  }
  assert.equal(receipts[0].type, '0x2');
  assert.equal(receipts[1].type, '0x0');
  assert.equal(receipts[2].type, '0x1');
  // Legacy: effectiveGasPrice is the gas price.
  assert.equal(big(receipts[1].effectiveGasPrice), chain.gasPrice * 2n);
  // 1559: base fee plus tip.
  assert.equal(big(receipts[0].effectiveGasPrice), big(block.baseFeePerGas) + 1_000_000_000n);

  // Contract creation.
  const create = receipts[3];
  assert.equal(create.status, '0x1');
  assert.equal(create.to, null);
  assert.equal(create.contractAddress.toLowerCase(), chain.registryAddress);
  assert.deepEqual(create.logs, []);
  assert.equal(create.logsBloom, '0x' + '0'.repeat(512));
  // Registry's runtime code (its immutable admin filled in) is now at the created address.
  const registryCode: string = await call('eth_getCode', [chain.registryAddress]);
  assert.equal(registryCode.length, registry.deployedBytecode.length);
  assert.ok(registryCode.includes(DEV_ADDRESS_0.slice(2)), 'immutable admin is the deployer');

  // Failure: included, status 0, no logs, gas used.
  const failing = receipts[4];
  assert.equal(failing.status, '0x0');
  assert.deepEqual(failing.logs, []);
  assert.ok(big(failing.gasUsed) > 21_000n && big(failing.gasUsed) < 200_000n);

  // Plain value transfer.
  assert.equal(receipts[5].gasUsed, '0x5208');
  assert.equal(receipts[5].to.toLowerCase(), DEV_ADDRESS_2);

  // The deployment of block 1.
  const deploy = await checked('eth_getTransactionReceipt', [chain.deployHash]);
  assert.equal(deploy.contractAddress.toLowerCase(), getCreateAddress({ from: DEV_ADDRESS_0, nonce: 0 }).toLowerCase());
  assert.equal(deploy.logs.length, 1, 'mint Transfer');
  assert.equal(deploy.logs[0].logIndex, '0x0');
  assert.equal(deploy.cumulativeGasUsed, deploy.gasUsed);

  // Unknown: null.
  assert.equal(await checked('eth_getTransactionReceipt', ['0x' + 'cd'.repeat(32)]), null);
});

test('eth_getBlockByNumber: false and true, latest, earliest, a number, a future number', async () => {
  const latestH = await checked('eth_getBlockByNumber', ['latest', false]);
  const latestF = await checked('eth_getBlockByNumber', ['latest', true]);
  assert.equal(latestH.hash, latestF.hash);
  assert.deepEqual(latestH.transactions, latestF.transactions.map((t: any) => t.hash));

  const genesis = await checked('eth_getBlockByNumber', ['earliest', false]);
  assert.equal(genesis.number, '0x0');
  assert.deepEqual(genesis.transactions, []);
  assert.equal(genesis.parentHash, '0x' + '0'.repeat(64));
  assert.deepEqual(await checked('eth_getBlockByNumber', ['0x0', true]), genesis);

  const n = chain.multi.block.number;
  const byNumber = await checked('eth_getBlockByNumber', [n, false]);
  assert.equal(byNumber.number, n);
  assert.deepEqual(byNumber.transactions, Object.values(chain.multi.hashes));
  const full = await checked('eth_getBlockByNumber', [n, true]);
  assert.deepEqual(full.transactions.map((t: any) => t.hash), byNumber.transactions);
  for (const t of full.transactions) {
    assert.equal(t.blockHash, full.hash);
    assert.equal(t.blockNumber, full.number);
  }
  // Chain links.
  const parent = await call('eth_getBlockByNumber', [hex(big(n) - 1n), false]);
  assert.equal(byNumber.parentHash, parent.hash);
  assert.ok(big(byNumber.timestamp) > big(parent.timestamp));
  assert.notEqual(byNumber.stateRoot, parent.stateRoot);
  assert.notEqual(byNumber.logsBloom, '0x' + '0'.repeat(512));

  const future = await checked('eth_getBlockByNumber', [hex(big(latestH.number) + 1000n), false]);
  assert.equal(future, null);
  // A single node's head is final: 'finalized' is the latest block.
  assert.equal((await checked('eth_getBlockByNumber', ['finalized', false])).number, (await call('eth_blockNumber')));
});

test('eth_getBlockByHash', async () => {
  const { hash } = chain.multi.block;
  const h = await checked('eth_getBlockByHash', [hash, false]);
  assert.equal(h.hash, hash);
  const f = await checked('eth_getBlockByHash', [hash, true]);
  assert.equal(f.hash, hash);
  assert.deepEqual(f, chain.multi.block);
  assert.deepEqual(h, await call('eth_getBlockByNumber', [chain.multi.block.number, false]));
  assert.equal(await checked('eth_getBlockByHash', ['0x' + '00'.repeat(32), false]), null);
  const genesis = await call('eth_getBlockByNumber', ['0x0', false]);
  assert.equal((await checked('eth_getBlockByHash', [genesis.hash, false])).hash, genesis.hash);
});

test('eth_getBlockReceipts', async () => {
  const block = chain.multi.block;
  const byNumber = await checked('eth_getBlockReceipts', [block.number]);
  assert.equal(byNumber.length, 6);
  for (let i = 0; i < byNumber.length; i++) {
    assert.deepEqual(byNumber[i], await call('eth_getTransactionReceipt', [block.transactions[i].hash]));
  }
  const byHash = await checked('eth_getBlockReceipts', [{ blockHash: block.hash }]);
  assert.deepEqual(byHash, byNumber);
  assert.deepEqual(await checked('eth_getBlockReceipts', ['earliest']), []);
  assert.equal(await checked('eth_getBlockReceipts', ['0xffffff']), null);
});

test('eth_getBlockTransactionCountByNumber / ByHash', async () => {
  const block = chain.multi.block;
  assert.equal(await checked('eth_getBlockTransactionCountByNumber', [block.number]), '0x6');
  assert.equal(await checked('eth_getBlockTransactionCountByHash', [block.hash]), '0x6');
  assert.equal(await checked('eth_getBlockTransactionCountByNumber', ['earliest']), '0x0');
  assert.equal(await checked('eth_getBlockTransactionCountByNumber', [chain.deployBlock.number]), '0x1');
  assert.equal(await checked('eth_getBlockTransactionCountByHash', ['0x' + '01'.repeat(32)]), null);
  assert.equal(await checked('eth_getBlockTransactionCountByNumber', ['0xffffff']), null);
});

test('eth_getTransactionByBlockNumberAndIndex / ByBlockHashAndIndex', async () => {
  const block = chain.multi.block;
  for (let i = 0; i < block.transactions.length; i++) {
    const byNumber = await checked('eth_getTransactionByBlockNumberAndIndex', [block.number, hex(i)]);
    const byHash = await checked('eth_getTransactionByBlockHashAndIndex', [block.hash, hex(i)]);
    assert.deepEqual(byNumber, block.transactions[i]);
    assert.deepEqual(byHash, block.transactions[i]);
  }
  assert.equal(await checked('eth_getTransactionByBlockNumberAndIndex', [block.number, '0x6']), null);
  assert.equal(await checked('eth_getTransactionByBlockHashAndIndex', [block.hash, '0x6']), null);
  assert.equal(await checked('eth_getTransactionByBlockHashAndIndex', ['0x' + '02'.repeat(32), '0x0']), null);
  assert.equal(await checked('eth_getTransactionByBlockNumberAndIndex', ['0xffffff', '0x0']), null);
});

test('eth_getLogs', async () => {
  const block = chain.multi.block;
  const all = await checked('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest', address: chain.tokenAddress }]);
  // mint + 3 transfers in the multi block (+ later Approval logs of eth_sendTransaction)
  const transfers = all.filter((l: any) => l.topics[0] === TRANSFER_TOPIC);
  assert.equal(transfers.length, 4);
  assert.equal(transfers[0].transactionHash, chain.deployHash);
  // Logs come in chain order.
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1];
    const b = all[i];
    assert.ok(big(a.blockNumber) < big(b.blockNumber) || (a.blockNumber === b.blockNumber && big(a.logIndex) < big(b.logIndex)));
  }

  const inBlock = await checked('eth_getLogs', [{ blockHash: block.hash }]);
  assert.deepEqual(inBlock.map((l: any) => l.logIndex), ['0x0', '0x1', '0x2']);
  const receipts = await call('eth_getBlockReceipts', [block.number]);
  assert.deepEqual(inBlock, receipts.flatMap((r: any) => r.logs));

  // Topic filter: transfers to dev 2 only (topic 2 is the recipient).
  const toDev2 = '0x' + DEV_ADDRESS_2.slice(2).padStart(64, '0');
  const filtered = await checked('eth_getLogs', [{ fromBlock: block.number, toBlock: block.number, topics: [TRANSFER_TOPIC, null, toDev2] }]);
  assert.equal(filtered.length, 1);
  assert.equal(filtered[0].transactionHash, chain.multi.hashes.legacy);
  assert.equal(filtered[0].logIndex, '0x1', 'a filtered log keeps its index in the block');
  assert.equal(BigInt(filtered[0].data), 2000n);
  // OR within a position.
  const either = await checked('eth_getLogs', [{ fromBlock: block.number, toBlock: block.number, topics: [[TRANSFER_TOPIC, topicOf('Nothing()')]] }]);
  assert.equal(either.length, 3);

  // No match: [] (valid: the spec's oneOf is read as a union of shapes).
  assert.deepEqual(await checked('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest', address: '0x' + '99'.repeat(20) }]), []);
});

test('polling filters: eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter, eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter', async () => {
  // The log filter gathered the Transfer logs of all blocks since it was installed.
  const logs = await checked('eth_getFilterChanges', [chain.logFilterId]);
  assert.ok(logs.length >= 4, `log changes: ${logs.length}`);
  assert.ok(logs.every((l: any) => l.topics[0] === TRANSFER_TOPIC));
  assert.deepEqual(
    logs.slice(0, 4).map((l: any) => l.transactionHash),
    [chain.deployHash, chain.multi.hashes.type2Transfer, chain.multi.hashes.legacy, chain.multi.hashes.accessList],
  );
  // A second poll returns only what is new: nothing.
  assert.deepEqual(await checked('eth_getFilterChanges', [chain.logFilterId]), []);

  const filterLogs = await checked('eth_getFilterLogs', [chain.logFilterId]);
  assert.ok(filterLogs.length >= 4);
  assert.deepEqual(filterLogs.slice(0, 4).map((l: any) => l.transactionHash), logs.slice(0, 4).map((l: any) => l.transactionHash));

  const blockHashes: string[] = await checked('eth_getFilterChanges', [chain.blockFilterId]);
  assert.ok(blockHashes.includes(chain.deployBlock.hash));
  assert.ok(blockHashes.includes(chain.multi.block.hash));
  for (const h of blockHashes) assert.match(h, /^0x[0-9a-f]{64}$/);

  const pending: string[] = await checked('eth_getFilterChanges', [chain.pendingFilterId]);
  for (const h of Object.values(chain.multi.hashes)) assert.ok(pending.includes(h), `pending filter saw ${h}`);

  const fresh = await call('eth_newFilter', [{ address: chain.tokenAddress, fromBlock: 'latest' }]);
  assert.match(fresh, /^0x[0-9a-f]+$/);
  assert.equal(await call('eth_uninstallFilter', [fresh]), true);
  assert.equal(await call('eth_uninstallFilter', [fresh]), false);
  const gone = await rpc(node.url, 'eth_getFilterChanges', [fresh]);
  assert.ok(gone.error, 'a removed filter is not found');

  for (const id of [chain.logFilterId, chain.blockFilterId, chain.pendingFilterId]) {
    assert.equal(await checked('eth_uninstallFilter', [id]), true);
  }
  // Filter ids are QUANTITYs (no leading zeros). Random ids have a leading zero nibble
  // one time in 16, so check enough of them to catch that.
  for (let i = 0; i < 40; i++) {
    for (const [method, params] of [['eth_newFilter', [{}]], ['eth_newBlockFilter', []], ['eth_newPendingTransactionFilter', []]] as const) {
      const id = await checked(method, [...params]);
      assert.equal(await checked('eth_uninstallFilter', [id]), true);
    }
  }
});

test('eth_sign, personal_sign and eth_signTypedData_v4 signatures recover to the account', async () => {
  const message = '0x48656c6c6f2c20436f6e636c617665'; // "Hello, Conclave"
  const sig = await checked('eth_sign', [DEV_ADDRESS_0, message]);
  assert.match(sig, /^0x[0-9a-f]{130}$/);
  assert.equal(verifyMessage(Buffer.from(message.slice(2), 'hex'), sig).toLowerCase(), DEV_ADDRESS_0);
  assert.equal(await call('personal_sign', [message, DEV_ADDRESS_0]), sig);

  const typedData = {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      Mail: [
        { name: 'from', type: 'address' },
        { name: 'contents', type: 'string' },
      ],
    },
    primaryType: 'Mail',
    domain: { name: 'Conclave', version: '1', chainId: 31337, verifyingContract: chain.tokenAddress },
    message: { from: DEV_ADDRESS_1, contents: 'hello' },
  };
  const typedSig = await call('eth_signTypedData_v4', [DEV_ADDRESS_1, typedData]);
  const { EIP712Domain: _d, ...types } = typedData.types;
  assert.equal(verifyTypedData(typedData.domain, types, typedData.message, typedSig).toLowerCase(), DEV_ADDRESS_1);
  // Also given as a JSON string, as MetaMask sends it.
  assert.equal(await call('eth_signTypedData_v4', [DEV_ADDRESS_1, JSON.stringify(typedData)]), typedSig);
});

test('a contract read through ethers agrees with the raw calls', async () => {
  // Sanity check that the ABI helpers above encode what ethers would.
  const c = new Contract(chain.tokenAddress, token.abi as never);
  const data = c.interface.encodeFunctionData('totalSupply');
  const out = await call('eth_call', [{ to: chain.tokenAddress, data }]);
  assert.equal(c.interface.decodeFunctionResult('totalSupply', out)[0], 10n ** 24n);
});

test('every spec method the node supports was validated', () => {
  const spec = new Set(getValidator().methodNames());
  const supported = Object.entries(methodTable)
    .filter(([, entry]) => entry.status === 'supported')
    .map(([name]) => name)
    .filter((name) => spec.has(name));
  const missing = supported.filter((m) => !validated.has(m));
  assert.deepEqual(missing, [], `supported spec methods never validated: ${missing.join(', ')}`);
  assert.ok(supported.length >= 30, `only ${supported.length} supported spec methods?`);
});
