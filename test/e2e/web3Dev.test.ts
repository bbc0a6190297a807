/**
 * web3.js v4 against the dev network as web3.js's own web3-eth integration suite drives
 * a dev node: sends from an impersonated address, hardhat_setBalance, evm_snapshot /
 * evm_revert around a deploy and a call, and pending transactions with automine off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Web3, type ContractAbi } from 'web3';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_ADDRESS_0, startTestNode, type TestNode } from '../helpers/node.ts';

const tokenArt = loadArtifact('ConclaveToken');
const tokenAbi = tokenArt.abi as unknown as ContractAbi;
const SUPPLY = 10n ** 24n;
const ETH = 10n ** 18n;

describe('web3.js v4 on the dev network', () => {
  let node: TestNode;
  let web3: Web3;
  let from: string;

  /** A dev method through web3's request manager, as web3.js's test utilities call them. */
  const dev = <T = unknown>(method: string, params: unknown[] = []) => web3.requestManager.send({ method, params }) as Promise<T>;

  before(async () => {
    node = await startTestNode();
    web3 = new Web3(node.url);
    web3.setConfig({ transactionPollingInterval: 50, transactionReceiptPollingInterval: 50 });
    from = (await web3.eth.getAccounts())[0]!;
  });

  after(async () => {
    await node?.stop();
  });

  test('hardhat_setBalance: web3.eth.getBalance sees it', async () => {
    const account = web3.eth.accounts.create().address;
    assert.equal(await dev('hardhat_setBalance', [account, web3.utils.toHex(123n * ETH)]), true);
    assert.equal(await web3.eth.getBalance(account), 123n * ETH);
    assert.equal(await dev('hardhat_setBalance', [account, '0x0']), true);
    assert.equal(await web3.eth.getBalance(account), 0n);
  });

  test('web3.eth.sendTransaction from an impersonated address', async () => {
    const impersonated = web3.eth.accounts.create().address;
    const to = web3.eth.accounts.create().address;
    await dev('hardhat_setBalance', [impersonated, web3.utils.toHex(10n * ETH)]);
    // The provider's own request(), as web3.js's integration suite reaches Hardhat's methods.
    const answer = (await web3.currentProvider!.request({ jsonrpc: '2.0', id: 1, method: 'hardhat_impersonateAccount', params: [impersonated] } as never)) as { result?: unknown };
    assert.equal(answer.result, true);

    const receipt = await web3.eth.sendTransaction({ from: impersonated, to, value: ETH, gas: 21_000 });
    assert.equal(receipt.status, 1n);
    assert.equal(String(receipt.from).toLowerCase(), impersonated.toLowerCase());
    assert.equal(await web3.eth.getBalance(to), ETH);
    assert.equal(await web3.eth.getTransactionCount(impersonated), 1n);

    // A contract call sent as it: a token transfer to the impersonated address, then from it.
    const token = await new web3.eth.Contract(tokenAbi).deploy({ data: tokenArt.bytecode, arguments: ['Dev', 'DEV', SUPPLY] }).send({ from });
    await token.methods.transfer(impersonated, 500n).send({ from });
    const sent = await token.methods.transfer(to, 200n).send({ from: impersonated });
    assert.equal(sent.status, 1n);
    assert.equal(await token.methods.balanceOf(to).call(), 200n);

    assert.equal(await dev('hardhat_stopImpersonatingAccount', [impersonated]), true);
    await assert.rejects(async () => {
      await web3.eth.sendTransaction({ from: impersonated, to, value: 1n, gas: 21_000 });
    }, 'refused once impersonation stops');
  });

  test('evm_snapshot / evm_revert around a deploy and a call', async () => {
    const blockBefore = await web3.eth.getBlockNumber();
    const nonceBefore = await web3.eth.getTransactionCount(from);
    const id = await dev<string>('evm_snapshot');
    assert.match(id, /^0x[0-9a-f]+$/);

    const token = await new web3.eth.Contract(tokenAbi).deploy({ data: tokenArt.bytecode, arguments: ['Snap', 'SNP', SUPPLY] }).send({ from });
    const address = token.options.address!;
    const holder = web3.eth.accounts.create().address;
    await token.methods.transfer(holder, 77n).send({ from });
    assert.equal(await token.methods.balanceOf(holder).call(), 77n);
    assert.notEqual(await web3.eth.getCode(address), '0x');

    assert.equal(await dev('evm_revert', [id]), true);
    assert.equal(await web3.eth.getCode(address), '0x', 'the deploy is undone');
    assert.equal(await web3.eth.getBlockNumber(), blockBefore, 'the blocks are undone');
    assert.equal(await web3.eth.getTransactionCount(from), nonceBefore, 'the nonce is undone');
    assert.equal(await dev('evm_revert', [id]), false, 'a snapshot is used once');

    // The same deploy again lands at the same address and works.
    const again = await new web3.eth.Contract(tokenAbi).deploy({ data: tokenArt.bytecode, arguments: ['Snap', 'SNP', SUPPLY] }).send({ from });
    assert.equal(again.options.address, address);
    assert.equal(await again.methods.balanceOf(holder).call(), 0n);
    assert.equal(await again.methods.balanceOf(from).call(), SUPPLY);
  });

  test('pending transactions: automine off, send, seen pending, evm_mine, receipt', async () => {
    assert.equal(await dev('evm_setAutomine', [false]), true);
    try {
      const to = web3.eth.accounts.create().address;
      const latest = await web3.eth.getBlockNumber();
      const promiEvent = web3.eth.sendTransaction({ from, to, value: 1234n, gas: 21_000 });
      const hash = await new Promise<string>((resolve, reject) => {
        promiEvent.on('transactionHash', (h) => resolve(String(h)));
        promiEvent.catch(reject);
      });

      const raw = await dev<{ blockNumber: unknown; hash: string } | null>('eth_getTransactionByHash', [hash]);
      assert.ok(raw, 'the pending transaction is known');
      assert.equal(raw.blockNumber, null, 'not in a block yet');
      const viaWeb3 = await web3.eth.getTransaction(hash);
      assert.equal(viaWeb3.hash, hash);
      assert.equal(viaWeb3.blockNumber ?? null, null);

      assert.equal(await web3.eth.getBalance(to, 'latest'), 0n);
      assert.equal(await web3.eth.getTransactionReceipt(hash).catch(() => null), null, 'no receipt yet');
      assert.equal(await web3.eth.getBlockNumber(), latest);

      assert.equal(await dev('evm_mine'), '0x0');
      const receipt = await promiEvent;
      assert.equal(receipt.status, 1n);
      assert.equal(receipt.blockNumber, latest + 1n);
      const fetched = await web3.eth.getTransactionReceipt(hash);
      assert.equal(fetched.transactionHash, hash);
      assert.equal(await web3.eth.getBalance(to), 1234n);
      // With the pool empty again, the pending block holds no transactions.
      assert.equal(await web3.eth.getBlockTransactionCount('pending'), 0n);
    } finally {
      await dev('evm_setAutomine', [true]);
    }
  });

  test('the pending block holds the transactions that wait for evm_mine', async () => {
    assert.equal(await dev('evm_setAutomine', [false]), true);
    try {
      const to = web3.eth.accounts.create().address;
      const promiEvent = web3.eth.sendTransaction({ from, to, value: 1234n, gas: 21_000 });
      const hash = await new Promise<string>((resolve, reject) => {
        promiEvent.on('transactionHash', (h) => resolve(String(h)));
        promiEvent.catch(reject);
      });
      const pending = await web3.eth.getBlock('pending');
      assert.ok((pending.transactions as string[]).includes(hash), 'the pending block holds it');
      assert.equal(await web3.eth.getBlockTransactionCount('pending'), 1n);
      assert.equal(await web3.eth.getBalance(to, 'pending'), 1234n);
    } finally {
      await dev('evm_mine');
      await dev('evm_setAutomine', [true]);
    }
  });

  test('web3_clientVersion and the dev account', async () => {
    assert.equal(from.toLowerCase(), DEV_ADDRESS_0);
    assert.equal(typeof (await web3.eth.getNodeInfo()), 'string');
  });
});
