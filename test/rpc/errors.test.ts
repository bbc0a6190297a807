import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ExecutionRevertedError,
  InternalError,
  InvalidInputError,
  InvalidParamsError,
  InvalidRequestError,
  LimitExceededError,
  MethodNotFoundError,
  MethodNotSupportedError,
  ParseError,
  ResourceNotFoundError,
  ResourceUnavailableError,
  RpcError,
  TransactionRejectedError,
  UnauthorizedError,
  toJsonRpcError,
} from '../../node/rpc/errors.ts';
import type { Logger } from '../../node/rpc/types.ts';

// The catalogue from JSON-RPC 2.0 and EIP-1474 (code 3 from geth's revert errors, 4100 from EIP-1193).
const CODES: [new (...args: any[]) => RpcError, number, unknown[]][] = [
  [ParseError, -32700, []],
  [InvalidRequestError, -32600, []],
  [MethodNotFoundError, -32601, ['eth_foo']],
  [InvalidParamsError, -32602, ['invalid argument 0 (address): bad']],
  [InternalError, -32603, []],
  [InvalidInputError, -32000, ['nonce too low']],
  [ResourceNotFoundError, -32001, []],
  [ResourceUnavailableError, -32002, []],
  [TransactionRejectedError, -32003, []],
  [MethodNotSupportedError, -32004, ['eth_mining']],
  [LimitExceededError, -32005, []],
  [ExecutionRevertedError, 3, ['0x']],
  [UnauthorizedError, 4100, []],
];

test('every error class has its fixed code', () => {
  for (const [Cls, code, args] of CODES) {
    const err = new Cls(...args);
    assert.ok(err instanceof RpcError, Cls.name);
    assert.ok(err instanceof Error, Cls.name);
    assert.equal(err.code, code, Cls.name);
    assert.equal((Cls as unknown as { code: number }).code, code, `${Cls.name}.code`);
    assert.equal(err.name, Cls.name);
    assert.equal(toJsonRpcError(err).code, code);
  }
});

test('method errors name the method like geth', () => {
  assert.equal(new MethodNotFoundError('eth_foo').message, 'the method eth_foo does not exist/is not available');
  assert.equal(new MethodNotSupportedError('eth_mining').message, 'the method eth_mining is not supported');
});

test('ExecutionRevertedError carries revert bytes and decodes Error(string)', () => {
  const bare = new ExecutionRevertedError();
  assert.equal(bare.message, 'execution reverted');
  assert.deepEqual(toJsonRpcError(bare), { code: 3, message: 'execution reverted', data: '0x' });

  // Error("nope")
  const payload =
    '0x08c379a0' +
    '0000000000000000000000000000000000000000000000000000000000000020' +
    '0000000000000000000000000000000000000000000000000000000000000004' +
    '6e6f706500000000000000000000000000000000000000000000000000000000';
  const decoded = new ExecutionRevertedError(payload);
  assert.equal(decoded.message, 'execution reverted: nope');
  assert.equal(decoded.data, payload);

  const custom = new ExecutionRevertedError(Uint8Array.from([0xde, 0xad, 0xbe, 0xef]), 'Unauthorized()');
  assert.deepEqual(toJsonRpcError(custom), { code: 3, message: 'execution reverted: Unauthorized()', data: '0xdeadbeef' });

  // Truncated Error(string): no reason, still code 3 with the raw data.
  assert.equal(new ExecutionRevertedError('0x08c379a000').message, 'execution reverted');

  // Panic(uint256) in geth's words; a code geth does not name, by number.
  const panic = (code: number) => '0x4e487b71' + code.toString(16).padStart(64, '0');
  assert.equal(new ExecutionRevertedError(panic(0x11)).message, 'execution reverted: arithmetic underflow or overflow');
  assert.equal(new ExecutionRevertedError(panic(0x99)).message, 'execution reverted: unknown panic code: 0x99');
  assert.equal(new ExecutionRevertedError('0x4e487b7100').message, 'execution reverted');

  // Any other selector: a custom error, named as Anvil does, with the full data kept.
  const withArgs = '0xCAFEBABE' + '00'.repeat(31) + '07';
  assert.deepEqual(toJsonRpcError(new ExecutionRevertedError(withArgs)), {
    code: 3,
    message: `execution reverted: custom error 0xcafebabe: ${'00'.repeat(31)}07`,
    data: withArgs.toLowerCase(),
  });
  assert.equal(new ExecutionRevertedError('0xcafebabe').message, 'execution reverted: custom error 0xcafebabe');
  // Fewer than 4 bytes name no selector.
  assert.equal(new ExecutionRevertedError('0xcafe').message, 'execution reverted');
});

test('unknown errors become a bare -32603 and are logged where they happened, never what they say', () => {
  const logged: unknown[] = [];
  const log: Logger = (level, msg, extra) => logged.push({ level, msg, extra });
  const out = toJsonRpcError(new TypeError('cannot read 0xsecretparam\n    at 0xsecretparam'), log);
  assert.deepEqual(out, { code: -32603, message: 'internal error' });
  assert.equal(logged.length, 1);
  const line = JSON.stringify(logged[0]);
  assert.match(line, /"error":"TypeError"/);
  assert.match(line, /errors\.test\.ts/, 'the stack frames are logged');
  assert.doesNotMatch(line, /secretparam/);
  toJsonRpcError({ secret: '0xsecretparam' }, log);
  assert.doesNotMatch(JSON.stringify(logged[1]), /secretparam/);

  assert.deepEqual(toJsonRpcError('a string', log), { code: -32603, message: 'internal error' });
  assert.deepEqual(toJsonRpcError({ code: 1, message: 'lookalike' }, log), { code: -32603, message: 'internal error' });
  assert.deepEqual(toJsonRpcError(new InvalidInputError('nonce too low')), { code: -32000, message: 'nonce too low' });
});
