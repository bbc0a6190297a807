// End-to-end: ethers v6 against a real Conclave node (HTTP and WebSocket).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Contract,
  ContractFactory,
  JsonRpcProvider,
  Wallet,
  WebSocketProvider,
  isError,
  parseEther,
  verifyMessage,
  verifyTypedData,
  id as topicId,
  zeroPadValue,
  type ContractTransactionResponse,
  type Log,
} from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, startTestNode, type TestNode } from '../helpers/node.ts';

const token = loadArtifact('ConclaveToken');
const registry = loadArtifact('Registry');
const SUPPLY = parseEther('1000000');
const MIN_DEPOSIT = parseEther('1');

/** Resolves with the first value `register` delivers that passes `pred`, or rejects after `ms`. */
function waitFor<T>(register: (push: (v: T) => void) => void, pred: (v: T) => boolean, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    register((v) => {
      if (pred(v)) {
        clearTimeout(timer);
        resolve(v);
      }
    });
  });
}

describe('ethers v6', () => {
  let node: TestNode;
  let provider: JsonRpcProvider;
  let wallet: Wallet;
  let tokenContract: Contract;
  let tokenAddress: string;
  let registryContract: Contract;
  let registryAddress: string;

  before(async () => {
    node = await startTestNode();
    // No response caching: every call asks the node.
    provider = new JsonRpcProvider(node.url, 31337, { cacheTimeout: -1, staticNetwork: true, pollingInterval: 100 });
    wallet = new Wallet(DEV_KEY_0, provider);

    const tf = new ContractFactory(token.abi, token.bytecode, wallet);
    const t = await tf.deploy('Conclave', 'CNV', SUPPLY);
    await t.waitForDeployment();
    tokenContract = t as unknown as Contract;
    tokenAddress = await t.getAddress();

    const rf = new ContractFactory(registry.abi, registry.bytecode, wallet);
    const r = await rf.deploy(MIN_DEPOSIT);
    await r.waitForDeployment();
    registryContract = r as unknown as Contract;
    registryAddress = await r.getAddress();
  });

  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  test('network and deployment', async () => {
    const net = await provider.getNetwork();
    assert.equal(net.chainId, 31337n);
    assert.notEqual(await provider.getCode(tokenAddress), '0x');
    assert.equal(await tokenContract.getFunction('name')(), 'Conclave');
    assert.equal(await tokenContract.getFunction('symbol')(), 'CNV');
    assert.equal(await tokenContract.getFunction('totalSupply')(), SUPPLY);
    assert.equal(await tokenContract.getFunction('balanceOf')(wallet.address), SUPPLY);
    assert.equal(await registryContract.getFunction('minDeposit')(), MIN_DEPOSIT);
    assert.equal((await registryContract.getFunction('admin')()).toLowerCase(), DEV_ADDRESS_0);
  });

  test('transfer, then balanceOf and getBalance now and at a past block', async () => {
    const to = Wallet.createRandom().address;
    const amount = parseEther('123.5');
    const ethBefore = await provider.getBalance(wallet.address);
    const blockBefore = await provider.getBlockNumber();

    const tx = (await tokenContract.getFunction('transfer')(to, amount)) as ContractTransactionResponse;
    const receipt = await tx.wait();
    assert.ok(receipt);
    assert.equal(receipt.status, 1);
    assert.ok(receipt.blockNumber > blockBefore);
    const transfer = receipt.logs.map((l) => tokenContract.interface.parseLog(l)).find((l) => l?.name === 'Transfer');
    assert.ok(transfer);
    assert.equal(transfer.args[0], wallet.address);
    assert.equal(transfer.args[1], to);
    assert.equal(transfer.args[2], amount);

    const balanceOf = tokenContract.getFunction('balanceOf');
    assert.equal(await balanceOf(to), amount);
    assert.equal(await balanceOf(wallet.address), SUPPLY - amount);
    // Archive reads at the block before the transfer.
    assert.equal(await balanceOf(to, { blockTag: blockBefore }), 0n);
    assert.equal(await balanceOf(wallet.address, { blockTag: blockBefore }), SUPPLY);
    assert.equal(await balanceOf(to, { blockTag: receipt.blockNumber }), amount);

    const ethAfter = await provider.getBalance(wallet.address);
    const fee = receipt.gasUsed * receipt.gasPrice;
    assert.ok(fee > 0n);
    assert.equal(ethAfter, ethBefore - fee);
    assert.equal(await provider.getBalance(wallet.address, blockBefore), ethBefore);
    assert.equal(await provider.getBalance(wallet.address, receipt.blockNumber), ethAfter);
    // At genesis every dev account held exactly 10,000 ETH.
    assert.equal(await provider.getBalance(wallet.address, 0), parseEther('10000'));
  });

  describe('reverts', () => {
    const register = () => registryContract.getFunction('register');

    /** The revert data decodes, through the contract interface, to InsufficientDeposit(sent, MIN_DEPOSIT). */
    function assertInsufficientDepositData(e: unknown, sent: bigint): void {
      assert.ok(isError(e, 'CALL_EXCEPTION'), `expected CALL_EXCEPTION, got ${String(e)}`);
      assert.ok(e.data, `no revert data on ${e.message}`);
      assert.ok(e.data.startsWith(registryContract.interface.getError('InsufficientDeposit')!.selector));
      const parsed = registryContract.interface.parseError(e.data);
      assert.ok(parsed);
      assert.equal(parsed.name, 'InsufficientDeposit');
      assert.equal(parsed.args[0], sent);
      assert.equal(parsed.args[1], MIN_DEPOSIT);
    }

    /** As above, and ethers itself decoded the error (it does so for contract staticCalls). */
    function assertInsufficientDeposit(e: unknown, sent: bigint): void {
      assertInsufficientDepositData(e, sent);
      assert.ok(isError(e, 'CALL_EXCEPTION'));
      assert.ok(e.revert, `no decoded revert on ${e.message}`);
      assert.equal(e.revert.name, 'InsufficientDeposit');
      assert.equal(e.revert.signature, 'InsufficientDeposit(uint256,uint256)');
      assert.deepEqual([...e.revert.args], [sent, MIN_DEPOSIT]);
      assert.match(e.message, /InsufficientDeposit\(uint256,uint256\)/);
    }

    test('custom error via staticCall', async () => {
      await assert.rejects(register().staticCall('alice', 1n, { value: 5n }), (e) => {
        assertInsufficientDeposit(e, 5n);
        return true;
      });
      await assert.rejects(register().staticCall('', 1n, { value: MIN_DEPOSIT }), (e: any) => {
        assert.ok(isError(e, 'CALL_EXCEPTION'));
        assert.equal(e.revert?.name, 'EmptyName');
        assert.deepEqual([...e.revert!.args], []);
        assert.equal(e.data, registryContract.interface.getError('EmptyName')!.selector);
        return true;
      });
      // The admin-only function reverts with NotOwner(caller) for anyone else (a read-only
      // contract instance, so ethers lets `from` differ from the wallet).
      const other = Wallet.createRandom().address;
      const readOnly = registryContract.connect(provider) as Contract;
      await assert.rejects(readOnly.getFunction('setMinDeposit').staticCall(0n, { from: other }), (e: any) => {
        assert.ok(isError(e, 'CALL_EXCEPTION'));
        assert.equal(e.revert?.name, 'NotOwner');
        assert.equal(e.revert!.args[0], other);
        return true;
      });
    });

    test('custom error via estimateGas', async () => {
      // ethers does not decode estimateGas errors itself: parse the data with the interface.
      await assert.rejects(register().estimateGas('alice', 1n, { value: 7n }), (e: any) => {
        assertInsufficientDepositData(e, 7n);
        assert.equal(e.info?.error?.code, 3);
        return true;
      });
    });

    test('custom error via a sent transaction (ethers estimates first)', async () => {
      await assert.rejects(register().send('alice', 1n, { value: 9n }), (e: any) => {
        assertInsufficientDepositData(e, 9n);
        return true;
      });
    });

    test('a reverting transaction: the send answers its revert data (Hardhat\'s semantics), it is mined with status 0, replaying it decodes the error', async () => {
      const nonce = await provider.getTransactionCount(wallet.address);
      // ethers turns a send's error into UNKNOWN_ERROR; the node's answer is inside, as from Hardhat's node.
      await assert.rejects(register().send('alice', 1n, { value: 11n, gasLimit: 200_000n }), (e: any) => {
        assert.ok(isError(e, 'UNKNOWN_ERROR'));
        const answer = e.error as unknown as { code: number; data: string };
        assert.equal(answer.code, 3);
        const parsed = registryContract.interface.parseError(answer.data);
        assert.equal(parsed?.name, 'InsufficientDeposit');
        return true;
      });
      const latest = await provider.getBlock('latest');
      const tx = await provider.getTransaction(latest!.transactions.at(-1)!);
      assert.equal(tx?.nonce, nonce);
      assert.equal(tx?.from, wallet.address);
      const receipt = await provider.getTransactionReceipt(tx!.hash);
      assert.equal(receipt?.status, 0);
      assert.ok(receipt!.gasUsed > 21_000n && receipt!.gasUsed < 200_000n);
      assert.equal(receipt!.logs.length, 0);
      assert.equal(await provider.getTransactionCount(wallet.address), nonce + 1);
      // Replay the same call on the parent state to recover the revert data.
      await assert.rejects(
        provider.call({ from: tx!.from, to: tx!.to, data: tx!.data, value: tx!.value, blockTag: receipt!.blockNumber - 1 }),
        (e: any) => {
          assert.ok(isError(e, 'CALL_EXCEPTION'));
          assert.ok(e.data);
          const parsed = registryContract.interface.parseError(e.data);
          assert.equal(parsed?.name, 'InsufficientDeposit');
          assert.equal(parsed?.args[0], 11n);
          return true;
        },
      );
    });

    test('require-string revert gives the reason', async () => {
      const key = await registryContract.getFunction('keyOf')('nobody');
      await assert.rejects(registryContract.getFunction('update').staticCall(key, 1n), (e: any) => {
        assert.ok(isError(e, 'CALL_EXCEPTION'));
        assert.equal(e.reason, 'Registry: unknown key');
        assert.equal(e.revert?.name, 'Error');
        assert.deepEqual([...e.revert!.args], ['Registry: unknown key']);
        return true;
      });
      // Register once, then a second registration of the same name hits the require.
      const ok = (await register()('dup', 1n, { value: MIN_DEPOSIT })) as ContractTransactionResponse;
      assert.equal((await ok.wait())?.status, 1);
      await assert.rejects(register().estimateGas('dup', 2n, { value: MIN_DEPOSIT }), (e: any) => {
        assert.ok(isError(e, 'CALL_EXCEPTION'));
        assert.equal(e.reason, 'Registry: name already registered');
        return true;
      });
    });
  });

  test('logs by filter (address + topic, block range) and queryFilter', async () => {
    const a = Wallet.createRandom().address;
    const b = Wallet.createRandom().address;
    const transfer = tokenContract.getFunction('transfer');
    const r1 = await ((await transfer(a, 1000n)) as ContractTransactionResponse).wait();
    const r2 = await ((await transfer(b, 2000n)) as ContractTransactionResponse).wait();
    const r3 = await ((await transfer(a, 3000n)) as ContractTransactionResponse).wait();
    assert.ok(r1 && r2 && r3);
    assert.ok(r1.blockNumber < r2.blockNumber && r2.blockNumber < r3.blockNumber);

    const transferTopic = topicId('Transfer(address,address,uint256)');
    const logs = await provider.getLogs({
      address: tokenAddress,
      topics: [transferTopic, null, zeroPadValue(a, 32)],
      fromBlock: r1.blockNumber,
      toBlock: r3.blockNumber,
    });
    assert.deepEqual(
      logs.map((l) => BigInt(l.data)),
      [1000n, 3000n],
    );
    for (const l of logs) {
      assert.equal(l.address, tokenAddress);
      assert.equal(l.topics[0], transferTopic);
    }
    assert.deepEqual(
      logs.map((l) => l.transactionHash),
      [r1.hash, r3.hash],
    );
    // Narrow block range excludes the third transfer.
    const narrow = await provider.getLogs({
      address: tokenAddress,
      topics: [transferTopic, null, zeroPadValue(a, 32)],
      fromBlock: r1.blockNumber,
      toBlock: r2.blockNumber,
    });
    assert.equal(narrow.length, 1);
    assert.equal(narrow[0]!.blockNumber, r1.blockNumber);
    // A different address matches nothing.
    assert.equal((await provider.getLogs({ address: registryAddress, topics: [transferTopic], fromBlock: 0 })).length, 0);

    const events = await tokenContract.queryFilter(tokenContract.filters.Transfer!(null, b), 0, 'latest');
    assert.equal(events.length, 1);
    const ev = events[0]! as Log & { args?: unknown[] };
    assert.ok('args' in ev && ev.args);
    assert.equal(ev.args[0], wallet.address);
    assert.equal(ev.args[1], b);
    assert.equal(ev.args[2], 2000n);
    assert.equal(ev.blockNumber, r2.blockNumber);
    // Mint event at deployment: Transfer from the zero address.
    const mints = await tokenContract.queryFilter(tokenContract.filters.Transfer!('0x0000000000000000000000000000000000000000'));
    assert.equal(mints.length, 1);
    assert.equal((mints[0] as any).args[2], SUPPLY);
  });

  test('WebSocketProvider: block events and contract events', async () => {
    const ws = new WebSocketProvider(node.wsUrl, 31337, { staticNetwork: true });
    try {
      assert.equal((await ws.getNetwork()).chainId, 31337n);
      const wsToken = new Contract(tokenAddress, token.abi, ws);
      const to = Wallet.createRandom().address;
      const start = await ws.getBlockNumber();

      const blockSeen = waitFor<number>((push) => void ws.on('block', push), (n) => n > start);
      const transferSeen = waitFor<[string, string, bigint, any]>(
        (push) => void wsToken.on('Transfer', (from, t, value, ev) => push([from, t, value, ev])),
        ([, t]) => t === to,
      );
      // Let the subscriptions reach the node before the transaction is sent.
      await new Promise((r) => setTimeout(r, 300));
      const tx = (await tokenContract.getFunction('transfer')(to, 777n)) as ContractTransactionResponse;
      const receipt = await tx.wait();
      assert.ok(receipt);

      const n = await blockSeen;
      assert.equal(typeof n, 'number');
      assert.ok(n > start && n <= receipt.blockNumber, `block ${n} vs receipt ${receipt.blockNumber}`);
      const [from, t, value, ev] = await transferSeen;
      assert.equal(from, wallet.address);
      assert.equal(t, to);
      assert.equal(value, 777n);
      assert.equal(ev.log.transactionHash, tx.hash);
      assert.equal(ev.log.blockNumber, receipt.blockNumber);
    } finally {
      // Unsubscribing sends eth_unsubscribe without awaiting it: let those answers arrive
      // before the socket closes, or ethers rejects them as cancelled.
      await ws.removeAllListeners();
      await new Promise((r) => setTimeout(r, 300));
      await ws.destroy();
    }
  });

  test('nonce too low gives NONCE_EXPIRED', async () => {
    const nonce = await provider.getTransactionCount(wallet.address);
    assert.ok(nonce > 0);
    await assert.rejects(
      wallet.sendTransaction({ to: Wallet.createRandom().address, value: 1n, nonce: nonce - 1, gasLimit: 21_000n }),
      (e: any) => {
        assert.ok(isError(e, 'NONCE_EXPIRED'), `got ${e.code}: ${e.message}`);
        return true;
      },
    );
    assert.equal(await provider.getTransactionCount(wallet.address), nonce);
  });

  test('insufficient funds gives INSUFFICIENT_FUNDS', async () => {
    const poor = Wallet.createRandom().connect(provider);
    assert.equal(await provider.getBalance(poor.address), 0n);
    await assert.rejects(
      poor.sendTransaction({ to: wallet.address, value: 1n, gasLimit: 21_000n }),
      (e: any) => {
        assert.ok(isError(e, 'INSUFFICIENT_FUNDS'), `got ${e.code}: ${e.message}`);
        return true;
      },
    );
    // More value than the rich account holds.
    const balance = await provider.getBalance(wallet.address);
    await assert.rejects(
      wallet.sendTransaction({ to: poor.address, value: balance + 1n, gasLimit: 21_000n }),
      (e: any) => {
        assert.ok(isError(e, 'INSUFFICIENT_FUNDS'), `got ${e.code}: ${e.message}`);
        return true;
      },
    );
  });

  test('JsonRpcSigner: eth_sendTransaction, signMessage, signTypedData', async () => {
    const signer = await provider.getSigner(0);
    assert.equal(signer.address.toLowerCase(), DEV_ADDRESS_0);
    const accounts = await provider.listAccounts();
    assert.equal(accounts.length, 10);

    const to = Wallet.createRandom().address;
    const tx = await signer.sendTransaction({ to, value: parseEther('0.25') });
    const receipt = await tx.wait();
    assert.equal(receipt?.status, 1);
    assert.equal(receipt?.from.toLowerCase(), DEV_ADDRESS_0);
    assert.equal(await provider.getBalance(to), parseEther('0.25'));

    // A contract call through the node's account.
    const viaNode = new Contract(tokenAddress, token.abi, signer);
    const r2 = await ((await viaNode.getFunction('transfer')(to, 42n)) as ContractTransactionResponse).wait();
    assert.equal(r2?.status, 1);
    assert.equal(await viaNode.getFunction('balanceOf')(to), 42n);

    const message = 'hello from Conclave';
    const sig = await signer.signMessage(message);
    assert.equal(verifyMessage(message, sig).toLowerCase(), DEV_ADDRESS_0);
    assert.equal(sig, await wallet.signMessage(message));

    const domain = { name: 'Conclave', version: '1', chainId: 31337, verifyingContract: registryAddress };
    const types = {
      Person: [
        { name: 'name', type: 'string' },
        { name: 'wallet', type: 'address' },
      ],
      Mail: [
        { name: 'from', type: 'Person' },
        { name: 'to', type: 'Person' },
        { name: 'contents', type: 'string' },
        { name: 'amount', type: 'uint256' },
      ],
    };
    const value = {
      from: { name: 'Alice', wallet: DEV_ADDRESS_0 },
      to: { name: 'Bob', wallet: to },
      contents: 'Hello, Bob!',
      amount: 12345n,
    };
    const typedSig = await signer.signTypedData(domain, types, value);
    assert.equal(verifyTypedData(domain, types, value, typedSig).toLowerCase(), DEV_ADDRESS_0);
    assert.equal(typedSig, await wallet.signTypedData(domain, types, value));
  });
});
