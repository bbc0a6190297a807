/**
 * Generated and mutated traffic against a real node, held to a model (fast-check, fixed
 * seed). Over HTTP and WebSocket at once: arbitrary JSON-RPC requests and batches for
 * every method of the method table and for unknown ones (params of every JSON type,
 * huge numbers, deep nesting, bad hex, leading-zero quantities, ids of every type),
 * mutated copies of them (fields dropped, repeated, retyped, strings cut), bodies that
 * are not JSON, and valid signed transactions of several senders interleaved with broken
 * copies of them (flipped bits, cut bytes, foreign chain ids, replays, nonce gaps, fees
 * too low, unprotected signatures, bad hex).
 *
 * Every answer must be JSON-RPC 2.0 (the id echoed, exactly one of result and error)
 * with an error code of the standard set a client can act on: never -32603, which would
 * blame the node for the client's input. Every valid in-order transaction must be
 * accepted. Afterwards the node still serves, every accepted transaction has a receipt,
 * and each sender's nonce equals its count of accepted transactions.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { test } from 'node:test';
import fc from 'fast-check';
import { Signature, Transaction, computeAddress, concat, encodeRlp, getAddress, getBytes, hexlify, keccak256, toBeHex, toUtf8Bytes, type TransactionLike } from 'ethers';
import secp256k1 from 'secp256k1/bindings.js';
import { WebSocket } from 'ws';
import { methods } from '../../node/rpc/methods/index.ts';
import { DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY } from '../../node/rpc/server.ts';
import { DEV_KEY_0, startTestNode } from '../helpers/node.ts';

const SEED = 0x5eed_0009;
const RUNS = 100;
/** Per run: messages of the generated traffic, and operations of the senders. */
const RANDOM_MESSAGES = 90;
const TX_OPS = 22;
const SENDERS = 8;
const HTTP_WORKERS = 4;
const WS_WORKERS = 3;

const CHAIN_ID = 31337n;
const GWEI = 10n ** 9n;
/** Far above any base fee this run reaches, so an accepted valid transaction is never dropped for its fee. */
const MAX_FEE = 100n * GWEI;
const FUNDING = 100n * 10n ** 18n;
const BLOCK_GAS_LIMIT = 30_000_000n;

/** Codes a client may get for its own input; -32603 (internal error) is not among them. */
const CLIENT_CODES = new Set([-32700, -32600, -32601, -32602, -32000, -32001, -32002, -32003, -32004, -32005, 3, 4100]);
/**
 * Dev methods that change the chain (mine, revert, set balances, stop automine...) act
 * outside the model of nonces and receipts; their hostile input is fuzzed in
 * devMethods.test.ts. Their read-only ones stay.
 */
const CHANGES_CHAIN = /^(evm|hardhat|anvil)_(?!metadata$|nodeInfo$|getAutomine$)/;
const METHOD_NAMES = Object.keys(methods).filter((m) => !CHANGES_CHAIN.test(m));

// ---------------------------------------------------------------------------------------
// JSON written by hand: literals JSON.parse would not keep, keys repeated, values resolved
// at send time.

/** A JSON literal written as is: numbers beyond a double, nesting JSON.stringify would recurse on. */
class Raw {
  constructor(readonly text: string) {}
  [fc.toStringMethod](): string {
    return `Raw(${this.text.length > 40 ? `${this.text.slice(0, 40)}… ${this.text.length} chars` : this.text})`;
  }
}

/** A value of the run so far, chosen when sent: an accepted transaction, a filter, a subscription. */
class Known {
  constructor(
    readonly what: 'hash' | 'raw' | 'filter' | 'subscription',
    readonly index: number,
  ) {}
}

/** A JSON object as a list of entries, so that a key may repeat (JSON.parse keeps the last). */
class Entries {
  constructor(readonly list: [string, unknown][]) {}
}

/** Marks an entry left out (a request without id is a notification). */
const ABSENT = Symbol('absent');

interface RunState {
  hashes: string[];
  raws: string[];
  filters: string[];
  subscriptions: string[];
}

function pick<T>(list: T[], index: number, fallback: T): T {
  return list.length === 0 ? fallback : list[index % list.length]!;
}

function write(v: unknown, state: RunState): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Known) {
    const zero = '0x' + '00'.repeat(32);
    const value =
      v.what === 'hash'
        ? pick(state.hashes, v.index, zero)
        : v.what === 'raw'
          ? pick(state.raws, v.index, '0x02')
          : v.what === 'filter'
            ? pick(state.filters, v.index, '0x1')
            : pick(state.subscriptions, v.index, '0x1');
    return JSON.stringify(value);
  }
  if (v instanceof Entries) {
    const parts: string[] = [];
    for (const [k, x] of v.list) if (x !== ABSENT) parts.push(`${JSON.stringify(k)}:${write(x, state)}`);
    return `{${parts.join(',')}}`;
  }
  if (Array.isArray(v)) {
    // Absent trailing params are left out; absent ones before a present one are null.
    let end = v.length;
    while (end > 0 && v[end - 1] === ABSENT) end--;
    return `[${v.slice(0, end).map((x) => (x === undefined || x === ABSENT ? 'null' : write(x, state))).join(',')}]`;
  }
  if (v !== null && typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== ABSENT) parts.push(`${JSON.stringify(k)}:${write(x, state)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

// ---------------------------------------------------------------------------------------
// Arbitraries of the generated traffic.

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const q = (n: bigint | number) => '0x' + n.toString(16);

const hugeNumber = fc.constantFrom(
  new Raw('1e400'),
  new Raw('-1e400'),
  new Raw('1' + '0'.repeat(400)),
  new Raw('123456789012345678901234567890'),
  new Raw('9007199254740993'),
  new Raw('-0'),
  new Raw('1E+2'),
  new Raw('0.0000000000000000000001'),
);

/** Nesting at every scale, the deepest a few hundred KB (well within the 10 MB body limit). */
const deep = fc
  .tuple(
    fc.oneof({ weight: 12, arbitrary: fc.constantFrom(2, 16, 64, 1_000) }, { weight: 3, arbitrary: fc.constant(10_000) }, { weight: 1, arbitrary: fc.constant(100_000) }),
    fc.boolean(),
  )
  .map(([d, arrays]) => new Raw(arrays ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '0' + '}'.repeat(d)));

const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 14, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeNumber },
  { weight: 1, arbitrary: deep },
);

const quantity: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(q) },
  { weight: 4, arbitrary: fc.nat(3_000).map(q) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 64n, max: 2n ** 300n }).map(q) },
  { weight: 1, arbitrary: fc.nat(4_096).map((n) => '0x0' + n.toString(16)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('0x', '0x0', '0X1', '-0x1', '0x-1', '1', '0xg', ' 0x1', '0x1 ', '', '0x' + 'f'.repeat(64), '0x1' + '0'.repeat(64), '1e3', '0x1.5'),
  },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), hugeNumber) },
);

const data: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 80 }).map(hex) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => hex(b).slice(0, -1)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => hex(b).toUpperCase()) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => hex(b).slice(2)) },
  // The last one is a loop without end: gas or the call timeout must end it.
  { weight: 1, arbitrary: fc.constantFrom('0xzz', '0x', '0x 00', 'hello', '0x5b600056') },
);

function arbitraries(addresses: string[]) {
  const address: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...addresses) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 20, maxLength: 20 }).map(hex) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 32 }).map(hex) },
    { weight: 1, arbitrary: fc.constantFrom(...addresses).map((a) => a.toUpperCase()) },
    { weight: 1, arbitrary: fc.constantFrom(...addresses).map((a) => getAddress(a)) },
    { weight: 1, arbitrary: anyJson },
  );
  const hash32: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 3, arbitrary: fc.nat().map((i) => new Known('hash', i)) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hex) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map(hex) },
    { weight: 1, arbitrary: anyJson },
  );
  const blockTag: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('latest', 'earliest', 'pending', 'safe', 'finalized', 'newest', 'LATEST') },
    { weight: 3, arbitrary: fc.nat(300).map(q) },
    { weight: 2, arbitrary: quantity },
    { weight: 1, arbitrary: fc.record({ blockNumber: quantity }) },
    { weight: 1, arbitrary: fc.record({ blockHash: hash32, requireCanonical: fc.oneof(fc.boolean(), anyJson) }, { requiredKeys: ['blockHash'] }) },
    { weight: 1, arbitrary: fc.record({ blockNumber: quantity, blockHash: hash32 }) },
    { weight: 1, arbitrary: anyJson },
  );
  const accessList = fc.oneof(
    fc.array(fc.record({ address, storageKeys: fc.array(hash32, { maxLength: 3 }) }), { maxLength: 3 }),
    anyJson,
  );
  const anyCall = fc.record(
    {
      from: address,
      to: fc.oneof(address, fc.constant(null)),
      gas: quantity,
      gasPrice: quantity,
      maxFeePerGas: quantity,
      maxPriorityFeePerGas: quantity,
      value: quantity,
      data,
      input: data,
      nonce: quantity,
      type: fc.constantFrom('0x0', '0x1', '0x2', '0x3', '0x4', '0x7f', '0x80', '0x00'),
      chainId: fc.constantFrom('0x7a69', '0x1', '0x07a69'),
      accessList,
    },
    { requiredKeys: [] },
  );
  // Calls and transactions that can succeed: a known sender, small amounts.
  const plausibleCall = fc.record(
    {
      from: fc.constantFrom(...addresses),
      to: fc.oneof(fc.constantFrom(...addresses), fc.constant(null)),
      value: fc.nat(1_000_000).map(q),
      data: fc.uint8Array({ maxLength: 40 }).map(hex),
      gas: fc.constantFrom('0x5208', '0x186a0', '0x1c9c380'),
    },
    { requiredKeys: ['from'] },
  );
  const call = fc.oneof(anyCall, plausibleCall, anyJson);
  const filter = fc.oneof(
    { weight: 4, arbitrary: fc.record(
      {
        fromBlock: blockTag,
        toBlock: blockTag,
        address: fc.oneof(address, fc.array(address, { maxLength: 5 })),
        topics: fc.oneof(fc.array(fc.oneof(fc.constant(null), hash32, fc.array(fc.oneof(hash32, fc.constant(null)), { maxLength: 3 })), { maxLength: 6 }), anyJson),
        blockHash: hash32,
      },
      { requiredKeys: [] },
    ) },
    { weight: 1, arbitrary: anyJson },
  );
  const typedData = fc.oneof(
    fc.record({
      types: fc.oneof(
        fc.constant({ EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }], Mail: [{ name: 'contents', type: 'string' }] }),
        anyJson,
      ),
      primaryType: fc.oneof(fc.constant('Mail'), anyJson),
      domain: fc.oneof(fc.record({ name: fc.string({ maxLength: 10 }), chainId: fc.oneof(fc.constant(31337), quantity) }), anyJson),
      message: fc.oneof(fc.record({ contents: fc.string({ maxLength: 20 }) }), anyJson),
    }),
    anyJson,
    // Typed data goes to the enclave as the client wrote it: nesting must not break the way there.
    deep,
  );
  const percentiles = fc.oneof(fc.array(fc.oneof(fc.double({ min: -10, max: 110, noNaN: true }), fc.nat(100), anyJson), { maxLength: 120 }), anyJson);
  const filterId = fc.oneof(fc.nat().map((i) => new Known('filter', i)), quantity);
  const subscriptionId = fc.oneof(fc.nat().map((i) => new Known('subscription', i)), quantity);
  const bool = fc.oneof(fc.boolean(), anyJson);
  const opt = <T,>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: fc.constant(ABSENT) });

  /** Plausible params of each method; anything else falls back to a list of arbitrary values. */
  const paramsOf: Record<string, fc.Arbitrary<unknown[]>> = {
    eth_call: fc.tuple(call, opt(blockTag), opt(fc.oneof(fc.constant({}), anyJson)), opt(fc.oneof(fc.constant({}), anyJson))),
    eth_estimateGas: fc.tuple(call, opt(blockTag), opt(anyJson)),
    eth_feeHistory: fc.tuple(quantity, blockTag, opt(percentiles)),
    eth_getBalance: fc.tuple(address, opt(blockTag)),
    eth_getCode: fc.tuple(address, opt(blockTag)),
    eth_getTransactionCount: fc.tuple(address, opt(blockTag)),
    eth_getStorageAt: fc.tuple(address, fc.oneof(quantity, data), opt(blockTag)),
    eth_getBlockByHash: fc.tuple(hash32, opt(bool)),
    eth_getBlockByNumber: fc.tuple(blockTag, opt(bool)),
    eth_getBlockReceipts: fc.tuple(blockTag),
    eth_getBlockTransactionCountByHash: fc.tuple(hash32),
    eth_getBlockTransactionCountByNumber: fc.tuple(blockTag),
    eth_getFilterChanges: fc.tuple(filterId),
    eth_getFilterLogs: fc.tuple(filterId),
    eth_uninstallFilter: fc.tuple(filterId),
    eth_getLogs: fc.tuple(filter),
    eth_newFilter: fc.tuple(filter),
    eth_getTransactionByBlockHashAndIndex: fc.tuple(hash32, quantity),
    eth_getTransactionByBlockNumberAndIndex: fc.tuple(blockTag, quantity),
    eth_getTransactionByHash: fc.tuple(hash32),
    eth_getTransactionReceipt: fc.tuple(hash32),
    eth_sendRawTransaction: fc.tuple(
      fc.oneof(
        fc.nat().map((i) => new Known('raw', i)),
        data,
        fc.tuple(fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0xc0, 0xf8), fc.uint8Array({ maxLength: 120 })).map(([t, b]) => hex(new Uint8Array([t, ...b]))),
      ),
    ),
    eth_sendTransaction: fc.tuple(call),
    eth_sign: fc.tuple(address, data),
    personal_sign: fc.tuple(data, address),
    eth_signTypedData_v4: fc.tuple(address, fc.oneof(typedData, typedData.map((t) => JSON.stringify(t) ?? 'null'))),
    eth_subscribe: fc.tuple(fc.oneof(fc.constantFrom('newHeads', 'logs', 'newPendingTransactions', 'syncing', 'foo'), anyJson), opt(filter)),
    eth_unsubscribe: fc.tuple(subscriptionId),
    web3_sha3: fc.tuple(data),
  };
  const anyParam = fc.oneof(address, hash32, blockTag, quantity, data, anyJson);
  const paramsFor = (method: string): fc.Arbitrary<unknown> =>
    fc.oneof(
      { weight: 8, arbitrary: Object.hasOwn(paramsOf, method) ? paramsOf[method]! : fc.constant([]) },
      { weight: 2, arbitrary: fc.array(anyParam, { maxLength: 4 }) },
      { weight: 1, arbitrary: fc.oneof(fc.constant(ABSENT), anyJson) },
    );

  const method = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...METHOD_NAMES) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'ETH_CHAINID', 'eth_chainid', 'eth_', 'rpc.discover', 'debug_traceTransaction', 'admin_nodeInfo', 'eth_chainId ', ''),
      ),
    },
  );
  const id: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 12, arbitrary: fc.integer() },
    { weight: 6, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: hugeNumber },
    { weight: 1, arbitrary: fc.oneof(fc.boolean(), fc.object({ maxDepth: 1 }), fc.array(fc.integer(), { maxLength: 2 })) },
    { weight: 1, arbitrary: fc.constant(ABSENT) },
  );
  const jsonrpc = fc.oneof({ weight: 30, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: fc.constantFrom(ABSENT, '1.0', 2, null, '2.0 ') });

  const request = method.chain((m) =>
    fc.tuple(jsonrpc, id, paramsFor(m)).map(([v, i, p]) => new Entries([['jsonrpc', v], ['id', i], ['method', m], ['params', p]])),
  );

  /** Edits of a request: a field dropped, repeated or retyped, strings cut, params reshaped. */
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), value: anyJson }),
    fc.record({ kind: fc.constant('retype' as const), at: fc.nat(), value: anyJson }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('param' as const), at: fc.nat(), value: anyParam }),
    fc.record({ kind: fc.constant('extra' as const), value: anyParam }),
  );
  const mutated = fc.tuple(request, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([r, edits]) => applyEdits(r, edits));

  const batchItem = fc.oneof({ weight: 6, arbitrary: request }, { weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: anyJson });
  const batch = fc.oneof(
    { weight: 20, arbitrary: fc.array(batchItem, { minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.constant(Array.from({ length: DEFAULT_MAX_BATCH + 1 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId' }))) },
  );
  const text = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.constantFrom('', ' ', 'null', 'true', '"x"', '42', '[[]]', '{}', '[{}]', 'NaN', '{"jsonrpc":"2.0"', '\uFEFF{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}x', '[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},]'),
    request.map((r) => write(r, EMPTY_STATE)).chain((t) => fc.nat(t.length).map((n) => t.slice(0, n))),
  );
  const body: fc.Arbitrary<Body> = fc.oneof(
    { weight: 10, arbitrary: request.map((value) => ({ kind: 'json' as const, value })) },
    { weight: 6, arbitrary: mutated.map((value) => ({ kind: 'json' as const, value })) },
    { weight: 3, arbitrary: batch.map((value) => ({ kind: 'json' as const, value })) },
    { weight: 2, arbitrary: text.map((t) => ({ kind: 'text' as const, text: t })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
    { weight: 1, arbitrary: anyJson.map((value) => ({ kind: 'json' as const, value })) },
  );
  const message: fc.Arbitrary<Msg> = fc.record({ transport: fc.constantFrom('http' as const, 'ws' as const), body });
  return { message, id };
}

const EMPTY_STATE: RunState = { hashes: [], raws: [], filters: [], subscriptions: [] };

type Edit =
  | { kind: 'drop' | 'cut'; at: number }
  | { kind: 'repeat' | 'retype' | 'param'; at: number; value: unknown }
  | { kind: 'extra'; value: unknown };

function applyEdits(r: Entries, edits: Edit[]): Entries {
  const list = r.list.map(([k, v]) => [k, v] as [string, unknown]);
  for (const e of edits) {
    if (list.length === 0) break;
    const at = 'at' in e ? e.at % list.length : 0;
    const params = list.find(([k]) => k === 'params');
    switch (e.kind) {
      case 'drop':
        list.splice(at, 1);
        break;
      case 'repeat':
        list.splice(at, 0, [list[at]![0], e.value]);
        break;
      case 'retype':
        list[at] = [list[at]![0], e.value];
        break;
      case 'cut':
        list[at] = [list[at]![0], cutStrings(list[at]![1], e.at)];
        break;
      case 'param':
        if (params && Array.isArray(params[1]) && params[1].length > 0) {
          const p = [...params[1]];
          p[e.at % p.length] = e.value;
          params[1] = p;
        }
        break;
      case 'extra':
        if (params && Array.isArray(params[1])) params[1] = [...params[1], e.value];
        break;
    }
  }
  return new Entries(list);
}

/** Cuts every string inside `v` (strings of hex lose digits, names lose their end). */
function cutStrings(v: unknown, seed: number): unknown {
  if (typeof v === 'string') return v.slice(0, seed % (v.length + 1));
  if (Array.isArray(v)) return v.map((x) => cutStrings(x, seed));
  if (v instanceof Entries) return new Entries(v.list.map(([k, x]) => [k, cutStrings(x, seed)]));
  if (v !== null && typeof v === 'object' && !(v instanceof Raw) && !(v instanceof Known)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cutStrings(x, seed)]));
  }
  return v;
}

type Body = { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array };
interface Msg {
  transport: 'http' | 'ws';
  body: Body;
}

// ---------------------------------------------------------------------------------------
// Transactions of the senders, and their broken copies.

interface TxShape {
  type: 0 | 1 | 2;
  to: number;
  value: bigint;
  data: Uint8Array;
  extraGas: number;
  tip: bigint;
  accessList: boolean;
}

type Mutation =
  | { m: 'flip'; bits: number[] }
  | { m: 'truncate'; at: number }
  | { m: 'append'; bytes: Uint8Array }
  | { m: 'typeByte'; byte: number }
  | { m: 'chainId'; chainId: bigint }
  | { m: 'unprotected' }
  | { m: 'gap'; by: number }
  | { m: 'lowNonce'; back: number }
  | { m: 'lowFee'; fee: bigint }
  | { m: 'tipAboveFee' }
  | { m: 'intrinsic'; short: number }
  | { m: 'gasOverBlock' }
  | { m: 'noFunds' }
  | { m: 'replay'; index: number }
  | { m: 'hex'; how: 'upper' | 'bigPrefix' | 'noPrefix' | 'odd' | 'badChar' | 'number' | 'array' | 'object' | 'null' }
  | { m: 'params'; how: 'empty' | 'extra' | 'object' | 'absent' };

type TxOp =
  | { op: 'valid'; shape: TxShape; transport: 'http' | 'ws'; id: unknown }
  | { op: 'batch'; shapes: TxShape[]; mutations: (Mutation | null)[]; transport: 'http' | 'ws' }
  | { op: 'mutant'; shape: TxShape; mutation: Mutation; transport: 'http' | 'ws'; id: unknown };

const txShape: fc.Arbitrary<TxShape> = fc.record({
  type: fc.constantFrom(0 as const, 1 as const, 2 as const),
  to: fc.nat(),
  value: fc.bigInt({ min: 0n, max: 10n ** 15n }),
  data: fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }),
  extraGas: fc.nat(20_000),
  tip: fc.bigInt({ min: 0n, max: 2n * GWEI }),
  accessList: fc.boolean(),
});

/** Mutations whose copy, sent after its original, cannot take a nonce a valid transaction needs. */
const safeMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ m: fc.constant('flip' as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }),
  fc.record({ m: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ m: fc.constant('typeByte' as const), byte: fc.constantFrom(3, 4, 5, 0x7f) }),
  fc.record({ m: fc.constant('chainId' as const), chainId: fc.constantFrom(1n, 31338n, 2n ** 64n) }),
  fc.record({ m: fc.constant('unprotected' as const) }),
  fc.record({ m: fc.constant('lowFee' as const), fee: fc.bigInt({ min: 0n, max: 5n }) }),
  fc.record({ m: fc.constant('tipAboveFee' as const) }),
  fc.record({ m: fc.constant('intrinsic' as const), short: fc.integer({ min: 1, max: 21_000 }) }),
  fc.record({ m: fc.constant('gasOverBlock' as const) }),
  fc.record({ m: fc.constant('noFunds' as const) }),
  fc.record({ m: fc.constant('hex' as const), how: fc.constantFrom('upper' as const, 'bigPrefix' as const, 'noPrefix' as const, 'odd' as const, 'badChar' as const, 'number' as const, 'array' as const, 'object' as const, 'null' as const) }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: safeMutation },
  { weight: 1, arbitrary: fc.record({ m: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ m: fc.constant('gap' as const), by: fc.integer({ min: 1, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ m: fc.constant('lowNonce' as const), back: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ m: fc.constant('replay' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ m: fc.constant('params' as const), how: fc.constantFrom('empty' as const, 'extra' as const, 'object' as const, 'absent' as const) }) },
);

/** What the node must answer to a mutation (beyond the rules every answer follows): refused with one of these codes, or either. */
function mustRefuse(mu: Mutation): number[] | undefined {
  switch (mu.m) {
    case 'truncate':
    case 'typeByte':
    case 'chainId':
    case 'lowNonce':
    case 'lowFee':
    case 'tipAboveFee':
    case 'intrinsic':
    case 'gasOverBlock':
    case 'noFunds':
      return [-32000, -32602];
    case 'hex':
      return mu.how === 'upper' ? undefined : [-32602];
    case 'params':
      return mu.how === 'extra' ? undefined : [-32602];
    case 'gap':
      return mu.by > 64 ? [-32000] : undefined;
    default:
      return undefined;
  }
}

function txOps(id: fc.Arbitrary<unknown>): fc.Arbitrary<{ sender: number; op: TxOp }> {
  const transport = fc.constantFrom('http' as const, 'ws' as const);
  return fc.record({
    sender: fc.nat(SENDERS - 1),
    op: fc.oneof(
      { weight: 10, arbitrary: fc.record({ op: fc.constant('valid' as const), shape: txShape, transport, id }) },
      {
        weight: 2,
        arbitrary: fc
          .array(fc.tuple(txShape, fc.oneof(fc.constant(null), safeMutation)), { minLength: 2, maxLength: 8 })
          .chain((items) => transport.map((t) => ({ op: 'batch' as const, shapes: items.map((i) => i[0]), mutations: items.map((i) => i[1]), transport: t }))),
      },
      { weight: 10, arbitrary: fc.record({ op: fc.constant('mutant' as const), shape: txShape, mutation, transport, id }) },
    ),
  });
}

/** One run: generated traffic and the senders' operations, sent at once. */
function runArbitrary(addresses: string[]) {
  const a = arbitraries(addresses);
  return fc.record({
    messages: fc.array(a.message, { minLength: RANDOM_MESSAGES, maxLength: RANDOM_MESSAGES }),
    txs: fc.array(txOps(a.id), { minLength: TX_OPS, maxLength: TX_OPS }),
    oversized: fc.nat(49).map((n) => n === 0),
  });
}

// ---------------------------------------------------------------------------------------
// The model: which transactions the node accepted, by sender and nonce.

class Model {
  /** Sender → nonce → the hash accepted last at that nonce. */
  private readonly bySender = new Map<string, Map<bigint, string>>();
  private readonly cursor = new Map<string, bigint>();
  readonly accepted = new Map<string, { sender: string; nonce: bigint }>();
  /** Accepted, then replaced in the pool by another transaction of the same sender and nonce. */
  readonly replaced = new Set<string>();
  readonly state: RunState = { hashes: [], raws: [], filters: [], subscriptions: [] };

  record(hash: string, sender: string, nonce: bigint, raw?: string): void {
    sender = sender.toLowerCase();
    if (this.accepted.has(hash)) return;
    this.accepted.set(hash, { sender, nonce });
    this.state.hashes.push(hash);
    if (raw) this.state.raws.push(raw);
    let nonces = this.bySender.get(sender);
    if (!nonces) this.bySender.set(sender, (nonces = new Map()));
    const before = nonces.get(nonce);
    if (before !== undefined && before !== hash) this.replaced.add(before);
    nonces.set(nonce, hash);
  }

  /** The nonce the sender's next valid transaction takes: the lowest one no accepted transaction holds. */
  next(sender: string): bigint {
    const nonces = this.bySender.get(sender);
    let n = this.cursor.get(sender) ?? 0n;
    while (nonces?.has(n)) n++;
    this.cursor.set(sender, n);
    return n;
  }

  /** The `count` lowest nonces no accepted transaction holds (a batch of valid transactions takes them). */
  free(sender: string, count: number): bigint[] {
    const nonces = this.bySender.get(sender);
    const out: bigint[] = [];
    for (let n = this.next(sender); out.length < count; n++) if (!nonces?.has(n)) out.push(n);
    return out;
  }

  nonces(sender: string): Map<bigint, string> {
    return this.bySender.get(sender) ?? new Map();
  }

  senders(): string[] {
    return [...this.bySender.keys()];
  }
}

// ---------------------------------------------------------------------------------------
// Transports: HTTP, and WebSocket connections that carry one message at a time.

interface Answer {
  status: number;
  text: string;
}

const agent = new Agent({ keepAlive: true });

/** One POST; node:http rather than fetch, which costs several times more per request. */
function httpSend(url: string, payload: string | Buffer): Promise<Answer> {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket connection used for one message at a time; subscription notifications are counted and set aside. */
class WsClient {
  private waiting?: (text: string) => void;
  private readonly early: string[] = [];
  notifications = 0;
  closed?: string;
  readonly subscriptions: string[] = [];
  private probes = 0;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const text = raw.toString();
      if (/^\{"jsonrpc":"2\.0","method":"eth_subscription"/.test(text)) {
        this.notifications++;
        return;
      }
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(text);
      else this.early.push(text);
    });
    socket.on('close', (code, reason) => {
      this.closed = `closed ${code} ${reason.toString()}`;
      this.waiting?.('');
    });
  }

  static open(url: string): Promise<WsClient> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('error', reject);
    });
  }

  private next(): Promise<string> {
    const t = this.early.shift();
    if (t !== undefined) return Promise.resolve(t);
    if (this.closed) return Promise.resolve('');
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /**
   * Sends one message and returns its answer. A message that gets none (notifications)
   * is followed by a probe request, whose answer must then be the next message.
   */
  async send(payload: string | Buffer, answered: boolean): Promise<Answer> {
    assert.equal(this.early.length, 0, `unexpected WebSocket message before a request: ${this.early[0]?.slice(0, 300)}`);
    this.socket.send(payload);
    if (answered) {
      const text = await this.next();
      assert.ok(!this.closed, `WebSocket ${this.closed}`);
      return { status: 200, text };
    }
    const probe = `probe-${++this.probes}`;
    this.socket.send(JSON.stringify({ jsonrpc: '2.0', id: probe, method: 'eth_chainId' }));
    const text = await this.next();
    assert.ok(!this.closed, `WebSocket ${this.closed}`);
    const answer = JSON.parse(text);
    assert.equal(answer.id, probe, `a message that must get no answer got one: ${text.slice(0, 300)}`);
    return { status: 204, text: '' };
  }

  async call(method: string, params: unknown[]): Promise<any> {
    const { text } = await this.send(JSON.stringify({ jsonrpc: '2.0', id: 'check', method, params }), true);
    return JSON.parse(text);
  }
}

// ---------------------------------------------------------------------------------------
// What every answer must be.

const NOT_PARSED = Symbol('not JSON');

/** The answer each request of a message must get, in order; an empty list: no answer at all. */
function expectedAnswers(parsed: unknown): { request: unknown }[] {
  if (parsed === NOT_PARSED) return [{ request: NOT_PARSED }];
  if (!Array.isArray(parsed)) return isNotification(parsed) ? [] : [{ request: parsed }];
  if (parsed.length === 0 || parsed.length > DEFAULT_MAX_BATCH) return [{ request: parsed }];
  return parsed.filter((r) => !isNotification(r)).map((request) => ({ request }));
}

/**
 * A notification gets no answer, even an error: a request object without an id, whose
 * method is a string and whose jsonrpc is "2.0" (or absent, which the node tolerates as
 * geth-compatible clients omit it).
 */
function isNotification(r: unknown): boolean {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return false;
  const o = r as Record<string, unknown>;
  return !('id' in o) && (o.jsonrpc === undefined || o.jsonrpc === '2.0') && typeof o.method === 'string';
}

function validId(id: unknown): boolean {
  return typeof id === 'string' || id === null || (typeof id === 'number' && Number.isFinite(id));
}

/** Checks one answer against its request; returns the error code, or undefined for a result. */
function checkAnswer(request: unknown, answer: any, where: () => string): number | undefined {
  assert.ok(answer !== null && typeof answer === 'object' && !Array.isArray(answer), `answer is not an object: ${where()}`);
  assert.equal(answer.jsonrpc, '2.0', `jsonrpc must be "2.0": ${where()}`);
  const keys = Object.keys(answer).sort().join(',');
  assert.ok(keys === 'error,id,jsonrpc' || keys === 'id,jsonrpc,result', `exactly one of result and error, and an id: ${keys}: ${where()}`);
  const o = typeof request === 'object' && request !== null && !Array.isArray(request) ? (request as Record<string, unknown>) : undefined;
  const echoes = o !== undefined && 'id' in o && validId(o.id);
  // === and not deepEqual: -0 is written as 0.
  if (echoes) assert.ok(answer.id === o!.id, `the id must be echoed: ${where()}`);
  else {
    assert.equal(answer.id, null, `an answer to a request without a usable id has id null: ${where()}`);
    assert.ok('error' in answer, `a request without a usable id is not run: ${where()}`);
  }
  if (!('error' in answer)) return undefined;
  const { code, message } = answer.error;
  assert.ok(Number.isInteger(code), `error code must be an integer: ${where()}`);
  assert.notEqual(code, -32603, `internal error for client input: ${where()}`);
  assert.ok(CLIENT_CODES.has(code), `error code ${code} outside the standard set: ${where()}`);
  assert.ok(typeof message === 'string' && message.length > 0, `error message must be a non-empty string: ${where()}`);
  if (request === NOT_PARSED) assert.equal(code, -32700, `not JSON must get -32700: ${where()}`);
  else if (!echoes) assert.ok(code === -32600 || code === -32005, `a malformed request gets -32600: ${where()}`);
  if (o && typeof o.method === 'string' && validId(o.id) && (o.jsonrpc === undefined || o.jsonrpc === '2.0') && (o.params === undefined || Array.isArray(o.params))) {
    if (!Object.hasOwn(methods, o.method)) assert.equal(code, -32601, `unknown method must get -32601: ${where()}`);
    else if (methods[o.method]!.status === 'unsupported') assert.equal(code, -32004, `unsupported method must get -32004: ${where()}`);
  }
  return code;
}

interface Stats {
  messages: number;
  requests: number;
  validTxs: number;
  fillers: number;
  mutants: number;
  mutantsAccepted: number;
  codes: Map<number | 'result', number>;
  http: number;
  ws: number;
  notifications: number;
}

function clip(s: string, n = 600): string {
  return s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;
}

/**
 * Sends a message, checks every answer in it (status, JSON-RPC shape, id, code) and
 * returns each request with its answer.
 */
async function exchange(
  url: string,
  ws: WsClient | undefined,
  payload: string | Buffer,
  stats: Stats,
): Promise<{ request: any; answer: any }[]> {
  // As the node reads it: lone surrogates become U+FFFD on the way.
  const text = Buffer.from(payload).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = NOT_PARSED;
  }
  const expected = expectedAnswers(parsed);
  stats.messages++;
  stats.requests += Array.isArray(parsed) && parsed.length > 0 && parsed.length <= DEFAULT_MAX_BATCH ? parsed.length : 1;
  if (ws) stats.ws++;
  else stats.http++;
  const { status, text: out } = ws ? await ws.send(payload, expected.length > 0) : await httpSend(url, payload);
  const where = () => `${ws ? 'WebSocket' : 'HTTP'} request ${clip(text)} → ${status} ${clip(out)}`;
  if (expected.length === 0) {
    assert.equal(status, 204, `no answer expected: ${where()}`);
    assert.equal(out, '', `no answer expected: ${where()}`);
    return [];
  }
  assert.equal(status, 200, `HTTP status: ${where()}`);
  let answer: unknown;
  try {
    answer = JSON.parse(out);
  } catch {
    assert.fail(`the answer is not JSON: ${where()}`);
  }
  const single = !Array.isArray(parsed) || parsed.length === 0 || parsed.length > DEFAULT_MAX_BATCH;
  const pairs: { request: any; answer: any }[] = [];
  if (single) {
    assert.ok(!Array.isArray(answer), `one answer expected: ${where()}`);
    pairs.push({ request: expected[0]!.request, answer });
  } else {
    assert.ok(Array.isArray(answer), `a batch gets an array: ${where()}`);
    assert.equal(answer.length, expected.length, `one answer per request that is not a notification: ${where()}`);
    expected.forEach((e, i) => pairs.push({ request: e.request, answer: answer[i] }));
  }
  for (const p of pairs) {
    const code = checkAnswer(p.request, p.answer, where);
    stats.codes.set(code ?? 'result', (stats.codes.get(code ?? 'result') ?? 0) + 1);
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('generated and mutated requests: well-formed answers, valid transactions accepted, receipts and nonces as modelled', { timeout: 180_000 }, async (t) => {
  const started = performance.now();
  // The model holds a transaction accepted when its send answers its hash: sends answer
  // at admission here (a waiting send answers a revert as an error, the transaction mined;
  // that semantics is tested in devMethods.test.ts and the Hardhat project).
  const node = await startTestNode({ log: () => {}, sendReturnsAtAdmission: true });
  const stats: Stats = { messages: 0, requests: 0, validTxs: 0, fillers: 0, mutants: 0, mutantsAccepted: 0, codes: new Map(), http: 0, ws: 0, notifications: 0 };
  const model = new Model();
  const clients: WsClient[] = [];
  try {
    const senders = await Promise.all(
      Array.from({ length: SENDERS }, async (_, i) => {
        const key = new Signer(keccak256(toUtf8Bytes(`conclave property sender ${i}`)));
        const ws = await WsClient.open(node.wsUrl);
        clients.push(ws);
        return { key, address: key.address, ws, sent: [] as string[] };
      }),
    );
    const workers = await Promise.all(Array.from({ length: WS_WORKERS }, () => WsClient.open(node.wsUrl)));
    clients.push(...workers);
    const devAddresses = node.accounts.map((a) => a.toLowerCase());
    const recipients = [...senders.map((s) => s.address), ...devAddresses, '0x000000000000000000000000000000000000dead'];

    // Funding: raw transfers from dev account 0, counted like any accepted transaction.
    const dev0 = new Signer(DEV_KEY_0);
    const dev0Address = devAddresses[0]!;
    for (const s of senders) {
      const nonce = model.next(dev0Address);
      const raw = sign(dev0, { type: 2, nonce: Number(nonce), to: s.address, value: FUNDING, gasLimit: 21_000n, maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: 1n });
      const answer = await rpcCall(node.url, 'eth_sendRawTransaction', [raw]);
      assert.equal(answer.result, keccak256(raw), JSON.stringify(answer));
      model.record(answer.result, dev0Address, nonce, raw);
    }
    await waitForReceipts(node.url, [...model.accepted.keys()], model);

    /** An accepted transaction whose signer the test cannot tell (eth_sendTransaction): modelled from what the node answers for it. */
    const lookUp = async (hash: string) => {
      const res = JSON.parse((await httpSend(node.url, rpcText('eth_getTransactionByHash', [hash]))).text);
      assert.ok(res.result, `an accepted transaction must be found: ${hash}: ${JSON.stringify(res)}`);
      model.record(hash, res.result.from, BigInt(res.result.nonce));
    };

    const shapeFields = (shape: TxShape, nonce: bigint): TransactionLike => {
      const to = recipients[shape.to % recipients.length]!;
      const accessList = shape.accessList && shape.type !== 0 ? [{ address: to, storageKeys: ['0x' + '00'.repeat(31) + '01'] }] : undefined;
      const gas = 21_000n + 40n * BigInt(shape.data.length) + (accessList ? 4_300n : 0n) + BigInt(shape.extraGas);
      const fees = shape.type === 2 ? { maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: shape.tip } : { gasPrice: MAX_FEE };
      return { type: shape.type, chainId: CHAIN_ID, nonce: Number(nonce), to, value: shape.value, gasLimit: gas, data: hex(shape.data), accessList, ...fees };
    };

    /** The raw bytes (as sent) and the JSON params of a mutated copy of a valid transaction. */
    const mutate = (s: (typeof senders)[number], shape: TxShape, mu: Mutation, nonce: bigint): { params: unknown; raw?: string } => {
      const fields = shapeFields(shape, nonce);
      const base = () => sign(s.key, fields);
      const bytes = (h: string) => Buffer.from(h.slice(2), 'hex');
      switch (mu.m) {
        case 'flip': {
          const b = bytes(base());
          for (const bit of mu.bits) b[(bit >> 3) % b.length]! ^= 1 << (bit & 7);
          return withRaw(hex(b));
        }
        case 'truncate': {
          const b = bytes(base());
          return withRaw(hex(b.subarray(0, mu.at % b.length)));
        }
        case 'append':
          return withRaw(base() + Buffer.from(mu.bytes).toString('hex'));
        case 'typeByte': {
          const b = bytes(sign(s.key, { ...fields, type: 2, gasPrice: undefined, maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: 0n }));
          b[0] = mu.byte;
          return withRaw(hex(b));
        }
        case 'chainId':
          return withRaw(sign(s.key, { ...fields, chainId: mu.chainId }, mu.chainId));
        case 'unprotected':
          return withRaw(sign(s.key, { ...fields, type: 0, chainId: 0n, accessList: undefined, maxFeePerGas: undefined, maxPriorityFeePerGas: undefined, gasPrice: MAX_FEE }, 0n));
        case 'gap':
          return withRaw(sign(s.key, { ...fields, nonce: Number(nonce) + mu.by }));
        case 'lowNonce':
          // Before its first transaction a sender has no lower nonce: a foreign chain id stands in.
          return withRaw(nonce === 0n ? sign(s.key, fields, 1n) : sign(s.key, { ...fields, nonce: Math.max(0, Number(nonce) - mu.back) }));
        case 'lowFee':
          return withRaw(sign(s.key, shape.type === 2 ? { ...fields, maxFeePerGas: mu.fee, maxPriorityFeePerGas: 0n } : { ...fields, gasPrice: mu.fee }));
        case 'tipAboveFee':
          return withRaw(signTipAboveFee(s.key, { ...fields, maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: MAX_FEE + 1n }));
        case 'intrinsic':
          return withRaw(sign(s.key, { ...fields, gasLimit: 21_000n - BigInt(mu.short) }));
        case 'gasOverBlock':
          return withRaw(sign(s.key, { ...fields, gasLimit: BLOCK_GAS_LIMIT + 1n }));
        case 'noFunds':
          return withRaw(sign(s.key, { ...fields, value: 10n ** 24n }));
        case 'replay':
          return withRaw(s.sent.length ? s.sent[mu.index % s.sent.length]! : base());
        case 'hex': {
          const raw = base();
          const body = raw.slice(2);
          const enc: Record<typeof mu.how, unknown> = {
            upper: '0x' + body.toUpperCase(),
            bigPrefix: '0X' + body,
            noPrefix: body,
            odd: raw.slice(0, -1),
            badChar: '0x' + body.slice(0, 10) + 'g' + body.slice(11),
            number: new Raw(BigInt(raw).toString()),
            array: [...bytes(raw)].slice(0, 64),
            object: { raw },
            null: null,
          };
          return { params: [enc[mu.how]], raw: mu.how === 'upper' ? raw : undefined };
        }
        case 'params': {
          const raw = base();
          const p = { empty: [], extra: [raw, 'latest'], object: { transaction: raw }, absent: ABSENT }[mu.how];
          return { params: p, raw: mu.how === 'extra' ? raw : undefined };
        }
      }
    };

    /**
     * A hash the node answered for a raw transaction: it must be that transaction's; then
     * it is modelled under its signer (given for valid ones, recovered for mutated ones).
     */
    const accepted = async (raw: string, hash: unknown, where: () => string, signer?: { sender: string; nonce: bigint }) => {
      assert.equal(hash, keccak256(raw), `the hash answered must be the transaction's: ${where()}`);
      if (signer) return model.record(hash as string, signer.sender, signer.nonce, raw);
      let tx: Transaction;
      try {
        tx = Transaction.from(raw);
      } catch {
        return lookUp(hash as string);
      }
      model.record(hash as string, tx.from!, BigInt(tx.nonce), raw);
    };

    /**
     * Sends one raw-transaction request of a sender. Its id decides what may happen:
     * none (a notification) gets no answer, so whether it was accepted is read back; an
     * unusable one gets -32600 and nothing runs. Returns the answer of a request that ran.
     */
    const submit = async (ws: WsClient | undefined, id: unknown, params: unknown, raw: string | undefined) => {
      const text = write(new Entries([['jsonrpc', '2.0'], ['id', id], ['method', 'eth_sendRawTransaction'], ['params', params]]), model.state);
      // Notifications go over HTTP, whose empty answer comes once the request has run; a
      // WebSocket gives no such point (the generated traffic sends them there).
      const [pair] = await exchange(node.url, id === ABSENT ? undefined : ws, text, stats);
      if (!pair) {
        const found = raw ? await settleNotification(node.url, raw, model) : false;
        return { text, notified: true, found, answer: undefined };
      }
      if (!validId(JSON.parse(text).id)) {
        assert.equal(pair.answer.error?.code, -32600, `a request without a usable id: ${text.slice(0, 300)} → ${JSON.stringify(pair.answer)}`);
        return { text, notified: false, found: false, answer: undefined };
      }
      return { text, notified: false, found: false, answer: pair.answer };
    };

    const runSender = async (s: (typeof senders)[number], ops: TxOp[]) => {
      for (const op of ops) {
        const ws = op.transport === 'ws' ? s.ws : undefined;
        if (op.op === 'valid') {
          const nonce = model.next(s.address);
          const raw = sign(s.key, shapeFields(op.shape, nonce));
          s.sent.push(raw);
          const { notified, found, answer } = await submit(ws, op.id, [raw], raw);
          if (notified) {
            assert.ok(found, `a valid in-order transaction sent as a notification must be accepted: ${raw}`);
            stats.validTxs++;
          }
          if (!answer) continue;
          const where = () => `valid transaction ${raw} → ${JSON.stringify(answer)}`;
          assert.ok('result' in answer, `a valid in-order transaction must be accepted: ${where()}`);
          await accepted(raw, answer.result, where, { sender: s.address, nonce });
          stats.validTxs++;
        } else if (op.op === 'batch') {
          const free = model.free(s.address, op.shapes.length);
          const items: { raw?: string; params: unknown; nonce: bigint; mutation?: Mutation }[] = [];
          op.shapes.forEach((shape, i) => {
            const nonce = free[i]!;
            const raw = sign(s.key, shapeFields(shape, nonce));
            items.push({ raw, params: [raw], nonce });
            const mu = op.mutations[i];
            if (mu) items.push({ ...mutate(s, shape, mu, nonce), nonce, mutation: mu });
          });
          for (const it of items) if (it.raw) s.sent.push(it.raw);
          const text = `[${items.map((it, i) => write(new Entries([['jsonrpc', '2.0'], ['id', i], ['method', 'eth_sendRawTransaction'], ['params', it.params]]), model.state)).join(',')}]`;
          const pairs = await exchange(node.url, ws, text, stats);
          for (let i = 0; i < items.length; i++) {
            const it = items[i]!;
            const answer = pairs[i]!.answer;
            const where = () => `batch item ${i} ${clip(write(it.params, model.state), 400)} → ${JSON.stringify(answer)}`;
            if (!it.mutation) {
              assert.ok('result' in answer, `a valid in-order transaction must be accepted: ${where()}`);
              await accepted(it.raw!, answer.result, where, { sender: s.address, nonce: it.nonce });
              stats.validTxs++;
              continue;
            }
            stats.mutants++;
            const codes = mustRefuse(it.mutation);
            if (codes) assert.ok('error' in answer && codes.includes(answer.error.code), `must be refused with ${codes.join(' or ')}: ${where()}`);
            if ('result' in answer) {
              stats.mutantsAccepted++;
              await accepted(it.raw!, answer.result, where);
            }
          }
        } else {
          const { params, raw } = mutate(s, op.shape, op.mutation, model.next(s.address));
          if (raw) s.sent.push(raw);
          stats.mutants++;
          const { text, found, answer } = await submit(ws, op.id, params, raw);
          if (found) stats.mutantsAccepted++;
          if (!answer) continue;
          const where = () => `${JSON.stringify(op.mutation, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))} ${clip(text, 400)} → ${JSON.stringify(answer)}`;
          const codes = mustRefuse(op.mutation);
          if (codes) assert.ok('error' in answer && codes.includes(answer.error.code), `must be refused with ${codes.join(' or ')}: ${where()}`);
          if ('result' in answer) {
            assert.ok(raw, `accepted, but the params held no transaction: ${where()}`);
            stats.mutantsAccepted++;
            await accepted(raw, answer.result, where);
          }
        }
      }
    };

    /** Generated traffic: each message's answers checked; what it created (filters, transactions) remembered. */
    const runMessages = async (queue: Msg[], ws: WsClient | undefined) => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        const payload = m.body.kind === 'json' ? write(m.body.value, model.state) : m.body.kind === 'text' ? m.body.text : Buffer.from(m.body.bytes);
        const pairs = await exchange(node.url, ws, payload, stats);
        for (const { request, answer } of pairs) {
          if (!('result' in answer) || typeof request?.method !== 'string') continue;
          if (request.method === 'eth_newFilter' || request.method === 'eth_newBlockFilter' || request.method === 'eth_newPendingTransactionFilter') model.state.filters.push(answer.result);
          else if (request.method === 'eth_subscribe' && ws) ws.subscriptions.push(answer.result);
          else if (request.method === 'eth_sendTransaction' || request.method === 'eth_sendRawTransaction') await lookUp(answer.result);
        }
      }
    };

    const run = runArbitrary([...recipients]);
    const property = fc.asyncProperty(run, async ({ messages, txs, oversized }) => {
      for (const m of messages) prepareSendTransactions(m.body);
      const lanes = senders.map((s, i) => runSender(s, txs.filter((x) => x.sender === i).map((x) => x.op)));
      const httpQueue = messages.filter((m) => m.transport === 'http');
      const wsQueues = workers.map((_, i) => messages.filter((m, j) => m.transport === 'ws' && j % WS_WORKERS === i));
      await Promise.all([
        ...lanes,
        ...Array.from({ length: HTTP_WORKERS }, () => runMessages(httpQueue, undefined)),
        ...workers.map((w, i) => runMessages(wsQueues[i]!, w)),
        oversized ? checkOversized(node.url, stats) : undefined,
      ]);
      // Subscriptions end with the run, so their notifications do not pile up.
      for (const w of workers) {
        for (const id of w.subscriptions.splice(0)) await w.call('eth_unsubscribe', [id]);
      }
    });
    const out = await fc.check(property, { seed: SEED, numRuns: RUNS, endOnFailure: true });
    if (out.failed) {
      const err = out.errorInstance as Error;
      err.message = `run ${out.numRuns} of seed ${SEED} failed: ${err.message}`;
      throw err;
    }
    const trafficDone = performance.now();

    // Transactions waiting for a nonce gap: the gap is filled with valid transactions,
    // after which every accepted transaction must execute.
    for (const s of senders) {
      for (;;) {
        const pending = BigInt((await rpcCall(node.url, 'eth_getTransactionCount', [s.address, 'pending'])).result);
        const next = model.next(s.address);
        assert.equal(pending, next, `${s.address}: the pending nonce is the model's next nonce`);
        const waiting = [...model.nonces(s.address).keys()].some((n) => n > next);
        if (!waiting) break;
        const raw = sign(s.key, shapeFields({ type: 2, to: 0, value: 1n, data: new Uint8Array(0), extraGas: 0, tip: 1n, accessList: false }, next));
        const res = await rpcCall(node.url, 'eth_sendRawTransaction', [raw]);
        assert.equal(res.result, keccak256(raw), `a filler at nonce ${next}: ${JSON.stringify(res)}`);
        model.record(res.result, s.address, next, raw);
        stats.fillers++;
      }
    }

    const live = [...model.accepted.keys()].filter((h) => !model.replaced.has(h));
    const receipts = await waitForReceipts(node.url, live, model);
    for (const hash of model.replaced) {
      assert.equal((await rpcCall(node.url, 'eth_getTransactionReceipt', [hash])).result, null, `a replaced transaction has no receipt: ${hash}`);
    }
    for (const sender of model.senders()) {
      const count = BigInt((await rpcCall(node.url, 'eth_getTransactionCount', [sender, 'latest'])).result);
      const nonces = model.nonces(sender);
      assert.equal(count, BigInt(nonces.size), `${sender}: nonce ${count}, accepted transactions ${nonces.size}`);
      for (const [nonce, hash] of nonces) {
        assert.ok(nonce < count, `${sender}: accepted nonce ${nonce} beyond its account nonce ${count}`);
        assert.equal(receipts.get(hash)!.from.toLowerCase(), sender, `${hash}: receipt of another sender`);
      }
    }

    // Still serving, on both transports, and no connection was lost.
    assert.equal((await rpcCall(node.url, 'eth_chainId', [])).result, '0x7a69');
    for (const c of clients) {
      assert.equal(c.closed, undefined, `a WebSocket was closed: ${c.closed}`);
      assert.equal((await c.call('eth_chainId', [])).result, '0x7a69');
      stats.notifications += c.notifications;
    }

    const codes = [...stats.codes.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}: ${n}`).join(', ');
    t.diagnostic(`seed ${SEED}, ${RUNS} runs: ${stats.messages} messages (${stats.http} HTTP, ${stats.ws} WebSocket) holding ${stats.requests} requests`);
    t.diagnostic(`valid in-order transactions accepted: ${stats.validTxs} (+ ${stats.fillers} gap fillers); mutated transactions: ${stats.mutants}, ${stats.mutantsAccepted} accepted`);
    t.diagnostic(`accepted transactions with receipts: ${live.length} of ${model.senders().length} senders; replaced: ${model.replaced.size}; notifications received: ${stats.notifications}`);
    t.diagnostic(`answers: ${codes}`);
    t.diagnostic(`time: traffic ${((trafficDone - started) / 1000).toFixed(1)} s, total ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(stats.requests >= 10_000, `${stats.requests} requests`);
    assert.ok(stats.validTxs >= 1_000, `${stats.validTxs} valid transactions`);
  } finally {
    agent.destroy();
    for (const c of clients) c.socket.terminate();
    await node.stop();
  }
});

/** A private key that signs with libsecp256k1 (the enclave's library): many times faster than ethers' curve in JavaScript. */
class Signer {
  readonly address: string;
  private readonly key: Uint8Array;

  constructor(privateKey: string) {
    this.key = getBytes(privateKey);
    this.address = computeAddress(privateKey).toLowerCase();
  }

  sign(digest: string): Signature {
    const { signature, recid } = secp256k1.ecdsaSign(getBytes(digest), this.key);
    return Signature.from({ r: hexlify(signature.subarray(0, 32)), s: hexlify(signature.subarray(32)), yParity: recid as 0 | 1 });
  }
}

/** Encodes with ethers; `chainId` 0 on a legacy transaction signs without replay protection. */
function sign(key: Signer, fields: TransactionLike, chainId = CHAIN_ID): string {
  const tx = Transaction.from({ ...fields, chainId });
  tx.signature = key.sign(tx.unsignedHash);
  return tx.serialized;
}

/** A type-2 transaction whose tip exceeds its fee cap, which ethers refuses to sign: encoded here. */
function signTipAboveFee(key: Signer, f: TransactionLike): string {
  const int = (n: unknown) => (BigInt(n as bigint) === 0n ? '0x' : toBeHex(BigInt(n as bigint)));
  const fields = [int(CHAIN_ID), int(f.nonce), int(f.maxPriorityFeePerGas), int(f.maxFeePerGas), int(f.gasLimit), f.to as string, int(f.value), f.data as string, []];
  const sig = key.sign(keccak256(concat(['0x02', encodeRlp(fields)])));
  return concat(['0x02', encodeRlp([...fields, int(sig.yParity), int(sig.r), int(sig.s)])]);
}

function withRaw(raw: string): { params: unknown; raw: string } {
  return { params: [raw], raw };
}

function rpcText(method: string, params: unknown[]): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
}

async function rpcCall(url: string, method: string, params: unknown[]): Promise<any> {
  return JSON.parse((await httpSend(url, rpcText(method, params))).text);
}

/**
 * eth_sendTransaction with a node-held key: the node chooses the nonce (a generated one
 * could leave a transaction waiting for a gap that no key of the model fills), and the
 * request has an id (the hash of what a notification made the node send is never told).
 */
function prepareSendTransactions(body: Body): void {
  if (body.kind !== 'json') return;
  const visit = (r: unknown) => {
    if (!(r instanceof Entries)) return;
    if (r.list.filter(([k]) => k === 'method').at(-1)?.[1] !== 'eth_sendTransaction') return;
    if (!r.list.some(([k, v]) => k === 'id' && v !== ABSENT)) r.list.push(['id', 'send']);
    for (const [k, p] of r.list) {
      if (k !== 'params' || !Array.isArray(p)) continue;
      for (const x of p) {
        if (x !== null && typeof x === 'object' && !(x instanceof Raw) && !(x instanceof Known) && !(x instanceof Entries)) delete (x as Record<string, unknown>).nonce;
      }
    }
  };
  if (Array.isArray(body.value)) body.value.forEach(visit);
  else visit(body.value);
}

/** A raw transaction sent as a notification gets no answer: whether the node took it is read back. */
async function settleNotification(url: string, raw: string, model: Model): Promise<boolean> {
  const hash = keccak256(raw);
  const found = (await rpcCall(url, 'eth_getTransactionByHash', [hash])).result;
  if (found) model.record(hash, found.from, BigInt(found.nonce), raw);
  return Boolean(found);
}

/** A body over the limit: HTTP 413 with a JSON-RPC error, and the node goes on. */
async function checkOversized(url: string, stats: Stats): Promise<void> {
  const body = `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["${'a'.repeat(DEFAULT_MAX_BODY)}"]}`;
  const { status, text } = await httpSend(url, body);
  stats.messages++;
  stats.requests++;
  stats.http++;
  assert.equal(status, 413, text);
  const answer = JSON.parse(text);
  assert.equal(answer.error.code, -32005, text);
  stats.codes.set(-32005, (stats.codes.get(-32005) ?? 0) + 1);
}

/** Waits until every transaction has a receipt (blocks follow at once on this node); returns them. */
async function waitForReceipts(url: string, hashes: string[], model: Model): Promise<Map<string, any>> {
  const receipts = new Map<string, any>();
  let missing = hashes;
  const deadline = Date.now() + 60_000;
  while (missing.length > 0) {
    const still: string[] = [];
    for (let i = 0; i < missing.length; i += 500) {
      const chunk = missing.slice(i, i + 500);
      const body = JSON.stringify(chunk.map((h, j) => ({ jsonrpc: '2.0', id: j, method: 'eth_getTransactionReceipt', params: [h] })));
      const answers = JSON.parse((await httpSend(url, body)).text) as any[];
      answers.forEach((a, j) => {
        assert.ok(!a.error, JSON.stringify(a));
        if (a.result) {
          assert.equal(a.result.transactionHash, chunk[j]);
          receipts.set(chunk[j]!, a.result);
        } else still.push(chunk[j]!);
      });
    }
    missing = still;
    if (missing.length === 0) break;
    if (Date.now() > deadline) {
      const first = missing[0]!;
      assert.fail(`${missing.length} accepted transactions have no receipt, e.g. ${first} (${JSON.stringify(model.accepted.get(first), (_k, v) => (typeof v === 'bigint' ? v.toString() : v))})`);
    }
    await sleep(20);
  }
  return receipts;
}
