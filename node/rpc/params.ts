/**
 * Validators for JSON-RPC params, turning wire hex into domain types (bigint,
 * Uint8Array, lowercase addresses), and the reverse hex formatting for results.
 *
 * Every validator takes the value and a `name` for it and throws InvalidParamsError
 * `invalid <name>: <why>`. Method files usually go through `param`, which names the
 * value geth-style, e.g. `invalid argument 0 (address): hex string of 20 bytes expected`:
 *
 *   const address = param(params, 0, 'address', parseAddress);
 *   const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
 *
 * Encoding rules: https://ethereum.org/en/developers/docs/apis/json-rpc/#hex-encoding
 */
import { InvalidParamsError } from './errors.ts';

import type { AccessListEntry, BlockRef, BlockTag, BlockTagName, CallRequest, LogFilter } from '../../runtime/boundary/messages.ts';

export type { AccessListEntry, BlockRef, BlockTag, BlockTagName, CallRequest, LogFilter };

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const HASH_RE = /^0x[0-9a-fA-F]{64}$/;
const DATA_RE = /^0x(?:[0-9a-fA-F]{2})*$/;
const HEX_DIGITS_RE = /^[0-9a-fA-F]+$/;
// Storage slots are `bytesMax32` in the spec: leading zeros and `0x` are allowed there.
const SLOT_RE = /^0x[0-9a-fA-F]{0,64}$/;
const BLOCK_TAGS: ReadonlySet<string> = new Set<BlockTagName>(['latest', 'earliest', 'pending', 'safe', 'finalized']);
const MAX_TOPICS = 4;

function fail(name: string, why: string): never {
  throw new InvalidParamsError(`invalid ${name}: ${why}`);
}

/** geth-style name of a positional parameter: `argument 0 (address)`. */
export function argName(index: number, name: string): string {
  return `argument ${index} (${name})`;
}

/**
 * The raw value of positional parameter `index`. A missing (or null) required value
 * throws `missing value for required argument <index> (<name>)`; an optional one
 * yields undefined.
 */
export function paramAt(params: unknown, index: number, name: string, optional?: false): unknown;
export function paramAt(params: unknown, index: number, name: string, optional: true): unknown | undefined;
export function paramAt(params: unknown, index: number, name: string, optional = false): unknown {
  if (params !== undefined && !Array.isArray(params)) throw new InvalidParamsError('invalid params: array expected');
  const v = params?.[index];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new InvalidParamsError(`missing value for required ${argName(index, name)}`);
  }
  return v;
}

/** Refuses params beyond the first `count`, as geth: `too many arguments, want at most <count>`. */
export function atMostParams(params: unknown, count: number): void {
  if (Array.isArray(params) && params.length > count) throw new InvalidParamsError(`too many arguments, want at most ${count}`);
}

/** `paramAt` then `parse`, with the error naming `argument <index> (<name>)`. */
export function param<T>(params: unknown, index: number, name: string, parse: (v: unknown, name: string) => T, optional?: false): T;
export function param<T>(params: unknown, index: number, name: string, parse: (v: unknown, name: string) => T, optional: true): T | undefined;
export function param<T>(params: unknown, index: number, name: string, parse: (v: unknown, name: string) => T, optional = false): T | undefined {
  const v = optional ? paramAt(params, index, name, true) : paramAt(params, index, name);
  return v === undefined ? undefined : parse(v, argName(index, name));
}

/** A 20-byte address in any case, returned lowercase. */
export function parseAddress(v: unknown, name: string): string {
  if (typeof v !== 'string' || !ADDRESS_RE.test(v)) fail(name, 'hex string of 20 bytes expected');
  return v.toLowerCase();
}

/** A 32-byte hash, returned lowercase. */
export function parseHash(v: unknown, name: string): string {
  if (typeof v !== 'string' || !HASH_RE.test(v)) fail(name, 'hex string of 32 bytes expected');
  return v.toLowerCase();
}

/** 0x-prefixed hex of even length (`0x` is empty data). */
export function parseData(v: unknown, name: string): Uint8Array {
  if (typeof v !== 'string' || !DATA_RE.test(v)) fail(name, 'hex string with 0x prefix and even length expected');
  const out = new Uint8Array((v.length - 2) / 2);
  // Decoding into a view of our own array avoids a copy and a pooled Buffer.
  Buffer.from(out.buffer, out.byteOffset, out.length).write(v.slice(2), 'hex');
  return out;
}

/**
 * Why `v` is not a quantity of at most `bits` bits, in geth's words, or undefined if
 * it is one. The spec's pattern is `^0x(0|[1-9a-f][0-9a-f]*)$`: no leading zeros, no
 * empty `0x` (geth also takes upper-case digits, and so do we).
 */
function quantityProblem(v: unknown, bits: 64 | 256): string | undefined {
  if (typeof v !== 'string') return 'hex quantity with 0x prefix expected';
  if (!v.startsWith('0x')) return 'hex string without 0x prefix';
  const digits = v.slice(2);
  if (digits === '') return 'hex string "0x" has no digits';
  if (!HEX_DIGITS_RE.test(digits)) return 'invalid hex string';
  if (digits.length > 1 && digits[0] === '0') return 'hex number with leading zero digits';
  if (digits.length > bits / 4) return `hex number > ${bits} bits`;
  return undefined;
}

/** A hex quantity (`0x0`, `0x1a`…), up to 256 bits, without leading zeros. */
export function parseQuantity(v: unknown, name: string): bigint {
  const problem = quantityProblem(v, 256);
  if (problem !== undefined) fail(name, problem);
  return BigInt(v as string);
}

/** A hex quantity of at most 64 bits: block numbers, indexes, gas, nonces. */
export function parseUint64(v: unknown, name: string): bigint {
  const problem = quantityProblem(v, 64);
  if (problem !== undefined) fail(name, problem);
  return BigInt(v as string);
}

/**
 * A count geth types as `math.HexOrDecimal64` (eth_feeHistory's blockCount): a hex
 * quantity, or a JSON number, which cast and other tools send.
 */
export function parseUint64OrNumber(v: unknown, name: string): bigint {
  if (typeof v !== 'number') return parseUint64(v, name);
  if (!Number.isSafeInteger(v) || v < 0) fail(name, 'non-negative integer or hex quantity expected');
  return BigInt(v);
}

/** A storage slot: up to 32 bytes of hex, leading zeros allowed (`0x`, `0x01`, a full 32-byte word). */
export function parseStorageSlot(v: unknown, name: string): bigint {
  if (typeof v !== 'string' || !SLOT_RE.test(v)) fail(name, 'hex string of at most 32 bytes expected');
  return v === '0x' ? 0n : BigInt(v);
}

/** A block number or tag, or an EIP-1898 object `{blockNumber}` / `{blockHash, requireCanonical?}`. */
export function parseBlockTag(v: unknown, name: string): BlockRef {
  if (typeof v === 'string') return parseBlockNumberOrTag(v, name);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(name, 'block number, tag or EIP-1898 object expected');
  const o = v as Record<string, unknown>;
  const hasNumber = o.blockNumber !== undefined && o.blockNumber !== null;
  const hasHash = o.blockHash !== undefined && o.blockHash !== null;
  if (hasNumber && hasHash) fail(name, 'cannot specify both blockHash and blockNumber, choose one or the other');
  if (hasNumber) return parseBlockNumberOrTag(o.blockNumber, `${name}.blockNumber`);
  if (hasHash) {
    const rc = o.requireCanonical;
    if (rc !== undefined && rc !== null && typeof rc !== 'boolean') fail(`${name}.requireCanonical`, 'boolean expected');
    return { hash: parseHash(o.blockHash, `${name}.blockHash`), requireCanonical: rc === true };
  }
  return fail(name, 'blockNumber or blockHash expected');
}

function parseBlockNumberOrTag(v: unknown, name: string): BlockTag {
  if (typeof v === 'string' && BLOCK_TAGS.has(v)) return v as BlockTagName;
  if (typeof v !== 'string' || !v.startsWith('0x')) fail(name, 'block number or tag (latest, earliest, pending, safe, finalized) expected');
  return parseUint64(v, name);
}

function asObject(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(name, 'object expected');
  return v as Record<string, unknown>;
}

/** Wallets and libraries send explicit nulls for unset fields; treat them as absent. */
function opt<T>(o: Record<string, unknown>, key: string, name: string, parse: (v: unknown, name: string) => T): T | undefined {
  const v = o[key];
  return v === undefined || v === null ? undefined : parse(v, `${name}.${key}`);
}

/**
 * The transaction object of eth_call, eth_estimateGas and eth_sendTransaction.
 * `input` and its legacy alias `data` may both be given only if equal (as in geth).
 * Unknown fields are ignored.
 */
export function parseCallRequest(v: unknown, name: string): CallRequest {
  const o = asObject(v, name);
  const out: CallRequest = {};
  const from = opt(o, 'from', name, parseAddress);
  if (from !== undefined) out.from = from;
  const to = opt(o, 'to', name, parseAddress);
  if (to !== undefined) out.to = to;
  // Widths as in the spec's GenericTransaction: gas and nonce are uint64, the rest uint256.
  for (const key of ['gas', 'nonce'] as const) {
    const q = opt(o, key, name, parseUint64);
    if (q !== undefined) out[key] = q;
  }
  for (const key of ['gasPrice', 'maxFeePerGas', 'maxPriorityFeePerGas', 'value', 'chainId'] as const) {
    const q = opt(o, key, name, parseQuantity);
    if (q !== undefined) out[key] = q;
  }
  const input = opt(o, 'input', name, parseData);
  const data = opt(o, 'data', name, parseData);
  if (input !== undefined && data !== undefined && Buffer.compare(input, data) !== 0) {
    fail(name, 'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data');
  }
  const callData = input ?? data;
  if (callData !== undefined) out.data = callData;
  const type = opt(o, 'type', name, parseQuantity);
  if (type !== undefined) {
    if (type > 0x7fn) fail(`${name}.type`, 'transaction type out of range');
    out.type = Number(type);
  }
  const accessList = opt(o, 'accessList', name, parseAccessList);
  if (accessList !== undefined) out.accessList = accessList;
  return out;
}

function parseAccessList(v: unknown, name: string): AccessListEntry[] {
  if (!Array.isArray(v)) fail(name, 'array expected');
  return v.map((item, i) => {
    const o = asObject(item, `${name}[${i}]`);
    const keys = o.storageKeys ?? [];
    if (!Array.isArray(keys)) fail(`${name}[${i}].storageKeys`, 'array expected');
    return {
      address: parseAddress(o.address, `${name}[${i}].address`),
      storageKeys: keys.map((k, j) => parseHash(k, `${name}[${i}].storageKeys[${j}]`)),
    };
  });
}

/**
 * An eth_getLogs / eth_newFilter filter object. `blockHash` excludes `fromBlock` and
 * `toBlock`; `topics` has at most 4 positions, each null, a hash, or an array of hashes
 * (an empty array, or a null inside one, matches anything, as in geth).
 */
export function parseLogFilter(v: unknown, name: string): LogFilter {
  const o = asObject(v, name);
  const out: LogFilter = { addresses: [], topics: [] };
  const blockHash = opt(o, 'blockHash', name, parseHash);
  const fromBlock = opt(o, 'fromBlock', name, parseBlockNumberOrTag);
  const toBlock = opt(o, 'toBlock', name, parseBlockNumberOrTag);
  if (blockHash !== undefined) {
    if (fromBlock !== undefined || toBlock !== undefined) {
      fail(name, 'cannot specify both blockHash and fromBlock/toBlock, choose one or the other');
    }
    out.blockHash = blockHash;
  }
  // As geth: a range given by numbers must not be inverted. Ranges with tags are
  // checked where the tags are resolved.
  if (typeof fromBlock === 'bigint' && typeof toBlock === 'bigint' && fromBlock > toBlock) {
    fail(name, `invalid block range params: fromBlock ${toQuantity(fromBlock)} is after toBlock ${toQuantity(toBlock)}`);
  }
  if (fromBlock !== undefined) out.fromBlock = fromBlock;
  if (toBlock !== undefined) out.toBlock = toBlock;

  const address = o.address;
  if (Array.isArray(address)) out.addresses = address.map((a, i) => parseAddress(a, `${name}.address[${i}]`));
  else if (address !== undefined && address !== null) out.addresses = [parseAddress(address, `${name}.address`)];

  const topics = o.topics;
  if (topics !== undefined && topics !== null) {
    if (!Array.isArray(topics)) fail(`${name}.topics`, 'array expected');
    if (topics.length > MAX_TOPICS) fail(`${name}.topics`, `at most ${MAX_TOPICS} topics allowed`);
    out.topics = topics.map((t, i) => parseTopic(t, `${name}.topics[${i}]`));
  }
  return out;
}

function parseTopic(t: unknown, name: string): string[] | null {
  if (t === null) return null;
  if (!Array.isArray(t)) return [parseHash(t, name)];
  if (t.length === 0 || t.includes(null)) return null;
  return t.map((h, j) => parseHash(h, `${name}[${j}]`));
}

/**
 * An override argument that this node does not apply yet (eth_call's state and block
 * overrides): absent, null or `{}` passes; anything else is refused rather than
 * silently ignored, since the answer would not reflect it.
 */
export function refuseOverrides(params: unknown, index: number, name: string): void {
  const v = paramAt(params, index, name, true);
  if (v === undefined) return;
  const o = asObject(v, argName(index, name));
  if (Object.keys(o).length > 0) fail(argName(index, name), `${name} are not supported yet`);
}

/** A non-negative integer as a JSON-RPC quantity: `0x0`, `0x1a` (no leading zeros). */
export function toQuantity(n: bigint | number): string {
  if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new RangeError(`toQuantity: not a safe integer: ${n}`);
  if (n < 0) throw new RangeError(`toQuantity: negative value ${n}`);
  return '0x' + n.toString(16);
}

/** Bytes as JSON-RPC data: `0x` followed by two lowercase hex digits per byte. */
export function toData(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A JSON boolean. */
export function parseBool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') fail(name, 'boolean expected');
  return v;
}

/** An identifier given as hex (filter and subscription ids), lowercased. */
export function parseQuantityString(v: unknown, name: string): string {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(v)) fail(name, 'hex identifier expected');
  return v.toLowerCase();
}
