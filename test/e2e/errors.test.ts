/**
 * JSON-RPC error behaviour of a real node over HTTP (raw fetch, no client library):
 * transport errors (-32700, -32600, -32601), parameter errors (-32602, naming the
 * parameter), reverts (code 3 with the revert data), transaction admission errors with
 * geth's messages (-32000), unsupported transaction types and methods, CORS headers,
 * and a server that keeps serving after all of it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ContractFactory, Interface, Wallet, encodeRlp, keccak256, toUtf8Bytes, type TransactionRequest } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, DEV_KEY_1, rpc, startTestNode, type TestNode } from '../helpers/node.ts';

const CHAIN_ID = 31337n;
const MIN_DEPOSIT = 1000n;
const registry = loadArtifact('Registry');
const iface = new Interface(registry.abi as never);
const wallet0 = new Wallet(DEV_KEY_0);
const DEV_ADDRESS_1 = new Wallet(DEV_KEY_1).address.toLowerCase();

let node: TestNode;
let registryAddress: string;
let gasPrice: bigint;

interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function post(body: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text === '' ? undefined : JSON.parse(text) };
}

async function call(method: string, params: unknown[] = []): Promise<any> {
  const res = await rpc(node.url, method, params);
  assert.equal(res.error, undefined, `${method} failed: ${JSON.stringify(res.error)}`);
  return res.result;
}

/** Asserts a JSON-RPC error with `code` and returns it. */
async function expectError(method: string, params: unknown[], code: number, message?: RegExp | string): Promise<{ code: number; message: string; data?: unknown }> {
  const res = await rpc(node.url, method, params);
  assert.ok(res.error, `${method} should fail but answered ${JSON.stringify(res.result)}`);
  assert.equal(res.error.code, code, `${method}: ${JSON.stringify(res.error)}`);
  if (typeof message === 'string') assert.equal(res.error.message, message);
  else if (message) assert.match(res.error.message, message);
  return res.error;
}

async function receiptOf(hash: string): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await call('eth_getTransactionReceipt', [hash]);
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no receipt for ${hash}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

async function nextNonce(address: string): Promise<number> {
  return Number(BigInt(await call('eth_getTransactionCount', [address, 'pending'])));
}

function fees(): Pick<TransactionRequest, 'maxFeePerGas' | 'maxPriorityFeePerGas'> {
  return { maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1_000_000_000n };
}

before(async () => {
  node = await startTestNode();
  gasPrice = BigInt(await call('eth_gasPrice'));
  const { data } = await new ContractFactory(registry.abi as never, registry.bytecode).getDeployTransaction(MIN_DEPOSIT);
  const hash = await call('eth_sendTransaction', [{ from: DEV_ADDRESS_0, data }]);
  const receipt = await receiptOf(hash);
  assert.equal(receipt.status, '0x1');
  registryAddress = receipt.contractAddress;
});

after(async () => {
  await node?.stop();
});

test('invalid JSON: -32700 with id null', async () => {
  for (const body of ['{"jsonrpc":"2.0","id":1,"method":', 'not json at all', '{"a":1,}']) {
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.equal(res.json.jsonrpc, '2.0');
    assert.equal(res.json.id, null);
    assert.equal(res.json.error.code, -32700);
  }
});

test('empty batch: -32600', async () => {
  const res = await post('[]');
  assert.equal(Array.isArray(res.json), false, 'a single error object, not an array');
  assert.equal(res.json.id, null);
  assert.equal(res.json.error.code, -32600);
});

test('a batch mixing valid, invalid and unknown requests answers each, in order', async () => {
  const batch = [
    { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] },
    { jsonrpc: '2.0', id: 2, method: 'eth_nope', params: [] },
    { jsonrpc: '2.0', id: 3, method: 7 },
    42,
    { jsonrpc: '2.0', id: 'five', method: 'eth_getBalance', params: ['0x1234'] },
    { jsonrpc: '2.0', method: 'eth_blockNumber', params: [] }, // a notification: no answer
    { jsonrpc: '1.0', id: 6, method: 'eth_chainId' },
    { jsonrpc: '2.0', id: 7, method: 'net_version' },
  ];
  const res = await post(JSON.stringify(batch));
  assert.equal(res.status, 200);
  assert.ok(Array.isArray(res.json));
  const answers = res.json as any[];
  assert.equal(answers.length, 7);
  assert.deepEqual(answers[0], { jsonrpc: '2.0', id: 1, result: '0x7a69' });
  assert.equal(answers[1].id, 2);
  assert.equal(answers[1].error.code, -32601);
  assert.equal(answers[2].id, 3);
  assert.equal(answers[2].error.code, -32600);
  assert.equal(answers[3].id, null);
  assert.equal(answers[3].error.code, -32600);
  assert.equal(answers[4].id, 'five');
  assert.equal(answers[4].error.code, -32602);
  assert.equal(answers[5].id, 6);
  assert.equal(answers[5].error.code, -32600);
  assert.deepEqual(answers[6], { jsonrpc: '2.0', id: 7, result: '31337' });
});

test('unknown method: -32601 naming the method', async () => {
  await expectError('eth_doesNotExist', [], -32601, /eth_doesNotExist/);
  // Names that exist on Object.prototype are unknown methods too.
  await expectError('constructor', [], -32601);
  await expectError('__proto__', [], -32601);
});

test('bad params: -32602 naming the parameter', async () => {
  const bad = await expectError('eth_getBalance', ['0x1234', 'latest'], -32602);
  assert.match(bad.message, /argument 0/);
  assert.match(bad.message, /address/);
  const tag = await expectError('eth_getBalance', [DEV_ADDRESS_0, 'newest'], -32602);
  assert.match(tag.message, /argument 1 \(block\)/);
  // Missing required params.
  const missing = await expectError('eth_getBalance', [], -32602);
  assert.match(missing.message, /missing value for required argument 0/);
  await expectError('eth_getTransactionReceipt', [], -32602, /argument 0/);
  await expectError('eth_call', [], -32602, /argument 0/);
  await expectError('eth_getBlockByNumber', [], -32602, /argument 0/);
  // Wrong type and shape.
  await expectError('eth_getBlockByNumber', ['latest', 'yes'], -32602, /argument 1/);
  await expectError('eth_getTransactionByHash', ['0x1234'], -32602, /argument 0/);
  await expectError('eth_call', [{ to: registryAddress, data: '0x1' }], -32602, /data/);
  await expectError('eth_getLogs', [{ blockHash: '0x' + '00'.repeat(32), fromBlock: '0x0' }], -32602);
  // params that are not an array
  const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'eth_getBalance', params: { address: DEV_ADDRESS_0 } }));
  assert.equal(res.json.id, 9);
  assert.equal(res.json.error.code, -32602);
});

test('eth_call and eth_estimateGas of a custom-error revert: code 3 naming the selector, with the error encoding', async () => {
  const cases: { name: string; from: string; data: string; value?: bigint; error: string; args: unknown[] }[] = [
    { name: 'EmptyName', from: DEV_ADDRESS_0, data: iface.encodeFunctionData('register', ['', 1n]), value: MIN_DEPOSIT, error: 'EmptyName', args: [] },
    {
      name: 'InsufficientDeposit',
      from: DEV_ADDRESS_0,
      data: iface.encodeFunctionData('register', ['alice', 1n]),
      value: 7n,
      error: 'InsufficientDeposit',
      args: [7n, MIN_DEPOSIT],
    },
    { name: 'NotOwner', from: DEV_ADDRESS_1, data: iface.encodeFunctionData('setMinDeposit', [5n]), error: 'NotOwner', args: [DEV_ADDRESS_1] },
  ];
  for (const c of cases) {
    const expected = iface.encodeErrorResult(c.error, c.args).toLowerCase();
    const tx = { from: c.from, to: registryAddress, data: c.data, ...(c.value !== undefined ? { value: '0x' + c.value.toString(16) } : {}) };
    for (const method of ['eth_call', 'eth_estimateGas']) {
      const err = await expectError(method, [tx, 'latest'], 3);
      // As Anvil names an error it has no ABI for: the selector, then the ABI-encoded arguments.
      const args = expected.slice(10);
      assert.equal(err.message, `execution reverted: custom error ${expected.slice(0, 10)}${args ? ': ' + args : ''}`, `${method} ${c.name}`);
      assert.equal(err.data, expected, `${method} ${c.name}: data is the custom error's encoding`);
      const parsed = iface.parseError(err.data as string);
      assert.equal(parsed?.name, c.error);
      assert.deepEqual([...parsed!.args].map((a) => (typeof a === 'string' ? a.toLowerCase() : a)), c.args);
    }
  }
});

test('a require-string revert: "execution reverted: <reason>" with Error(string) data', async () => {
  const key = keccak256(toUtf8Bytes('nobody'));
  const tx = { from: DEV_ADDRESS_0, to: registryAddress, data: iface.encodeFunctionData('update', [key, 1n]) };
  const expected = iface.encodeErrorResult('Error', ['Registry: unknown key']).toLowerCase();
  for (const method of ['eth_call', 'eth_estimateGas']) {
    const err = await expectError(method, [tx], 3, 'execution reverted: Registry: unknown key');
    assert.equal(err.data, expected);
  }
});

test('eth_sendRawTransaction admission errors: geth messages with code -32000', async () => {
  const nonce = await nextNonce(DEV_ADDRESS_0);
  assert.ok(nonce >= 1);
  const transfer = { type: 2, chainId: CHAIN_ID, to: DEV_ADDRESS_1, value: 1n, gasLimit: 21_000n, ...fees() } as const;

  // nonce too low
  await expectError('eth_sendRawTransaction', [await wallet0.signTransaction({ ...transfer, nonce: 0 })], -32000, /^nonce too low/);

  // insufficient funds: an account that holds nothing
  const poor = Wallet.createRandom();
  const err = await expectError(
    'eth_sendRawTransaction',
    [await poor.signTransaction({ ...transfer, nonce: 0 })],
    -32000,
    /^insufficient funds for gas \* price \+ value/,
  );
  assert.match(err.message, new RegExp(poor.address.toLowerCase()));

  // intrinsic gas too low
  await expectError('eth_sendRawTransaction', [await wallet0.signTransaction({ ...transfer, nonce, gasLimit: 20_000n })], -32000, /^intrinsic gas too low/);

  // max fee per gas less than block base fee
  await expectError(
    'eth_sendRawTransaction',
    [await wallet0.signTransaction({ ...transfer, nonce, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n })],
    -32000,
    /^max fee per gas less than block base fee/,
  );
  // the same with a legacy gas price
  await expectError(
    'eth_sendRawTransaction',
    [await wallet0.signTransaction({ type: 0, chainId: CHAIN_ID, to: DEV_ADDRESS_1, nonce, gasLimit: 21_000n, gasPrice: 1n })],
    -32000,
    /^max fee per gas less than block base fee/,
  );

  // exceeds block gas limit
  const blockGasLimit = BigInt((await call('eth_getBlockByNumber', ['latest', false])).gasLimit);
  await expectError(
    'eth_sendRawTransaction',
    [await wallet0.signTransaction({ ...transfer, nonce, gasLimit: blockGasLimit + 1n })],
    -32000,
    'exceeds block gas limit',
  );

  // invalid chain id: signed for chain 1 (typed and legacy EIP-155)
  await expectError('eth_sendRawTransaction', [await wallet0.signTransaction({ ...transfer, nonce, chainId: 1n })], -32000, /^invalid chain id for signer/);
  await expectError(
    'eth_sendRawTransaction',
    [await wallet0.signTransaction({ type: 0, chainId: 1n, to: DEV_ADDRESS_1, nonce, gasLimit: 21_000n, gasPrice: gasPrice * 2n })],
    -32000,
    /^invalid chain id for signer/,
  );
  await expectError(
    'eth_sendRawTransaction',
    [await wallet0.signTransaction({ type: 1, chainId: 1n, to: DEV_ADDRESS_1, nonce, gasLimit: 21_000n, gasPrice: gasPrice * 2n })],
    -32000,
    /^invalid chain id for signer/,
  );

  // The same bytes twice: "already known" while pending; once mined, "nonce too low" (as geth)
  const raw = await wallet0.signTransaction({ ...transfer, nonce });
  const hash = await call('eth_sendRawTransaction', [raw]);
  assert.equal(hash, keccak256(raw));
  // It may already be mined by the time the second copy arrives.
  await expectError('eth_sendRawTransaction', [raw], -32000, /^(already known|nonce too low)/);
  await receiptOf(hash);
  await expectError('eth_sendRawTransaction', [raw], -32000, /^nonce too low/);

  // None of the refused transactions changed anything: the nonce moved by one.
  assert.equal(await nextNonce(DEV_ADDRESS_0), nonce + 1);
});

test('type 3 (blob) and type 4 (set-code) transactions: "transaction type not supported"', async () => {
  // Enough structure to be recognisable: the type byte, then an RLP list.
  const blob = '0x03' + encodeRlp([['0x7a69', '0x', '0x01', '0x02', '0x5208', DEV_ADDRESS_1, '0x', '0x', [], '0x01', [], '0x', '0x01', '0x01']]).slice(2);
  const setCode = '0x04' + encodeRlp(['0x7a69', '0x', '0x01', '0x02', '0x5208', DEV_ADDRESS_1, '0x', '0x', [], [], '0x', '0x01', '0x01']).slice(2);
  const b = await expectError('eth_sendRawTransaction', [blob], -32000, /^transaction type not supported/);
  assert.match(b.message, /type 3/);
  const s = await expectError('eth_sendRawTransaction', [setCode], -32000, /^transaction type not supported/);
  assert.match(s.message, /type 4/);
  // Types beyond 4 as well.
  await expectError('eth_sendRawTransaction', ['0x05c0'], -32000, /^transaction type not supported/);
  // eth_sendTransaction with a type the node does not sign.
  await expectError('eth_sendTransaction', [{ from: DEV_ADDRESS_0, to: DEV_ADDRESS_1, type: '0x4' }], -32000, /transaction type not supported/);
});

test('garbage bytes: a clear error, not an internal one', async () => {
  for (const raw of ['0xdeadbeef', '0x02deadbeef', '0xc0', '0x01', '0x' + 'ff'.repeat(100)]) {
    const err = await expectError('eth_sendRawTransaction', [raw], -32000);
    assert.match(err.message, /^invalid transaction/, `${raw}: ${err.message}`);
  }
  const empty = await expectError('eth_sendRawTransaction', ['0x'], -32602);
  assert.match(empty.message, /argument 0 \(transaction\)/);
  assert.doesNotMatch(empty.message, /malformed message/);
  await expectError('eth_sendRawTransaction', ['0xabc'], -32602, /argument 0 \(transaction\)/);
  await expectError('eth_sendRawTransaction', ['deadbeef'], -32602, /argument 0 \(transaction\)/);
  await expectError('eth_sendRawTransaction', [], -32602, /missing value for required argument 0/);
});

test('unsupported methods: -32004', async () => {
  for (const method of ['eth_getProof', 'eth_createAccessList', 'eth_simulateV1', 'eth_signTransaction', 'eth_blobBaseFee']) {
    await expectError(method, [], -32004, new RegExp(method));
  }
  // Subscriptions need a WebSocket.
  await expectError('eth_subscribe', ['newHeads'], -32004);
});

test('CORS headers on every response, and the preflight', async () => {
  const ok = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }), { origin: 'https://example.org' });
  assert.equal(ok.headers.get('access-control-allow-origin'), '*');
  const bad = await post('nope', { origin: 'https://example.org' });
  assert.equal(bad.json.error.code, -32700);
  assert.equal(bad.headers.get('access-control-allow-origin'), '*');
  const err = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getProof' }));
  assert.equal(err.headers.get('access-control-allow-origin'), '*');

  const preflight = await fetch(node.url, {
    method: 'OPTIONS',
    headers: { origin: 'https://example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.ok(preflight.status === 204 || preflight.status === 200, `preflight status ${preflight.status}`);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/i);
});

test('the node keeps serving after all of the above', async () => {
  const n = BigInt(await call('eth_blockNumber'));
  assert.ok(n >= 2n);
  assert.equal(await call('eth_chainId'), '0x7a69');
  // And still accepts a good transaction.
  const nonce = await nextNonce(DEV_ADDRESS_0);
  const raw = await wallet0.signTransaction({ type: 2, chainId: CHAIN_ID, nonce, to: DEV_ADDRESS_1, value: 1n, gasLimit: 21_000n, ...fees() });
  const receipt = await receiptOf(await call('eth_sendRawTransaction', [raw]));
  assert.equal(receipt.status, '0x1');
  assert.ok(BigInt(await call('eth_blockNumber')) > n);
});
