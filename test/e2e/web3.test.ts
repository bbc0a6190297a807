// End-to-end: web3.js v4 against a real Conclave node (HTTP and WebSocket).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Web3, WebSocketProvider, type ContractAbi, type EventLog } from 'web3';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_ADDRESS_0, DEV_KEY_1, startTestNode, type TestNode } from '../helpers/node.ts';
import { collector } from '../helpers/collector.ts';

const tokenArt = loadArtifact('ConclaveToken');
const registryArt = loadArtifact('Registry');
const tokenAbi = tokenArt.abi as unknown as ContractAbi;
const registryAbi = registryArt.abi as unknown as ContractAbi;
const SUPPLY = 10n ** 24n;
const MIN_DEPOSIT = 10n ** 18n;
const DEV_ADDRESS_1 = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const ZERO = '0x0000000000000000000000000000000000000000';


describe('web3.js v4', () => {
  let node: TestNode;
  let web3: Web3;
  let from: string;
  let tokenAddress: string;
  let deployBlock: bigint;

  before(async () => {
    node = await startTestNode();
    web3 = new Web3(node.url);
    fastPolling(web3);
    const accounts = await web3.eth.getAccounts();
    from = accounts[0]!;
    // Deploy through the node's account: eth_sendTransaction.
    const token = await new web3.eth.Contract(tokenAbi)
      .deploy({ data: tokenArt.bytecode, arguments: ['Conclave', 'CNV', SUPPLY] })
      .send({ from });
    assert.ok(token.options.address);
    tokenAddress = token.options.address;
    deployBlock = await web3.eth.getBlockNumber();
  });

  after(async () => {
    await node?.stop();
  });

  const tokenAt = () => new web3.eth.Contract(tokenAbi, tokenAddress);

  test('node accounts and deployment via eth_sendTransaction', async () => {
    assert.equal(await web3.eth.getChainId(), 31337n);
    const accounts = await web3.eth.getAccounts();
    assert.equal(accounts.length, 10);
    assert.equal(from.toLowerCase(), DEV_ADDRESS_0);
    assert.notEqual(await web3.eth.getCode(tokenAddress), '0x');
    const token = tokenAt();
    assert.equal(await token.methods.name().call(), 'Conclave');
    assert.equal(await token.methods.totalSupply().call(), SUPPLY);
    assert.equal(await token.methods.balanceOf(from).call(), SUPPLY);
  });

  test('transfer().send, balanceOf().call now and at a past block, getPastEvents', async () => {
    const token = tokenAt();
    const to = web3.eth.accounts.create().address;
    const before = await web3.eth.getBlockNumber();
    const receipt = await token.methods.transfer(to, 4242n).send({ from });
    assert.equal(receipt.status, 1n);
    assert.ok(receipt.blockNumber > before);
    const ev = receipt.events?.Transfer;
    assert.ok(ev, 'Transfer event in receipt');
    assert.equal(String(ev.returnValues.from).toLowerCase(), DEV_ADDRESS_0);
    assert.equal(String(ev.returnValues.to), to);
    assert.equal(ev.returnValues.value, 4242n);

    assert.equal(await token.methods.balanceOf(to).call(), 4242n);
    assert.equal(await token.methods.balanceOf(from).call(), SUPPLY - 4242n);
    // Archive reads: the block before the transfer, and by block tag.
    assert.equal(await token.methods.balanceOf(to).call({}, before), 0n);
    assert.equal(await token.methods.balanceOf(from).call({}, before), SUPPLY);
    assert.equal(await token.methods.balanceOf(to).call({}, receipt.blockNumber), 4242n);
    assert.equal(await token.methods.balanceOf(from).call({}, deployBlock), SUPPLY);
    assert.equal(await web3.eth.getBalance(to), 0n);

    const events = await pastTransfers(token, { filter: { to }, fromBlock: 0, toBlock: 'latest' });
    assert.equal(events.length, 1);
    const e = events[0]!;
    assert.ok(typeof e !== 'string');
    assert.equal(e.returnValues.value, 4242n);
    assert.equal(e.transactionHash, receipt.transactionHash);
    assert.equal(e.blockNumber, receipt.blockNumber);

    const mints = await pastTransfers(token, { filter: { from: ZERO }, fromBlock: 0 });
    assert.equal(mints.length, 1);
    assert.ok(typeof mints[0] !== 'string');
    assert.equal(mints[0]!.returnValues.value, SUPPLY);
    // A block range that ends before the transfer excludes it.
    const none = await pastTransfers(token, { filter: { to }, fromBlock: 0, toBlock: before });
    assert.equal(none.length, 0);
  });

  test('a local wallet account (eth_sendRawTransaction): deploy and send', async () => {
    const local = new Web3(node.url);
    fastPolling(local);
    const [acct] = local.eth.accounts.wallet.add(DEV_KEY_1);
    assert.ok(acct);
    assert.equal(acct.address.toLowerCase(), DEV_ADDRESS_1);
    const nonceBefore = await local.eth.getTransactionCount(acct.address);

    const registry = await new local.eth.Contract(registryAbi)
      .deploy({ data: registryArt.bytecode, arguments: [MIN_DEPOSIT] })
      .send({ from: acct.address });
    const registryAddress = registry.options.address!;
    assert.notEqual(await local.eth.getCode(registryAddress), '0x');
    assert.equal(String(await registry.methods.admin().call()).toLowerCase(), DEV_ADDRESS_1);
    assert.equal(await registry.methods.minDeposit().call(), MIN_DEPOSIT);

    const receipt = await registry.methods.register('web3', 7n).send({ from: acct.address, value: MIN_DEPOSIT.toString() });
    assert.equal(receipt.status, 1n);
    const reg = receipt.events?.Registered;
    assert.ok(reg);
    assert.equal(String(reg.returnValues.owner).toLowerCase(), DEV_ADDRESS_1);
    assert.equal(reg.returnValues.name, 'web3');
    assert.equal(reg.returnValues.value, 7n);
    assert.equal(await registry.methods.count().call(), 1n);
    assert.equal(await registry.methods.isRegistered('web3').call(), true);
    assert.equal(await local.eth.getTransactionCount(acct.address), nonceBefore + 2n);
    // The transaction was signed locally: the node saw a raw EIP-1559 transaction from account 1.
    const tx = await local.eth.getTransaction(receipt.transactionHash);
    assert.equal(tx.from.toLowerCase(), DEV_ADDRESS_1);
    assert.equal(tx.value, MIN_DEPOSIT);

    // A plain value transfer signed by the wallet.
    const to = local.eth.accounts.create().address;
    const r2 = await local.eth.sendTransaction({ from: acct.address, to, value: 12345n });
    assert.equal(r2.status, 1n);
    assert.equal(await local.eth.getBalance(to), 12345n);
  });

  test('a revert surfaces the custom error', async () => {
    const registry = await new web3.eth.Contract(registryAbi)
      .deploy({ data: registryArt.bytecode, arguments: [MIN_DEPOSIT] })
      .send({ from });

    // eth_call
    await assert.rejects(registry.methods.register('x', 1n).call({ from, value: '5' }), (e: any) => {
      const cause = e.cause ?? e;
      assert.equal(cause.errorName, 'InsufficientDeposit', explain(e));
      assert.equal(cause.errorSignature, 'InsufficientDeposit(uint256,uint256)');
      assert.equal(cause.errorArgs?.sent, 5n);
      assert.equal(cause.errorArgs?.required, MIN_DEPOSIT);
      assert.ok(String(cause.data).startsWith('0x25c3f46e'));
      return true;
    });
    // send: web3 estimates gas first; the estimate reverts with the same error.
    await assert.rejects(async () => void (await registry.methods.register('', 1n).send({ from, value: MIN_DEPOSIT.toString() })), (e: any) => {
      const cause = e.cause ?? e;
      assert.equal(cause.errorName, 'EmptyName', explain(e));
      return true;
    });
    // NotOwner(caller) with the caller as argument.
    const other = (await web3.eth.getAccounts())[3]!;
    await assert.rejects(async () => void (await registry.methods.setMinDeposit(0n).send({ from: other })), (e: any) => {
      const cause = e.cause ?? e;
      assert.equal(cause.errorName, 'NotOwner', explain(e));
      assert.equal(String(cause.errorArgs?.caller).toLowerCase(), other.toLowerCase());
      return true;
    });
    // A require string gives the reason.
    await assert.rejects(registry.methods.update('0x' + '22'.repeat(32), 1n).call({ from }), (e: any) => {
      const cause = e.cause ?? e;
      assert.match(String(cause.message), /Registry: unknown key/, explain(e));
      return true;
    });
  });

  test('subscriptions over WebSocketProvider: newBlockHeaders and logs', async () => {
    // No auto-reconnect: web3's close listener survives disconnect(), so a socket closed
    // by the node's shutdown would otherwise be redialled for 5 × 5 s.
    const wsWeb3 = new Web3(new WebSocketProvider(node.wsUrl, {}, { autoReconnect: false }));
    try {
      const start = await wsWeb3.eth.getBlockNumber();
      const heads = collector<{ number: bigint; hash: string }>((h) => BigInt(h.number) > start);
      const headSub = await wsWeb3.eth.subscribe('newBlockHeaders');
      headSub.on('data', (h: any) => heads.push(h));

      const to = wsWeb3.eth.accounts.create().address;
      const transferTopic = wsWeb3.utils.sha3('Transfer(address,address,uint256)')!;
      const toTopic = '0x' + to.slice(2).toLowerCase().padStart(64, '0');
      const logs = collector<any>(() => true);
      const logSub = await wsWeb3.eth.subscribe('logs', { address: tokenAddress, topics: [transferTopic, null as unknown as string, toTopic] });
      logSub.on('data', (l: any) => logs.push(l));

      // A contract-level subscription too (contract.events.Transfer).
      const wsToken = new wsWeb3.eth.Contract(tokenAbi, tokenAddress);
      const decoded = collector<any>((ev) => ev.returnValues?.to === to);
      const evSub = wsToken.events.Transfer!({ filter: { to } });
      evSub.on('data', (ev: any) => decoded.push(ev));
      await new Promise((r) => setTimeout(r, 300));

      const receipt = await tokenAt().methods.transfer(to, 31n).send({ from });

      const head = await heads.done;
      assert.ok(BigInt(head.number) <= receipt.blockNumber);
      assert.match(head.hash, /^0x[0-9a-f]{64}$/);
      const log = await logs.done;
      assert.equal(String(log.address).toLowerCase(), tokenAddress.toLowerCase());
      assert.equal(log.transactionHash, receipt.transactionHash);
      assert.equal(BigInt(log.blockNumber), receipt.blockNumber);
      assert.equal(BigInt(log.data), 31n);
      assert.equal(log.topics[2], toTopic);
      const ev = await decoded.done;
      assert.equal(ev.returnValues.value, 31n);
      assert.equal(ev.event, 'Transfer');

      await headSub.unsubscribe();
      await logSub.unsubscribe();
      await evSub.unsubscribe();
    } finally {
      await Promise.resolve(wsWeb3.eth.clearSubscriptions()).catch(() => undefined);
      (wsWeb3.provider as WebSocketProvider).disconnect();
      // Let the close handshake finish before the node goes away.
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});

/** getPastEvents('Transfer', …): the ABI is loaded at run time, so its event names are not in the types. */
function pastTransfers(contract: { getPastEvents: (...args: any[]) => Promise<unknown> }, options: Record<string, unknown>) {
  return contract.getPastEvents('Transfer', options) as Promise<EventLog[]>;
}

/** Blocks are cut at once: poll for receipts every 50 ms instead of web3's default 1 s. */
function fastPolling(w: Web3): void {
  w.setConfig({ transactionPollingInterval: 50, transactionReceiptPollingInterval: 50 });
}

function explain(e: any): string {
  return `${e?.name}: ${e?.message}; cause ${e?.cause?.name}: ${e?.cause?.message}`;
}
