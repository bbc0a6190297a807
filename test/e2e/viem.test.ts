// End-to-end: viem against a real Conclave node (http and webSocket transports).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  encodeFunctionData,
  defineChain,
  getAddress,
  http,
  parseEther,
  verifyMessage,
  webSocket,
  type Abi,
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
  type WalletClient,
  type Transport,
  type Chain,
  type Account,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEFAULT_BLOCK_GAS_LIMIT } from '../../node/startNode.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, startTestNode, type TestNode } from '../helpers/node.ts';
import { collector } from '../helpers/collector.ts';

const tokenArt = loadArtifact('ConclaveToken');
const registryArt = loadArtifact('Registry');
const tokenAbi = tokenArt.abi as unknown as Abi;
const registryAbi = registryArt.abi as unknown as Abi;
const SUPPLY = parseEther('1000000');
const MIN_DEPOSIT = parseEther('1');
const account = privateKeyToAccount(DEV_KEY_0);


const randomAddress = (): Address => privateKeyToAccount(generatePrivateKey()).address;

describe('viem', () => {
  let node: TestNode;
  let chain: Chain;
  let publicClient: PublicClient<Transport, Chain>;
  let wsClient: PublicClient<Transport, Chain>;
  let walletClient: WalletClient<Transport, Chain, Account>;
  let token: Address;
  let registry: Address;
  let deployBlock: bigint;

  before(async () => {
    node = await startTestNode();
    chain = defineChain({
      id: 31337,
      name: 'Conclave dev',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [node.url], webSocket: [node.wsUrl] } },
    });
    publicClient = createPublicClient({ chain, transport: http(node.url), pollingInterval: 100 });
    wsClient = createPublicClient({ chain, transport: webSocket(node.wsUrl) });
    walletClient = createWalletClient({ chain, transport: http(node.url), account });

    const hash = await walletClient.deployContract({
      abi: tokenAbi,
      bytecode: tokenArt.bytecode,
      args: ['Conclave', 'CNV', SUPPLY],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.ok(receipt.contractAddress);
    token = receipt.contractAddress;
    deployBlock = receipt.blockNumber;

    const rHash = await walletClient.deployContract({ abi: registryAbi, bytecode: registryArt.bytecode, args: [MIN_DEPOSIT] });
    const rReceipt = await publicClient.waitForTransactionReceipt({ hash: rHash });
    assert.equal(rReceipt.status, 'success');
    registry = rReceipt.contractAddress!;
  });

  after(async () => {
    try {
      await (wsClient?.transport as unknown as { getRpcClient?: () => Promise<{ close(): void }> }).getRpcClient?.().then((c) => c.close());
    } catch {
      // already closed
    }
    await node?.stop();
  });

  test("multicall through the pre-deployed Multicall3, with the README's chain definition", async () => {
    const withMulticall = defineChain({
      ...chain,
      contracts: { multicall3: { address: '0xcA11bde05977b3631167028862bE2a173976CA11', blockCreated: 0 } },
    });
    const client = createPublicClient({ chain: withMulticall, transport: http(node.url) });
    const code = await client.getCode({ address: '0xcA11bde05977b3631167028862bE2a173976CA11' });
    assert.equal(code?.length, 2 + 3808 * 2, 'the canonical runtime code, 3,808 bytes');
    const results = await client.multicall({
      contracts: [
        { address: token, abi: tokenAbi, functionName: 'name' },
        { address: token, abi: tokenAbi, functionName: 'balanceOf', args: [account.address] },
        { address: registry, abi: registryAbi, functionName: 'minDeposit' },
      ],
    });
    assert.deepEqual(results.map((r) => r.status), ['success', 'success', 'success']);
    assert.equal(results[0]!.result, 'Conclave');
    assert.equal(typeof results[1]!.result, 'bigint');
    assert.equal(results[2]!.result, MIN_DEPOSIT);
    // A failing call is reported in place, not thrown (aggregate3 with allowFailure).
    const [failed] = await client.multicall({ contracts: [{ address: token, abi: tokenAbi, functionName: 'transferFrom', args: [randomAddress(), randomAddress(), 1n] }] });
    assert.equal(failed!.status, 'failure');
  });

  test('chain id, deployment and readContract', async () => {
    assert.equal(await publicClient.getChainId(), 31337);
    assert.equal(await wsClient.getChainId(), 31337);
    const code = await publicClient.getCode({ address: token });
    assert.ok(code && code.length > 100);
    assert.equal(await publicClient.readContract({ address: token, abi: tokenAbi, functionName: 'name' }), 'Conclave');
    assert.equal(await publicClient.readContract({ address: token, abi: tokenAbi, functionName: 'decimals' }), 18);
    assert.equal(
      await publicClient.readContract({ address: token, abi: tokenAbi, functionName: 'balanceOf', args: [account.address] }),
      SUPPLY,
    );
    assert.equal(await publicClient.readContract({ address: registry, abi: registryAbi, functionName: 'minDeposit' }), MIN_DEPOSIT);
  });

  test('writeContract, receipts, past-block reads, getTransaction', async () => {
    const to = randomAddress();
    const before = await publicClient.getBlockNumber({ cacheTime: 0 });
    const hash = await walletClient.writeContract({ address: token, abi: tokenAbi, functionName: 'transfer', args: [to, 5000n] });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.equal(receipt.transactionHash, hash);
    assert.equal(receipt.from, account.address.toLowerCase());
    assert.equal(receipt.to, token.toLowerCase());
    assert.equal(receipt.logs.length, 1);
    assert.ok(receipt.blockNumber > before);

    const read = (blockNumber?: bigint) =>
      publicClient.readContract({ address: token, abi: tokenAbi, functionName: 'balanceOf', args: [to], blockNumber });
    assert.equal(await read(), 5000n);
    assert.equal(await read(receipt.blockNumber), 5000n);
    assert.equal(await read(receipt.blockNumber - 1n), 0n);
    assert.equal(
      await publicClient.readContract({
        address: token,
        abi: tokenAbi,
        functionName: 'balanceOf',
        args: [account.address],
        blockNumber: deployBlock,
      }),
      SUPPLY,
    );
    // Before deployment there is no code: a past-block read of the token fails.
    await assert.rejects(read(deployBlock - 1n));

    const tx = await publicClient.getTransaction({ hash });
    assert.equal(tx.hash, hash);
    assert.equal(tx.from, account.address.toLowerCase());
    assert.equal(tx.to, token.toLowerCase());
    assert.equal(tx.blockNumber, receipt.blockNumber);
    assert.equal(tx.blockHash, receipt.blockHash);
    assert.equal(tx.chainId, 31337);
    assert.equal(tx.type, 'eip1559');
    assert.ok(tx.input.startsWith('0xa9059cbb'));

    const viaReceipt = await publicClient.getTransactionReceipt({ hash });
    assert.deepEqual(viaReceipt, receipt);
  });

  test('getBlock with transactions', async () => {
    const to = randomAddress();
    const hash = await walletClient.sendTransaction({ to, value: parseEther('0.5') });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    assert.equal(await publicClient.getBalance({ address: to }), parseEther('0.5'));
    assert.equal(await publicClient.getBalance({ address: to, blockNumber: receipt.blockNumber - 1n }), 0n);

    const block = await publicClient.getBlock({ blockNumber: receipt.blockNumber, includeTransactions: true });
    assert.equal(block.number, receipt.blockNumber);
    assert.equal(block.hash, receipt.blockHash);
    const full = block.transactions.find((t) => t.hash === hash);
    assert.ok(full, 'transaction object in block');
    assert.equal(full.to, to.toLowerCase());
    assert.equal(full.value, parseEther('0.5'));
    assert.equal(full.from, account.address.toLowerCase());
    assert.equal(full.blockNumber, block.number);

    const byHash = await publicClient.getBlock({ blockHash: block.hash! });
    assert.equal(byHash.number, block.number);
    assert.ok(byHash.transactions.includes(hash));
    const latest = await publicClient.getBlock();
    assert.ok(latest.number! >= block.number!);
    assert.ok(latest.baseFeePerGas !== null && latest.baseFeePerGas !== undefined);
    assert.equal(latest.gasLimit, DEFAULT_BLOCK_GAS_LIMIT);
  });

  test('simulateContract: custom-error revert → ContractFunctionRevertedError', async () => {
    const err = await publicClient
      .simulateContract({
        account,
        address: registry,
        abi: registryAbi,
        functionName: 'register',
        args: ['alice', 1n],
        value: 3n,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof BaseError, `expected a viem error, got ${String(err)}`);
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    assert.ok(revert instanceof ContractFunctionRevertedError, err.message);
    assert.equal(revert.data?.errorName, 'InsufficientDeposit');
    assert.deepEqual(revert.data?.args, [3n, MIN_DEPOSIT]);
    assert.ok(revert.raw?.startsWith('0x25c3f46e'));

    // NotOwner(caller) from the admin-only function, called by someone else.
    const other = randomAddress();
    const e2 = await publicClient
      .simulateContract({ account: other, address: registry, abi: registryAbi, functionName: 'setMinDeposit', args: [0n] })
      .catch((e: BaseError) => e);
    const r2 = (e2 as BaseError).walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError;
    assert.equal(r2.data?.errorName, 'NotOwner');
    assert.deepEqual(r2.data?.args, [other]);

    // A require string surfaces as `reason`.
    const e3 = await publicClient
      .simulateContract({
        account,
        address: registry,
        abi: registryAbi,
        functionName: 'update',
        args: ['0x' + '11'.repeat(32), 1n],
      })
      .catch((e: BaseError) => e);
    const r3 = (e3 as BaseError).walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError;
    assert.equal(r3.reason, 'Registry: unknown key');
    assert.equal(r3.data?.errorName, 'Error');

    // A successful simulation returns the result and a request writeContract accepts.
    const ok = await publicClient.simulateContract({
      account,
      address: registry,
      abi: registryAbi,
      functionName: 'register',
      args: ['viem', 42n],
      value: MIN_DEPOSIT,
    });
    const key = await publicClient.readContract({ address: registry, abi: registryAbi, functionName: 'keyOf', args: ['viem'] });
    assert.equal(ok.result, key);
    const hash = await walletClient.writeContract(ok.request);
    assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, 'success');
    assert.equal(await publicClient.readContract({ address: registry, abi: registryAbi, functionName: 'count' }), 1n);
    // estimateContractGas hits the require string now that the name is taken.
    const e4 = await publicClient
      .estimateContractGas({ account, address: registry, abi: registryAbi, functionName: 'register', args: ['viem', 1n], value: MIN_DEPOSIT })
      .catch((e: BaseError) => e);
    assert.ok(e4 instanceof BaseError);
    const r4 = e4.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    assert.equal(r4?.reason, 'Registry: name already registered');
  });

  test('estimateGas', async () => {
    const plain = await publicClient.estimateGas({ account, to: randomAddress(), value: 1n });
    assert.equal(plain, 21_000n);
    const gas = await publicClient.estimateContractGas({
      account,
      address: token,
      abi: tokenAbi,
      functionName: 'transfer',
      args: [randomAddress(), 1n],
    });
    assert.ok(gas > 21_000n && gas < 100_000n, `transfer gas ${gas}`);
    // A raw estimate of a reverting call carries the custom error data.
    const data = encodeFunctionData({ abi: registryAbi, functionName: 'register', args: ['x', 1n] });
    const err = await publicClient.estimateGas({ account, to: registry, data, value: 2n }).catch((e: BaseError) => e);
    assert.ok(err instanceof BaseError, `expected a revert, got ${String(err)}`);
    const raw = err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null;
    assert.ok(raw?.data, err.message);
    const decoded = decodeErrorResult({ abi: registryAbi, data: raw.data });
    assert.equal(decoded.errorName, 'InsufficientDeposit');
    assert.deepEqual(decoded.args, [2n, MIN_DEPOSIT]);
  });

  test('getFeeHistory', async () => {
    const latest = await publicClient.getBlockNumber({ cacheTime: 0 });
    const history = await publicClient.getFeeHistory({ blockCount: 4, rewardPercentiles: [25, 75] });
    assert.equal(history.oldestBlock, latest - 3n);
    assert.equal(history.baseFeePerGas.length, 5); // one more than blockCount: the next block's
    assert.equal(history.gasUsedRatio.length, 4);
    assert.equal(history.reward?.length, 4);
    for (const r of history.reward!) assert.equal(r.length, 2);
    for (const ratio of history.gasUsedRatio) assert.ok(ratio >= 0 && ratio <= 1);
    for (const fee of history.baseFeePerGas) assert.ok(fee > 0n);
    const block = await publicClient.getBlock({ blockNumber: latest });
    assert.equal(history.baseFeePerGas[3], block.baseFeePerGas);
    const fees = await publicClient.estimateFeesPerGas();
    assert.ok(fees.maxFeePerGas > 0n);
  });

  test('getLogs / getContractEvents with args filter', async () => {
    const a = randomAddress();
    const b = randomAddress();
    const hashes: Hash[] = [];
    for (const [to, v] of [
      [a, 10n],
      [b, 20n],
      [a, 30n],
    ] as const) {
      const hash = await walletClient.writeContract({ address: token, abi: tokenAbi, functionName: 'transfer', args: [to, v] });
      await publicClient.waitForTransactionReceipt({ hash });
      hashes.push(hash);
    }
    const transferEvent = tokenAbi.find((x) => x.type === 'event' && x.name === 'Transfer');
    assert.ok(transferEvent && transferEvent.type === 'event');

    const logs = await publicClient.getLogs({
      address: token,
      event: transferEvent,
      args: { to: a },
      fromBlock: deployBlock,
      toBlock: 'latest',
    });
    assert.deepEqual(
      logs.map((l) => (l as unknown as { args: { value: bigint } }).args.value),
      [10n, 30n],
    );
    assert.deepEqual(
      logs.map((l) => l.transactionHash),
      [hashes[0], hashes[2]],
    );

    const events = await publicClient.getContractEvents({
      address: token,
      abi: tokenAbi,
      eventName: 'Transfer',
      args: { to: b },
      fromBlock: 0n,
    });
    assert.equal(events.length, 1);
    const ev = events[0] as unknown as { eventName: string; args: { from: Address; to: Address; value: bigint } };
    assert.equal(ev.eventName, 'Transfer');
    assert.equal(ev.args.from, account.address);
    assert.equal(ev.args.to, getAddress(b));
    assert.equal(ev.args.value, 20n);

    // The mint at deployment: from the zero address.
    const mints = await publicClient.getContractEvents({
      address: token,
      abi: tokenAbi,
      eventName: 'Transfer',
      args: { from: '0x0000000000000000000000000000000000000000' },
      fromBlock: 0n,
    });
    assert.equal(mints.length, 1);
    assert.equal((mints[0] as unknown as { args: { value: bigint } }).args.value, SUPPLY);
    assert.equal(mints[0]!.blockNumber, deployBlock);

    // Restricting the block range excludes later transfers.
    const first = await publicClient.getTransactionReceipt({ hash: hashes[0]! });
    const ranged = await publicClient.getContractEvents({
      address: token,
      abi: tokenAbi,
      eventName: 'Transfer',
      args: { to: a },
      fromBlock: first.blockNumber,
      toBlock: first.blockNumber,
    });
    assert.equal(ranged.length, 1);
  });

  async function watchBoth(client: PublicClient<Transport, Chain>, poll: boolean): Promise<void> {
    const to = randomAddress();
    const start = await publicClient.getBlockNumber({ cacheTime: 0 });
    const blocks = collector<bigint>((n) => n > start);
    const logs = collector<{ args: { from: Address; to: Address; value: bigint }; transactionHash: Hash; blockNumber: bigint }>(
      (l) => l.args.to === getAddress(to),
    );
    const errors: Error[] = [];
    const unwatchBlocks = client.watchBlockNumber({
      emitOnBegin: false,
      // webSocket transports subscribe by default; http ones always poll.
      ...(poll ? ({ poll: true, pollingInterval: 100 } as const) : {}),
      onBlockNumber: blocks.push,
      onError: (e) => errors.push(e),
    });
    const unwatchEvents = client.watchContractEvent({
      address: token,
      abi: tokenAbi,
      eventName: 'Transfer',
      ...(poll ? ({ poll: true, pollingInterval: 100 } as const) : {}),
      onLogs: (ls) => ls.forEach((l) => logs.push(l as never)),
      onError: (e) => errors.push(e),
    });
    try {
      // Let the subscription / filter be installed before the transaction.
      await new Promise((r) => setTimeout(r, 400));
      const hash = await walletClient.writeContract({ address: token, abi: tokenAbi, functionName: 'transfer', args: [to, 999n] });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const n = await blocks.done;
      assert.ok(n > start && n <= receipt.blockNumber + 1n, `block ${n}, receipt block ${receipt.blockNumber}`);
      const log = await logs.done;
      assert.equal(log.args.from, account.address);
      assert.equal(log.args.value, 999n);
      assert.equal(log.transactionHash, hash);
      assert.equal(log.blockNumber, receipt.blockNumber);
      assert.deepEqual(errors, []);
    } finally {
      unwatchBlocks();
      unwatchEvents();
    }
  }

  test('watchBlockNumber / watchContractEvent over webSocket (eth_subscribe)', async () => {
    await watchBoth(wsClient, false);
  });

  test('watchBlockNumber / watchContractEvent over http polling (eth_newFilter / eth_getFilterChanges)', async () => {
    const methods = new Set<string>();
    const recording = createPublicClient({
      chain,
      pollingInterval: 100,
      transport: http(node.url, {
        async onFetchRequest(request) {
          const body = (await request.clone().json()) as { method: string } | { method: string }[];
          for (const m of Array.isArray(body) ? body : [body]) methods.add(m.method);
        },
      }),
    });
    await watchBoth(recording, true);
    assert.ok(methods.has('eth_newFilter'), [...methods].join());
    assert.ok(methods.has('eth_getFilterChanges'), [...methods].join());
    assert.ok(methods.has('eth_blockNumber'), [...methods].join());
  });

  test('signMessage through the node account (json-rpc account) and verifyMessage', async () => {
    const nodeWallet = createWalletClient({ chain, transport: http(node.url), account: DEV_ADDRESS_0 as Address });
    assert.equal(nodeWallet.account.type, 'json-rpc');
    const addresses = await nodeWallet.getAddresses();
    assert.equal(addresses.length, 10);
    assert.equal(addresses[0]!.toLowerCase(), DEV_ADDRESS_0);

    const message = 'hello from viem';
    const signature = await nodeWallet.signMessage({ message });
    assert.equal(signature, await account.signMessage({ message }));
    assert.equal(await verifyMessage({ address: account.address, message, signature }), true);
    assert.equal(await verifyMessage({ address: randomAddress(), message, signature }), false);
    // The public action too (it checks on chain for contract accounts, recovers for EOAs).
    assert.equal(await publicClient.verifyMessage({ address: account.address, message, signature }), true);

    // Raw bytes message.
    const raw = await nodeWallet.signMessage({ message: { raw: '0xdeadbeef' } });
    assert.equal(await verifyMessage({ address: account.address, message: { raw: '0xdeadbeef' }, signature: raw }), true);

    // eth_sendTransaction through the node account.
    const to = randomAddress();
    const hash = await nodeWallet.sendTransaction({ to, value: 1234n });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.equal(await publicClient.getBalance({ address: to }), 1234n);
  });
});
