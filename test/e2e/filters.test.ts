// End-to-end: polling filters and subscriptions, kept in the enclave, with real clients
// (ethers, viem over HTTP and WebSocket, raw JSON-RPC) and every limit they have.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Contract, JsonRpcProvider } from 'ethers';
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeDeployData,
  getAddress,
  http,
  webSocket,
  type Abi,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type Transport,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import WebSocket from 'ws';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, rpc, startTestNode, type TestNode } from '../helpers/node.ts';
import { collector } from '../helpers/collector.ts';

const tokenArt = loadArtifact('ConclaveToken');
const tokenAbi = tokenArt.abi as unknown as Abi;
const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
const LIMITS = { maxFilters: 6, maxFiltersPerConnection: 2, maxSubscriptionsPerConnection: 3, filterMaxChanges: 3 };

const randomAddress = (): Address => privateKeyToAccount(generatePrivateKey()).address;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** A raw JSON-RPC WebSocket client that keeps the notifications it receives. */
class WsClient {
  readonly notifications: { subscription: string; result: any }[] = [];
  private readonly waiting = new Map<number, (m: any) => void>();
  private nextId = 1;
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.method === 'eth_subscription') this.notifications.push(m.params);
      else this.waiting.get(m.id)?.(m);
    });
  }

  static open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsClient(ws)));
      ws.once('error', reject);
    });
  }

  call(method: string, params: unknown[] = []): Promise<{ result?: any; error?: { code: number; message: string } }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  async until<T>(find: () => T | undefined, what: string, ms = 10_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

describe('filters and subscriptions', () => {
  let node: TestNode;
  let chain: Chain;
  let client: PublicClient<Transport, Chain>;
  let token: Address;

  async function call(method: string, params: unknown[] = []): Promise<any> {
    const { result, error } = await rpc(node.url, method, params);
    if (error) throw new Error(`${method}: ${error.code} ${error.message}`);
    return result;
  }

  /** A token transfer from dev account 0 through the node's key; waits for its receipt. */
  async function transfer(to: string, value: bigint): Promise<{ hash: Hash; blockNumber: bigint; blockHash: Hash }> {
    const data = '0xa9059cbb' + to.slice(2).toLowerCase().padStart(64, '0') + value.toString(16).padStart(64, '0');
    const hash = await call('eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: token, data }]);
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    return { hash, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash };
  }

  /** The node still answers. */
  async function serving(): Promise<void> {
    assert.match(await call('eth_blockNumber'), /^0x[0-9a-f]+$/);
  }

  before(async () => {
    node = await startTestNode({ limits: LIMITS });
    chain = defineChain({
      id: 31337,
      name: 'Conclave dev',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [node.url], webSocket: [node.wsUrl] } },
    });
    client = createPublicClient({ chain, transport: http(node.url), pollingInterval: 100 });
    const wallet = createWalletClient({ chain, transport: http(node.url), account: privateKeyToAccount(DEV_KEY_0) });
    const hash = await wallet.deployContract({ abi: tokenAbi, bytecode: tokenArt.bytecode, args: ['Conclave', 'CNV', 10n ** 24n] });
    token = (await client.waitForTransactionReceipt({ hash })).contractAddress!;
  });

  after(async () => {
    await node?.stop();
  });

  test('raw JSON-RPC: block, pending and log filters gather what became durable; getFilterLogs; uninstall', async () => {
    const blocks = await call('eth_newBlockFilter');
    const pending = await call('eth_newPendingTransactionFilter');
    const to = randomAddress();
    const logs = await call('eth_newFilter', [{ address: token, topics: [TRANSFER_TOPIC, null, '0x' + to.slice(2).toLowerCase().padStart(64, '0')] }]);
    const other = await call('eth_newFilter', [{ address: randomAddress() }]);
    for (const id of [blocks, pending, logs, other]) assert.match(id, /^0x[1-9a-f][0-9a-f]*$/, 'a quantity');
    // 128 random bits: ids are unguessable (at least 100 bits once leading zeros go).
    assert.ok(BigInt(blocks) > 2n ** 100n || BigInt(pending) > 2n ** 100n);

    const sent = await transfer(to, 5n);
    const hashes: string[] = await call('eth_getFilterChanges', [blocks]);
    assert.ok(hashes.includes(sent.blockHash), 'the block filter saw the block');
    // Announced only once durable: every announced block can be read at once.
    for (const h of hashes) assert.ok(await call('eth_getBlockByHash', [h, false]), `block ${h} readable`);
    const seen = await call('eth_getFilterChanges', [pending]);
    assert.ok(seen.includes(sent.hash), 'the pending filter saw the transaction');
    const matched = await call('eth_getFilterChanges', [logs]);
    assert.equal(matched.length, 1);
    assert.equal(matched[0].transactionHash, sent.hash);
    assert.equal(matched[0].address, token.toLowerCase());
    assert.deepEqual(await call('eth_getFilterChanges', [other]), [], 'another address matches nothing');
    assert.deepEqual(await call('eth_getFilterChanges', [logs]), [], 'a second poll has only what is new');

    const all = await call('eth_getFilterLogs', [logs]);
    assert.deepEqual(all.map((l: any) => l.transactionHash), [sent.hash]);
    const notLogs = await rpc(node.url, 'eth_getFilterLogs', [blocks]);
    assert.deepEqual(notLogs.error, { code: -32000, message: 'filter not found' }, 'as geth, for a block filter');

    for (const id of [blocks, pending, logs, other]) assert.equal(await call('eth_uninstallFilter', [id]), true);
    assert.equal(await call('eth_uninstallFilter', [blocks]), false);
    const gone = await rpc(node.url, 'eth_getFilterChanges', [blocks]);
    assert.deepEqual(gone.error, { code: -32000, message: 'filter not found' });
    const never = await rpc(node.url, 'eth_getFilterChanges', ['0x' + 'ab'.repeat(16)]);
    assert.deepEqual(never.error, { code: -32000, message: 'filter not found' });
  });

  test('a log filter with a block range gathers only blocks inside it', async () => {
    const head = BigInt(await call('eth_blockNumber'));
    const ended = await call('eth_newFilter', [{ address: token, fromBlock: '0x0', toBlock: '0x' + head.toString(16) }]);
    const open = await call('eth_newFilter', [{ address: token, fromBlock: '0x' + (head + 1n).toString(16) }]);
    const sent = await transfer(randomAddress(), 1n);
    assert.deepEqual(await call('eth_getFilterChanges', [ended]), []);
    assert.deepEqual((await call('eth_getFilterChanges', [open])).map((l: any) => l.transactionHash), [sent.hash]);
    for (const id of [ended, open]) assert.equal(await call('eth_uninstallFilter', [id]), true);
  });

  test('ethers: provider.on("block"), on("pending") and contract.on() poll through filters', async () => {
    const used = new Set<string>();
    class Recording extends JsonRpcProvider {
      override send(method: string, params: unknown[]): Promise<any> {
        used.add(method);
        return super.send(method, params);
      }
    }
    const provider = new Recording(node.url, 31337, { staticNetwork: true, polling: false });
    provider.pollingInterval = 100;
    try {
      const contract = new Contract(token, tokenAbi as never, provider);
      const to = randomAddress();
      const start = await provider.getBlockNumber();
      const blocks = collector<number>((n) => n > start);
      const pending: string[] = [];
      const transfers = collector<[string, string, bigint]>(([, t]) => t === to);
      await provider.on('block', blocks.push);
      await provider.on('pending', (h: string) => pending.push(h));
      await contract.on('Transfer', (from: string, t: string, value: bigint) => transfers.push([from, t, value]));
      await sleep(400);
      const sent = await transfer(to, 7n);
      assert.ok((await blocks.done) > start);
      const [from, , value] = await transfers.done;
      assert.equal(from.toLowerCase(), DEV_ADDRESS_0);
      assert.equal(value, 7n);
      const deadline = Date.now() + 10_000;
      while (!pending.includes(sent.hash) && Date.now() < deadline) await sleep(50);
      assert.ok(pending.includes(sent.hash), 'pending transaction seen');
      assert.ok(used.has('eth_newFilter') && used.has('eth_newPendingTransactionFilter') && used.has('eth_getFilterChanges'), [...used].join());
    } finally {
      await provider.removeAllListeners();
      await sleep(300);
      provider.destroy();
    }
  });

  async function watchAll(client: PublicClient<Transport, Chain>, poll: boolean): Promise<void> {
    const to = randomAddress();
    const start = await client.getBlockNumber({ cacheTime: 0 });
    const blocks = collector<bigint>((n) => n > start);
    const logs = collector<{ args: { to: Address; value: bigint }; transactionHash: Hash }>((l) => l.args.to === getAddress(to));
    const pending: Hash[] = [];
    const errors: Error[] = [];
    const options = poll ? ({ poll: true, pollingInterval: 100 } as const) : {};
    const unwatch = [
      // Over HTTP viem polls eth_blockNumber for blocks; over WebSocket it subscribes to newHeads.
      client.watchBlocks({ ...options, onBlock: (b) => blocks.push(b.number), onError: (e) => errors.push(e) }),
      client.watchContractEvent({
        ...options,
        address: token,
        abi: tokenAbi,
        eventName: 'Transfer',
        onLogs: (ls) => ls.forEach((l) => logs.push(l as never)),
        onError: (e) => errors.push(e),
      }),
      client.watchPendingTransactions({ ...options, onTransactions: (hs) => pending.push(...hs), onError: (e) => errors.push(e) }),
    ];
    try {
      await sleep(400);
      const sent = await transfer(to, 9n);
      assert.ok((await blocks.done) > start);
      const log = await logs.done;
      assert.equal(log.args.value, 9n);
      assert.equal(log.transactionHash, sent.hash);
      const deadline = Date.now() + 10_000;
      while (!pending.includes(sent.hash) && Date.now() < deadline) await sleep(50);
      assert.ok(pending.includes(sent.hash), `pending transaction seen (saw ${pending.length})`);
      assert.deepEqual(errors, []);
    } finally {
      for (const u of unwatch) u();
    }
  }

  test('viem over HTTP: watchBlocks, watchContractEvent, watchPendingTransactions (polling filters)', async () => {
    await watchAll(client, true);
  });

  test('viem over WebSocket: watchBlocks, watchContractEvent, watchPendingTransactions (subscriptions)', async () => {
    const ws = createPublicClient({ chain, transport: webSocket(node.wsUrl) });
    try {
      await watchAll(ws, false);
    } finally {
      await (ws.transport as unknown as { getRpcClient(): Promise<{ close(): void }> }).getRpcClient().then((c) => c.close());
    }
  });

  test('raw WebSocket: newHeads, logs, newPendingTransactions; only the own connection unsubscribes', async () => {
    const a = await WsClient.open(node.wsUrl);
    const b = await WsClient.open(node.wsUrl);
    try {
      const heads = (await a.call('eth_subscribe', ['newHeads'])).result;
      const logs = (await a.call('eth_subscribe', ['logs', { address: token, topics: [TRANSFER_TOPIC] }])).result;
      const pending = (await b.call('eth_subscribe', ['newPendingTransactions'])).result;
      for (const id of [heads, logs, pending]) assert.match(id, /^0x[1-9a-f][0-9a-f]*$/);

      const sent = await transfer(randomAddress(), 3n);
      const head = await a.until(() => a.notifications.find((n) => n.subscription === heads && n.result.hash === sent.blockHash), 'newHeads');
      assert.equal(BigInt(head.result.number), sent.blockNumber);
      const log = await a.until(() => a.notifications.find((n) => n.subscription === logs), 'logs');
      assert.equal(log.result.transactionHash, sent.hash);
      await b.until(() => b.notifications.find((n) => n.subscription === pending && n.result === sent.hash), 'newPendingTransactions');
      assert.ok(!b.notifications.some((n) => n.subscription !== pending), 'b hears only its own subscription');

      assert.deepEqual(await b.call('eth_unsubscribe', [heads]), { jsonrpc: '2.0', id: 2, result: false }, "another connection's subscription");
      assert.equal((await a.call('eth_unsubscribe', [heads])).result, true);
      assert.equal((await a.call('eth_unsubscribe', [heads])).result, false);
      const heard = a.notifications.length;
      await transfer(randomAddress(), 1n);
      await a.until(() => (a.notifications.length > heard ? true : undefined), 'a log after unsubscribing');
      assert.ok(!a.notifications.slice(heard).some((n) => n.subscription === heads), 'no head after unsubscribing');
    } finally {
      await a.close();
      await b.close();
    }
    const http = await rpc(node.url, 'eth_subscribe', ['newHeads']);
    assert.equal(http.error?.code, -32004, 'eth_subscribe needs a WebSocket');
  });

  test('limit: subscriptions per connection (maxSubscriptionsPerConnection)', async () => {
    const ws = await WsClient.open(node.wsUrl);
    try {
      for (let i = 0; i < LIMITS.maxSubscriptionsPerConnection; i++) assert.ok((await ws.call('eth_subscribe', ['newHeads'])).result);
      const refused = await ws.call('eth_subscribe', ['logs', {}]);
      assert.equal(refused.error?.code, -32005);
      assert.match(refused.error!.message, /too many subscriptions on this connection: at most 3 \(maxSubscriptionsPerConnection\)/);
      // Another connection is not affected; the node keeps serving.
      const other = await WsClient.open(node.wsUrl);
      assert.ok((await other.call('eth_subscribe', ['newHeads'])).result);
      await other.close();
      await serving();
    } finally {
      await ws.close();
    }
  });

  test('limit: filters per connection (maxFiltersPerConnection); they end with the connection', async () => {
    const ws = await WsClient.open(node.wsUrl);
    const ids: string[] = [];
    for (let i = 0; i < LIMITS.maxFiltersPerConnection; i++) ids.push((await ws.call('eth_newBlockFilter')).result);
    const refused = await ws.call('eth_newFilter', [{}]);
    assert.equal(refused.error?.code, -32005);
    assert.match(refused.error!.message, /too many filters on this connection: at most 2 \(maxFiltersPerConnection\)/);
    // Polled from anywhere by their caller while the connection lives.
    assert.deepEqual((await rpc(node.url, 'eth_getFilterChanges', [ids[0]])).result, []);
    await serving();
    await ws.close();
    const deadline = Date.now() + 5_000;
    let gone;
    while (Date.now() < deadline && !(gone = (await rpc(node.url, 'eth_getFilterChanges', [ids[0]])).error)) await sleep(20);
    assert.deepEqual(gone, { code: -32000, message: 'filter not found' }, 'closing the connection ended its filters');
  });

  test('limit: filters on the node (maxFilters)', async () => {
    const ids: string[] = [];
    let refused: { code: number; message: string } | undefined;
    for (let i = 0; i <= LIMITS.maxFilters && !refused; i++) {
      const r = await rpc(node.url, 'eth_newBlockFilter');
      if (r.error) refused = r.error;
      else ids.push(r.result);
    }
    assert.ok(refused, `${ids.length} filters installed without refusal`);
    assert.equal(refused.code, -32005);
    assert.match(refused.message, /too many filters: at most 6 on the node \(maxFilters\)/);
    await serving();
    assert.equal(await call('eth_uninstallFilter', [ids[0]]), true);
    ids[0] = await call('eth_newBlockFilter');
    for (const id of ids) assert.equal(await call('eth_uninstallFilter', [id]), true);
  });

  test('limit: changes a filter keeps between polls (filterMaxChanges)', async () => {
    const id = await call('eth_newPendingTransactionFilter');
    for (let i = 0; i <= LIMITS.filterMaxChanges; i++) await transfer(randomAddress(), 1n);
    const over = await rpc(node.url, 'eth_getFilterChanges', [id]);
    assert.equal(over.error?.code, -32005);
    assert.match(over.error!.message, /more than 3 changes since it was last polled \(filterMaxChanges\)/);
    // The filter goes on: what comes next is gathered again.
    assert.deepEqual(await call('eth_getFilterChanges', [id]), []);
    const sent = await transfer(randomAddress(), 1n);
    assert.deepEqual(await call('eth_getFilterChanges', [id]), [sent.hash]);
    assert.equal(await call('eth_uninstallFilter', [id]), true);
    await serving();
  });

  test('limit: addresses and topics per filter or subscription (filterMaxCriteria)', async () => {
    const many = Array.from({ length: 1_001 }, () => randomAddress());
    const refused = await rpc(node.url, 'eth_newFilter', [{ address: many }]);
    assert.equal(refused.error?.code, -32005);
    assert.equal(refused.error!.message, 'too many addresses in filter: 1001, at most 1000', 'as eth_getLogs says it');
    const ws = await WsClient.open(node.wsUrl);
    try {
      const sub = await ws.call('eth_subscribe', ['logs', { address: many }]);
      assert.equal(sub.error?.code, -32005);
    } finally {
      await ws.close();
    }
    await serving();
  });
});

// Runtime code that emits as many empty LOG0s as its call data's first word says:
// PUSH1 0 CALLDATALOAD; loop: JUMPDEST DUP1 ISZERO PUSH1 end JUMPI; LOG0(0, 0); count - 1; PUSH1 loop JUMP; end: JUMPDEST STOP.
const LOOP_LOGGER = '600035' + '5b8015601557' + '60006000a0' + '60019003' + '600356' + '5b00';
// Runtime code that emits one LOG0 carrying its call data.
const DATA_LOGGER = '36600060003736' + '6000a000';
/** Creation code that deploys `runtime` as is. */
const deploying = (runtime: string) => {
  const size = (runtime.length / 2).toString(16).padStart(2, '0');
  return `0x60${size}600c60003960${size}6000f3${runtime}`;
};

describe('log routing, and the limits of the node as a whole', () => {
  const limits = { maxSubscriptions: 3, filterMaxRetained: 5, filterMaxCriteriaTotal: 130 };
  let node: TestNode;
  let token: string;
  let loopLogger: string;
  let dataLogger: string;

  async function call(method: string, params: unknown[] = []): Promise<any> {
    const { result, error } = await rpc(node.url, method, params);
    if (error) throw new Error(`${method}: ${error.code} ${error.message}`);
    return result;
  }

  /** Sends from dev account 0 through the node's key and waits for the receipt. */
  async function send(tx: Record<string, string>): Promise<any> {
    const hash = await call('eth_sendTransaction', [{ from: DEV_ADDRESS_0, ...tx }]);
    const end = Date.now() + 10_000;
    for (;;) {
      const receipt = await call('eth_getTransactionReceipt', [hash]);
      if (receipt) return receipt;
      if (Date.now() > end) throw new Error(`no receipt for ${hash}`);
      await sleep(20);
    }
  }

  const transfer = (to: string, value: bigint) =>
    send({ to: token, data: '0xa9059cbb' + to.slice(2).toLowerCase().padStart(64, '0') + value.toString(16).padStart(64, '0') });

  before(async () => {
    node = await startTestNode({ limits });
    token = (await send({ data: encodeDeployData({ abi: tokenAbi, bytecode: tokenArt.bytecode, args: ['Conclave', 'CNV', 10n ** 24n] }) })).contractAddress;
    loopLogger = (await send({ data: deploying(LOOP_LOGGER) })).contractAddress;
    dataLogger = (await send({ data: deploying(DATA_LOGGER) })).contractAddress;
  });

  after(async () => {
    await node?.stop();
  });

  test('filters and logs subscriptions narrow and broad (indexed differently) each get exactly the logs they match', async () => {
    const to = randomAddress();
    const toTopic = '0x' + to.slice(2).toLowerCase().padStart(64, '0');
    const randomTopic = () => '0x' + randomAddress().slice(2).toLowerCase().padStart(64, '0');
    const others = Array.from({ length: 17 }, () => randomAddress());
    const criteria = {
      // One combination of address and topics.
      exact: { address: token, topics: [TRANSFER_TOPIC, null, toTopic] },
      // 18 addresses x 2 topics: more combinations than are indexed one by one.
      broad: { address: [...others, token], topics: [[TRANSFER_TOPIC, randomTopic()]] },
      // One topic position only.
      topicOnly: { topics: [null, null, [randomTopic(), toTopic]] },
      otherEvent: { address: token, topics: [randomTopic()] },
      // Broad, on the right address but for other events.
      broadOtherEvents: { address: [...others, token], topics: [[randomTopic(), randomTopic()]] },
      broadMiss: { topics: [[TRANSFER_TOPIC], null, Array.from({ length: 20 }, randomTopic)] },
      anotherAddress: { address: others },
      all: {},
    };
    const ids = Object.fromEntries(await Promise.all(Object.entries(criteria).map(async ([k, c]) => [k, await call('eth_newFilter', [c])])));
    const ws = await WsClient.open(node.wsUrl);
    try {
      const broadSub = (await ws.call('eth_subscribe', ['logs', criteria.broad])).result;
      const missSub = (await ws.call('eth_subscribe', ['logs', criteria.broadMiss])).result;
      const sent = await transfer(to, 4n);
      const [log] = await call('eth_getLogs', [{ blockHash: sent.blockHash, address: token }]);
      assert.equal(log.transactionHash, sent.transactionHash);
      for (const k of ['exact', 'broad', 'topicOnly', 'all']) {
        assert.deepEqual(await call('eth_getFilterChanges', [ids[k]]), [log], `${k}: the log, as eth_getLogs gives it`);
      }
      for (const k of ['otherEvent', 'broadOtherEvents', 'broadMiss', 'anotherAddress']) assert.deepEqual(await call('eth_getFilterChanges', [ids[k]]), [], k);
      const heard = await ws.until(() => ws.notifications.find((n) => n.subscription === broadSub), 'the broad subscription');
      assert.deepEqual(heard.result, log);
      assert.ok(!ws.notifications.some((n) => n.subscription === missSub), 'the other subscription heard nothing');
      for (const id of [broadSub, missSub]) assert.equal((await ws.call('eth_unsubscribe', [id])).result, true);
    } finally {
      await ws.close();
      for (const id of Object.values(ids)) await call('eth_uninstallFilter', [id]);
    }
  });

  test('limit: logs all filters gather between polls (filterMaxRetained); a log counts once more per KiB of data', async () => {
    const a = await call('eth_newFilter', [{ address: loopLogger }]);
    const b = await call('eth_newFilter', [{ address: loopLogger }]);
    // Three logs for two filters: six, one more than the node keeps.
    const three = await send({ to: loopLogger, data: '0x' + '3'.padStart(64, '0'), gas: '0x30000' });
    const answers = [await rpc(node.url, 'eth_getFilterChanges', [a]), await rpc(node.url, 'eth_getFilterChanges', [b])];
    const kept = answers.find((x) => x.result)!;
    const dropped = answers.find((x) => x.error)!;
    assert.deepEqual(kept.result, await call('eth_getLogs', [{ blockHash: three.blockHash }]), 'one filter kept all three');
    assert.equal(dropped.error!.code, -32005);
    assert.match(dropped.error!.message, /log filters on the node gather at most 5 logs between their polls \(filterMaxRetained\)/);
    // Polled, both gather again.
    await send({ to: loopLogger, data: '0x' + '2'.padStart(64, '0'), gas: '0x30000' });
    for (const id of [a, b]) assert.equal((await call('eth_getFilterChanges', [id])).length, 2);
    for (const id of [a, b]) assert.equal(await call('eth_uninstallFilter', [id]), true);

    // One log of 2 KiB counts three: two filters cannot both keep it.
    const c = await call('eth_newFilter', [{ address: dataLogger }]);
    const d = await call('eth_newFilter', [{ address: dataLogger }]);
    await send({ to: dataLogger, data: '0x' + 'ab'.repeat(2048) });
    const errors = [await rpc(node.url, 'eth_getFilterChanges', [c]), await rpc(node.url, 'eth_getFilterChanges', [d])].filter((x) => x.error);
    assert.equal(errors.length, 1);
    for (const id of [c, d]) assert.equal(await call('eth_uninstallFilter', [id]), true);
    assert.match(await call('eth_blockNumber'), /^0x/);
  });

  test('limit: subscriptions on the node (maxSubscriptions)', async () => {
    const a = await WsClient.open(node.wsUrl);
    const b = await WsClient.open(node.wsUrl);
    try {
      const first = (await a.call('eth_subscribe', ['newHeads'])).result;
      assert.ok((await a.call('eth_subscribe', ['newPendingTransactions'])).result);
      assert.ok((await b.call('eth_subscribe', ['logs', {}])).result);
      const refused = await b.call('eth_subscribe', ['newHeads']);
      assert.equal(refused.error?.code, -32005);
      assert.match(refused.error!.message, /too many subscriptions: at most 3 on the node \(maxSubscriptions\)/);
      assert.equal((await a.call('eth_unsubscribe', [first])).result, true);
      assert.ok((await b.call('eth_subscribe', ['newHeads'])).result, 'room again');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('limit: addresses and topics of all installed filters and subscriptions (filterMaxCriteriaTotal)', async () => {
    const addresses = (n: number) => Array.from({ length: n }, () => randomAddress());
    // Subscriptions of the connections closed above may still be ending.
    let big: string | undefined;
    for (const end = Date.now() + 5_000; !big && Date.now() < end; await sleep(20)) {
      big = (await rpc(node.url, 'eth_newFilter', [{ address: addresses(100) }])).result;
    }
    assert.ok(big);
    const refused = await rpc(node.url, 'eth_newFilter', [{ address: addresses(20), topics: [addresses(11).map((a) => '0x' + a.slice(2).padStart(64, '0'))] }]);
    assert.equal(refused.error?.code, -32005);
    assert.match(refused.error!.message, /too many addresses and topics in installed filters and subscriptions: at most 130 on the node \(filterMaxCriteriaTotal\)/);
    const ws = await WsClient.open(node.wsUrl);
    try {
      assert.equal((await ws.call('eth_subscribe', ['logs', { address: addresses(31) }])).error?.code, -32005);
      assert.equal(await call('eth_uninstallFilter', [big]), true);
      assert.ok((await ws.call('eth_subscribe', ['logs', { address: addresses(31) }])).result, 'given back when the filter went');
    } finally {
      await ws.close();
    }
  });
});

describe('idle filters expire on a timer (filterIdleMs)', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ limits: { filterIdleMs: 200 } });
  });
  after(async () => {
    await node?.stop();
  });

  test('a filter not polled for filterIdleMs is removed on an idle node; a polled one stays', async () => {
    const idle = (await rpc(node.url, 'eth_newBlockFilter')).result;
    const polled = (await rpc(node.url, 'eth_newFilter', [{}])).result;
    const head = (await rpc(node.url, 'eth_blockNumber')).result;
    for (let i = 0; i < 8; i++) {
      await sleep(75);
      assert.deepEqual((await rpc(node.url, 'eth_getFilterChanges', [polled])).result, []);
    }
    // No block was made meanwhile: the expiry runs on a timer, not when blocks come.
    assert.equal((await rpc(node.url, 'eth_blockNumber')).result, head);
    assert.deepEqual((await rpc(node.url, 'eth_getFilterChanges', [idle])).error, { code: -32000, message: 'filter not found' });
    assert.equal((await rpc(node.url, 'eth_uninstallFilter', [polled])).result, true);
  });
});
