/**
 * Answers a newcomer's first day with cast, ethers and viem relies on, as geth and Anvil
 * give them: eth_feeHistory with a JSON-number blockCount and Prague's 1-wei minimum
 * blob base fee, eth_call / eth_estimateGas refusing a value the sender cannot pay, and
 * revert messages that name a custom error's selector while keeping the revert data,
 * and eth_sendTransaction from an address without a key refused as an unknown account.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Interface, Wallet, getAddress } from 'ethers';
import { DEV_ADDRESS_0, DEV_KEY_1, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

const DEV_ADDRESS_1 = new Wallet(DEV_KEY_1).address.toLowerCase();

let node: TestNode;

before(async () => {
  node = await startTestNode();
  // A few blocks for the fee history to span.
  for (let i = 0; i < 3; i++) {
    const hash = await ok('eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, value: '0x1' }]);
    for (const deadline = Date.now() + 20_000; !(await ok('eth_getTransactionReceipt', [hash])); ) {
      assert.ok(Date.now() < deadline, `no receipt for ${hash}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  }
});

after(async () => {
  await node?.stop();
});

async function ok(method: string, params: unknown[]): Promise<any> {
  const res = await rpc(node.url, method, params);
  assert.equal(res.error, undefined, `${method} failed: ${JSON.stringify(res.error)}`);
  return res.result;
}

async function fails(method: string, params: unknown[]): Promise<{ code: number; message: string; data?: unknown }> {
  const res = await rpc(node.url, method, params);
  assert.ok(res.error, `${method} should fail but answered ${JSON.stringify(res.result)}`);
  return res.error;
}

/** Creation code that reverts with `data` (at most 255 bytes): copies it from its own code, then REVERT. */
function revertingWith(data: string): string {
  const bytes = data.slice(2);
  const length = bytes.length / 2;
  // PUSH1 len, DUP1, PUSH1 9, PUSH0, CODECOPY (to memory 0), PUSH0, REVERT (memory 0, len)
  return '0x60' + length.toString(16).padStart(2, '0') + '8060095f395ffd' + bytes;
}

test('eth_feeHistory takes blockCount as a JSON number, as cast sends it', async () => {
  const asNumber = await ok('eth_feeHistory', [2, 'latest', [25, 75]]);
  const asHex = await ok('eth_feeHistory', ['0x2', 'latest', [25, 75]]);
  assert.deepEqual(asNumber, asHex);
  assert.equal(asNumber.baseFeePerGas.length, 3);
  for (const bad of [-1, 1.5, 2 ** 60]) {
    const err = await fails('eth_feeHistory', [bad, 'latest', []]);
    assert.equal(err.code, -32602);
    assert.match(err.message, /^invalid argument 0 \(blockCount\)/);
  }
});

test('eth_feeHistory: baseFeePerBlobGas is at least 1 wei (Prague), for each block and the next', async () => {
  const history = await ok('eth_feeHistory', ['0x3', 'latest', []]);
  assert.deepEqual(history.baseFeePerBlobGas, ['0x1', '0x1', '0x1', '0x1']);
  assert.deepEqual(history.blobGasUsedRatio, [0, 0, 0]);
});

test('eth_call and eth_estimateGas with a value the sender cannot pay: insufficient funds, -32000, as geth', async () => {
  const poor = Wallet.createRandom().address;
  const transfer = { from: poor.toLowerCase(), to: DEV_ADDRESS_1, value: '0x5' };
  for (const method of ['eth_call', 'eth_estimateGas']) {
    const err = await fails(method, [transfer, 'latest']);
    assert.deepEqual(err, { code: -32000, message: `insufficient funds for gas * price + value: address ${getAddress(poor)} have 0 want 5` });
  }

  // A dev account's whole balance plus one wei.
  const balance = BigInt(await ok('eth_getBalance', [DEV_ADDRESS_0, 'latest']));
  const tooMuch = { from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, value: '0x' + (balance + 1n).toString(16) };
  const err = await fails('eth_call', [tooMuch, 'latest']);
  assert.equal(err.code, -32000);
  assert.equal(err.message, `insufficient funds for gas * price + value: address ${getAddress(DEV_ADDRESS_0)} have ${balance} want ${balance + 1n}`);

  // With a fee cap, geth's estimator refuses a value the balance cannot cover before running anything.
  const gasPrice = await ok('eth_gasPrice', []);
  const priced = await fails('eth_estimateGas', [{ ...tooMuch, maxFeePerGas: gasPrice }, 'latest']);
  assert.deepEqual(priced, { code: -32000, message: 'insufficient funds for transfer' });

  // A value the sender can pay runs as before.
  assert.equal(await ok('eth_call', [{ from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, value: '0x5' }, 'latest']), '0x');
  assert.equal(await ok('eth_estimateGas', [{ from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, value: '0x5', maxFeePerGas: gasPrice }, 'latest']), '0x5208');
});

test('revert messages: a custom error names its selector and data as Anvil; Error(string) and a bare revert as geth', async () => {
  const iface = new Interface(['error Unauthorized(address who, uint256 amount)', 'error Empty()']);
  const custom = iface.encodeErrorResult('Unauthorized', [DEV_ADDRESS_1, 7n]).toLowerCase();
  const empty = iface.encodeErrorResult('Empty', []).toLowerCase();
  const reason = iface.encodeErrorResult('Error', ['not allowed']).toLowerCase();
  const cases = [
    { data: custom, message: `execution reverted: custom error ${custom.slice(0, 10)}: ${custom.slice(10)}` },
    { data: empty, message: `execution reverted: custom error ${empty}` },
    { data: reason, message: 'execution reverted: not allowed' },
    { data: '0x', message: 'execution reverted' },
  ];
  for (const c of cases) {
    for (const method of ['eth_call', 'eth_estimateGas']) {
      const err = await fails(method, [{ from: DEV_ADDRESS_0, data: revertingWith(c.data) }, 'latest']);
      assert.deepEqual(err, { code: 3, message: c.message, data: c.data }, `${method} ${c.data}`);
    }
  }
  // The data still decodes to the error and its arguments.
  const parsed = iface.parseError(custom);
  assert.equal(parsed?.name, 'Unauthorized');
  assert.deepEqual([parsed!.args[0].toLowerCase(), parsed!.args[1]], [DEV_ADDRESS_1, 7n]);
});

test('eth_sendTransaction from an address the node holds no key for: "unknown account", before any call runs', async () => {
  const stranger = Wallet.createRandom().address;
  // A creation that would revert: the key check comes first, so the answer is not its revert.
  const err = await fails('eth_sendTransaction', [{ from: stranger, data: revertingWith('0x08c379a0') }]);
  assert.equal(err.code, -32000);
  assert.match(err.message, new RegExp(`^unknown account ${stranger.toLowerCase()}`, 'i'));
});

test('a fee-bumped replacement replaces a waiting transaction; a bump under 10% is refused (geth)', async () => {
  const wallet = new Wallet(DEV_KEY_1);
  const to = Wallet.createRandom().address.toLowerCase();
  const nonce = Number(await ok('eth_getTransactionCount', [DEV_ADDRESS_1, 'pending']));
  const signed = (value: bigint, maxFeePerGas: bigint, maxPriorityFeePerGas: bigint) =>
    wallet.signTransaction({ type: 2, chainId: 31337, nonce, to, value, gasLimit: 21_000n, maxFeePerGas, maxPriorityFeePerGas });
  const GWEI = 10n ** 9n;
  assert.equal(await ok('evm_setAutomine', [false]), true);
  try {
    // Waiting on the ordering log (no block yet): speed it up, then try too small a bump.
    const first = await ok('eth_sendRawTransaction', [await signed(1n, 20n * GWEI, GWEI)]);
    const bumped = await ok('eth_sendRawTransaction', [await signed(2n, 22n * GWEI, (11n * GWEI) / 10n)]);
    const small = await fails('eth_sendRawTransaction', [await signed(3n, 23n * GWEI, (12n * GWEI) / 10n)]);
    assert.equal(small.code, -32000);
    assert.match(small.message, /^replacement transaction underpriced: replacing pending nonce \d+ .* at least 10% more/);
    assert.equal(await ok('eth_getTransactionByHash', [first]), null, 'the replaced one is gone from the pool');
    assert.equal((await ok('eth_getTransactionByHash', [bumped])).hash, bumped);
    assert.equal(await ok('evm_mine', []), '0x0');
    const block = await ok('eth_getBlockByNumber', ['latest', false]);
    assert.deepEqual(block.transactions, [bumped], 'only the replacement is mined');
    assert.equal((await ok('eth_getTransactionReceipt', [bumped])).status, '0x1');
    assert.equal(await ok('eth_getTransactionReceipt', [first]), null);
    assert.equal(BigInt(await ok('eth_getBalance', [to, 'latest'])), 2n);
  } finally {
    await ok('evm_setAutomine', [true]);
  }
});
