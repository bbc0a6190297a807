import type { EnclaveError } from '../../runtime/boundary/messages.ts';
import { EnclaveReplyError } from '../../runtime/boundary/startEnclave.ts';
/**
 * JSON-RPC errors with fixed codes (JSON-RPC 2.0 and EIP-1474), and the single place
 * where any thrown value becomes a JSON-RPC error object.
 *
 * https://www.jsonrpc.org/specification#error_object
 * https://eips.ethereum.org/EIPS/eip-1474#error-codes
 */
import type { Logger } from './types.ts';

/** Base of every error that may reach a client; anything else becomes -32603. */
export class RpcError extends Error {
  readonly code: number;
  readonly data?: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** -32700: the body is not valid JSON. */
export class ParseError extends RpcError {
  static readonly code = -32700;
  constructor(message = 'parse error') {
    super(ParseError.code, message);
  }
}

/** -32600: the JSON is not a valid request object (or the batch is empty). */
export class InvalidRequestError extends RpcError {
  static readonly code = -32600;
  constructor(message = 'invalid request') {
    super(InvalidRequestError.code, message);
  }
}

/** -32601: no such method; the message matches geth's. */
export class MethodNotFoundError extends RpcError {
  static readonly code = -32601;
  constructor(method: string) {
    super(MethodNotFoundError.code, `the method ${method} does not exist/is not available`);
  }
}

/** -32602: bad params; the message should name the parameter. */
export class InvalidParamsError extends RpcError {
  static readonly code = -32602;
  constructor(message: string) {
    super(InvalidParamsError.code, message);
  }
}

/** -32603: a bug or an unexpected failure inside the node. */
export class InternalError extends RpcError {
  static readonly code = -32603;
  constructor(message = 'internal error') {
    super(InternalError.code, message);
  }
}

/**
 * -32000: the request is well-formed but cannot be applied. geth uses this code for
 * "nonce too low", "insufficient funds for gas * price + value", "intrinsic gas too low"…
 */
export class InvalidInputError extends RpcError {
  static readonly code = -32000;
  constructor(message: string, data?: unknown) {
    super(InvalidInputError.code, message, data);
  }
}

/** -32001: the requested block, transaction, receipt… does not exist. */
export class ResourceNotFoundError extends RpcError {
  static readonly code = -32001;
  constructor(message = 'resource not found') {
    super(ResourceNotFoundError.code, message);
  }
}

/** -32002: the resource exists but is not available now (e.g. pruned, still syncing). */
export class ResourceUnavailableError extends RpcError {
  static readonly code = -32002;
  constructor(message = 'resource unavailable') {
    super(ResourceUnavailableError.code, message);
  }
}

/** -32003: the transaction was rejected (e.g. by policy). */
export class TransactionRejectedError extends RpcError {
  static readonly code = -32003;
  constructor(message = 'transaction rejected', data?: unknown) {
    super(TransactionRejectedError.code, message, data);
  }
}

/** -32004: the method exists in Ethereum but this node does not offer it. */
export class MethodNotSupportedError extends RpcError {
  static readonly code = -32004;
  constructor(method: string) {
    super(MethodNotSupportedError.code, `the method ${method} is not supported`);
  }
}

/** -32005: a size or rate limit was hit (batch size, body size, block range…). */
export class LimitExceededError extends RpcError {
  static readonly code = -32005;
  constructor(message = 'limit exceeded') {
    super(LimitExceededError.code, message);
  }
}

/**
 * 4100 (EIP-1193 "unauthorized"): the caller may not use this method. Answered to a
 * browser page of an untrusted origin that asks the node to sign with one of its keys,
 * and to a refused Sign-In with Ethereum or a credential that is no live session.
 * https://eips.ethereum.org/EIPS/eip-1193#provider-errors
 */
export class UnauthorizedError extends RpcError {
  static readonly code = 4100;
  constructor(message = 'unauthorized') {
    super(UnauthorizedError.code, message);
  }
}

/**
 * -32010 "not permitted": a confidentiality policy refuses the request, a decision
 * that rests on public facts only (the policy, and who asks): a call into a contract
 * outside the caller's state audience, raw storage of a contract with a policy for a
 * non-auditor, a transaction from an unregistered sender on a consortium network.
 * One fixed code, so clients can tell it from a failure and from a bad credential
 * (4100). -32010 is in JSON-RPC's range for server errors; EIP-1474 assigns it no
 * other meaning.
 */
export class NotPermittedError extends RpcError {
  static readonly code = -32010;
  constructor(message = 'not permitted') {
    super(NotPermittedError.code, message);
  }
}

const ERROR_STRING_SELECTOR = '08c379a0'; // bytes4(keccak256("Error(string)"))
const PANIC_SELECTOR = '4e487b71'; // bytes4(keccak256("Panic(uint256)"))

/** geth's words for Solidity's panic codes (accounts/abi panicReasons). */
const PANIC_REASONS: ReadonlyMap<bigint, string> = new Map([
  [0x00n, 'generic panic'],
  [0x01n, 'assert(false)'],
  [0x11n, 'arithmetic underflow or overflow'],
  [0x12n, 'division or modulo by zero'],
  [0x21n, 'enum overflow'],
  [0x22n, 'invalid encoded storage byte array accessed'],
  [0x31n, 'out-of-bounds array access; popping on an empty array'],
  [0x32n, 'out-of-bounds access of an array or bytesN'],
  [0x41n, 'out of memory'],
  [0x51n, 'uninitialized function'],
]);

/**
 * Code 3, as geth answers a reverted eth_call / eth_estimateGas: `data` carries the
 * revert bytes so that clients (ethers, viem) can decode custom errors themselves.
 * Without an explicit `reason`, the message reads the data: the string of
 * `Error(string)` and the meaning of a `Panic(uint256)` code, as geth; any other selector
 * as Anvil names an error it has no ABI for, `custom error 0x<selector>: <arguments>`.
 */
export class ExecutionRevertedError extends RpcError {
  static readonly code = 3;
  declare readonly data: string;

  constructor(revertData: Uint8Array | string = '0x', reason?: string) {
    const hex = typeof revertData === 'string' ? revertData.toLowerCase() : bytesToHex(revertData);
    const why = reason ?? revertReason(hex);
    super(ExecutionRevertedError.code, why === undefined ? 'execution reverted' : `execution reverted: ${why}`, hex);
  }
}

/** A JSON-RPC error object, ready for the `error` member of a response. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** Default logger: one line per event on stderr; debug lines are dropped. */
export const stderrLogger: Logger = (level, msg, extra) => {
  if (level === 'debug') return;
  process.stderr.write(`[rpc] ${level} ${msg}${extra ? ' ' + safeInspect(extra) : ''}\n`);
};

/**
 * Turns anything thrown by a handler into a JSON-RPC error object. `RpcError`s keep
 * their code, message and data; everything else is logged and becomes a bare
 * -32603 "internal error", so that stacks and internals never reach a client.
 */
export function toJsonRpcError(err: unknown, log: Logger = stderrLogger): JsonRpcErrorObject {
  if (err instanceof EnclaveReplyError) err = fromEnclave(err.error);
  if (err instanceof RpcError) {
    return err.data === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, data: err.data };
  }
  log('error', 'internal error in RPC handler', whereFailed(err));
  return { code: InternalError.code, message: 'internal error' };
}

/**
 * Where an unexpected failure happened, not what it said: its message (or a thrown
 * value) may quote the request's parameters, so only the error's class and stack frames
 * are logged, as the enclave does.
 */
function whereFailed(err: unknown): { error: string; stack?: string } {
  if (!(err instanceof Error)) return { error: typeof err };
  // The stack opens with the message, which may itself hold lines that look like frames.
  const header = err.message === '' ? err.name : `${err.name}: ${err.message}`;
  const stack = err.stack ?? '';
  const frames = (stack.startsWith(header) ? stack.slice(header.length) : stack).split('\n').filter((line) => /^\s+at /.test(line));
  return { error: err.name, stack: frames.slice(0, 8).map((line) => line.trim()).join('\n') };
}

/** The enclave answers with fixed error kinds; each has one JSON-RPC code. */
function fromEnclave(e: EnclaveError): RpcError {
  switch (e.kind) {
    case 'invalidParams':
      return new InvalidParamsError(e.message);
    case 'invalidInput':
      return new InvalidInputError(e.message);
    case 'notPermitted':
      return new NotPermittedError(e.message);
    case 'reverted':
      return new ExecutionRevertedError(e.data ?? '0x');
    case 'notFound':
      return new ResourceNotFoundError(e.message);
    case 'unsupported':
      return new RpcError(MethodNotSupportedError.code, e.message);
    case 'limitExceeded':
      return new LimitExceededError(e.message);
    case 'unauthorized':
      return new UnauthorizedError(e.message);
    case 'internal':
      // Enclave internal messages are written to be safe to show (they name, never reveal).
      return new InternalError(e.message);
  }
}

function bytesToHex(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** What revert data says, for the message; undefined for none, or for a malformed Error or Panic. */
function revertReason(hex: string): string | undefined {
  if (hex.length < 10 || !/^0x[0-9a-f]*$/.test(hex)) return undefined;
  const selector = hex.slice(2, 10);
  if (selector === ERROR_STRING_SELECTOR) return decodeErrorString(hex);
  if (selector === PANIC_SELECTOR) {
    if (hex.length < 10 + 64) return undefined;
    const code = BigInt('0x' + hex.slice(10, 74));
    return PANIC_REASONS.get(code) ?? `unknown panic code: 0x${code.toString(16)}`;
  }
  const args = hex.slice(10);
  return args === '' ? `custom error 0x${selector}` : `custom error 0x${selector}: ${args}`;
}

/** Decodes abi.encode(string) after the Error(string) selector; undefined if malformed. */
function decodeErrorString(hex: string): string | undefined {
  if (hex.slice(2, 10) !== ERROR_STRING_SELECTOR || !/^0x[0-9a-f]*$/.test(hex)) return undefined;
  const body = Buffer.from(hex.slice(10), 'hex');
  if (body.length < 64) return undefined;
  const offset = body.readBigUInt64BE(24);
  if (body.readBigUInt64BE(0) !== 0n || body.readBigUInt64BE(8) !== 0n || body.readBigUInt64BE(16) !== 0n) return undefined;
  if (offset + 32n > BigInt(body.length)) return undefined;
  const at = Number(offset);
  if (body.readBigUInt64BE(at) !== 0n || body.readBigUInt64BE(at + 8) !== 0n || body.readBigUInt64BE(at + 16) !== 0n) return undefined;
  const length = body.readBigUInt64BE(at + 24);
  if (BigInt(at + 32) + length > BigInt(body.length)) return undefined;
  return body.subarray(at + 32, at + 32 + Number(length)).toString('utf8');
}

function safeInspect(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  } catch {
    return String(v);
  }
}
