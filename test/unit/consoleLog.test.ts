/**
 * console.sol lines: every selector Hardhat's node decodes prints what Hardhat prints
 * (addresses checksummed, as Anvil), old `log(uint)`-style selectors still print, calldata
 * a compiled contract really sends is decoded, and malformed, hostile or oversize calldata
 * prints nothing or a bounded, escaped line, never a throw.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, test } from 'node:test';
import { Common, Hardfork, Mainnet } from '@ethereumjs/common';
import { createEVM } from '@ethereumjs/evm';
import { createAddressFromString, hexToBytes } from '@ethereumjs/util';
import { AbiCoder, Interface, id } from 'ethers';
import solc from 'solc';
import { initEthCrypto } from '../../runtime/crypto/ethCrypto.ts';
import { CONSOLE_ADDRESS, formatConsoleLog } from '../../runtime/evm/consoleLog.ts';

const require = createRequire(import.meta.url);
// Hardhat's own decoder (hardhat is a dev dependency): the reference for what Hardhat prints.
const { ConsoleLogger } = require('hardhat/internal/hardhat-network/stack-traces/consoleLogger.js') as {
  ConsoleLogger: { getDecodedLogs(messages: Buffer[]): string[] };
};
const { CONSOLE_LOG_SIGNATURES } = require('hardhat/internal/hardhat-network/stack-traces/logger.js') as {
  CONSOLE_LOG_SIGNATURES: Record<number, string[]>;
};

const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const BOB = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

/** Calldata for `signature` (its selector taken over the text as written, as abi.encodeWithSignature does). */
function calldata(signature: string, values: unknown[]): Uint8Array {
  const types = signature.slice(signature.indexOf('(') + 1, -1).split(',').filter((t) => t !== '');
  const canonical = types.map((t) => t.replace(/^(u?int)$/, '$1256'));
  return hexToBytes(`${id(signature).slice(0, 10)}${AbiCoder.defaultAbiCoder().encode(canonical, values).slice(2)}` as `0x${string}`);
}

/** A sample value per type, strings carrying format specifiers. */
function sample(type: string, i: number): unknown {
  if (type === 'uint256') return 2n ** 255n + BigInt(i);
  if (type === 'int256') return -(2n ** 200n) - BigInt(i);
  if (type === 'string') return `s${i} %s|%d|%i|%o|%%d|%j|%c|100%`;
  if (type === 'bool') return i % 2 === 0;
  if (type === 'address') return i % 2 === 0 ? ALICE : BOB;
  if (type === 'bytes') return Uint8Array.from([i, 0xab, 0xcd]);
  const size = Number(type.slice(5));
  return Uint8Array.from({ length: size }, (_, k) => (k * 7 + i) & 0xff);
}

before(async () => {
  await initEthCrypto();
});

describe('console.log lines', () => {
  test('the address is "console.log" in ASCII, left-padded', () => {
    assert.equal(CONSOLE_ADDRESS, `0x${Buffer.from('console.log').toString('hex').padStart(40, '0')}`);
  });

  test("every selector Hardhat decodes prints Hardhat's line, with checksummed addresses", () => {
    const selectors = Object.keys(CONSOLE_LOG_SIGNATURES);
    assert.equal(selectors.length, 375);
    for (const key of selectors) {
      const types = CONSOLE_LOG_SIGNATURES[Number(key)].map((t) => t.toLowerCase());
      const data = hexToBytes(
        `0x${Number(key).toString(16).padStart(8, '0')}${AbiCoder.defaultAbiCoder().encode(types, types.map(sample)).slice(2)}` as `0x${string}`,
      );
      const hardhat = ConsoleLogger.getDecodedLogs([Buffer.from(data)])[0];
      const ours = formatConsoleLog(data);
      assert.ok(ours !== undefined, `log(${types.join(',')})`);
      const expected = hardhat.replace(/0x[0-9a-f]{40}(?![0-9a-f])/g, (a) => (a === ALICE.toLowerCase() ? ALICE : a === BOB.toLowerCase() ? BOB : a));
      // bytes20 values are hex too: only the two sample addresses are checksummed.
      if (!types.includes('bytes20')) assert.equal(ours, expected, `log(${types.join(',')})`);
      else assert.equal(ours.toLowerCase(), hardhat.toLowerCase());
    }
  });

  test('the lines users see', () => {
    const cases: [string, unknown[], string][] = [
      ['log(string,address,address,uint256)', ['Transferring from %s to %s %s tokens', ALICE, BOB, 1000n], `Transferring from ${ALICE} to ${BOB} 1000 tokens`],
      ['log(string,uint256)', ['value', 42n], 'value 42'],
      ['log(string,uint256)', ['balance %d wei', 2n ** 256n - 1n], `balance ${2n ** 256n - 1n} wei`],
      ['log(string,bool)', ['ok?', true], 'ok? true'],
      ['log(int256)', [-5n], '-5'],
      ['log(bytes32)', [`0x${'ab'.repeat(32)}`], `0x${'ab'.repeat(32)}`],
      ['log(bytes)', ['0x'], '0x'],
      ['log(string,string)', ['%o', 'x'], "'x'"],
      ['log(string,uint256)', ['100%% of %i', 7n], '100% of 7'],
      ['log(string)', ['100%%'], '100%%'],
      ['log(string)', ['%s'], '%s'],
      ['log(uint256,string)', [1n, 'x'], '1 x'],
      ['log()', [], ''],
    ];
    for (const [signature, values, line] of cases) assert.equal(formatConsoleLog(calldata(signature, values)), line, signature);
  });

  test('the forge-std overload and the old `uint`/`int` selectors still print', () => {
    assert.equal(formatConsoleLog(calldata('log(string,int256)', ['delta', -3n])), 'delta -3');
    assert.equal(formatConsoleLog(calldata('log(uint)', [42n])), '42');
    assert.equal(formatConsoleLog(calldata('log(int)', [-42n])), '-42');
    assert.equal(formatConsoleLog(calldata('log(string,uint)', ['n', 7n])), 'n 7');
    assert.equal(formatConsoleLog(calldata('log(string,int)', ['n', -7n])), 'n -7');
    assert.equal(formatConsoleLog(calldata('log(uint,address,bool,string)', [1n, BOB, false, 'z'])), `1 ${BOB} false z`);
  });

  test('strings are UTF-8, invalid sequences printed as U+FFFD rather than dropped', () => {
    assert.equal(formatConsoleLog(calldata('log(string)', ['héllo ✓'])), 'héllo ✓');
    const raw = new Interface(['function log(bytes)']).encodeFunctionData('log(bytes)', ['0x61ff62']).slice(10);
    assert.equal(formatConsoleLog(hexToBytes(`${id('log(string)').slice(0, 10)}${raw}` as `0x${string}`)), 'a\ufffdb');
  });

  test('unknown selectors and malformed arguments print nothing, and nothing throws', () => {
    assert.equal(formatConsoleLog(new Uint8Array()), undefined);
    assert.equal(formatConsoleLog(Uint8Array.from([0x41, 0x30, 0x4f])), undefined);
    assert.equal(formatConsoleLog(calldata('transfer(address,uint256)', [BOB, 1n])), undefined);
    const good = calldata('log(string,uint256)', ['value', 42n]);
    // Truncated head, an offset past the end, a length past the end, a 2^255 length.
    assert.equal(formatConsoleLog(good.subarray(0, 40)), undefined);
    const farOffset = good.slice();
    farOffset[4 + 30] = 0xff;
    assert.equal(formatConsoleLog(farOffset), undefined);
    const longLength = good.slice();
    longLength[4 + 64 + 30] = 0x01;
    assert.equal(formatConsoleLog(longLength), undefined);
    const hugeLength = good.slice();
    hugeLength[4 + 64] = 0x80;
    assert.equal(formatConsoleLog(hugeLength), undefined);
    // The selector alone for a function with arguments.
    assert.equal(formatConsoleLog(good.subarray(0, 4)), undefined);
    // Random bytes behind every known selector.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
    for (const key of Object.keys(CONSOLE_LOG_SIGNATURES)) {
      const data = Uint8Array.from({ length: 4 + (rnd() % 200) }, rnd);
      new DataView(data.buffer).setUint32(0, Number(key));
      const line = formatConsoleLog(data);
      assert.ok(line === undefined || typeof line === 'string');
    }
  });

  test('oversize calldata is refused and long arguments are cut with a marker', () => {
    const huge = calldata('log(string)', ['x'.repeat(70 * 1024)]);
    assert.ok(huge.length > 64 * 1024);
    assert.equal(formatConsoleLog(huge), undefined);

    const long = formatConsoleLog(calldata('log(string,string)', ['a'.repeat(20000), 'b'.repeat(9000)]));
    assert.equal(long, `${'a'.repeat(8192)}...[${20000 - 8192} more bytes] ${'b'.repeat(8192)}...[${9000 - 8192} more bytes]`);
    // A multi-byte character cut at the limit is left out, not printed as U+FFFD.
    const cut = formatConsoleLog(calldata('log(string)', [`${'a'.repeat(8191)}é${'z'.repeat(100)}`]));
    assert.equal(cut, `${'a'.repeat(8191)}...[${8191 + 2 + 100 - 8192} more bytes]`);
    const bytes = formatConsoleLog(calldata('log(bytes)', [new Uint8Array(10000).fill(0xee)]));
    assert.equal(bytes, `0x${'ee'.repeat(8192)}...[${10000 - 8192} more bytes]`);
    // The largest line calldata under the cap can produce stays within tens of KiB.
    const widest = formatConsoleLog(calldata('log(string,string,string,string)', ['%s'.repeat(4000), 'y'.repeat(15000), 'y'.repeat(15000), 'y'.repeat(15000)]));
    assert.ok(widest !== undefined && widest.length < 40 * 1024, String(widest?.length));
  });

  test('control characters are escaped, so a contract cannot drive the terminal', () => {
    assert.equal(formatConsoleLog(calldata('log(string)', ['\u001b[2J\rfake\u0007\u202eevil\tok\nnext'])), '\\u001b[2J\\u000dfake\\u0007\\u202eevil\tok\nnext');
    assert.equal(formatConsoleLog(calldata('log(string,string)', ['%s', '\u001b[31m'])), '\\u001b[31m');
  });

  test('a compiled contract logs through console.sol and a raw old-style call, seen at the EVM', async () => {
    const source = `
      // SPDX-License-Identifier: MIT
      pragma solidity ^0.8.20;
      library console {
        address constant CONSOLE_ADDRESS = 0x000000000000000000636F6e736F6c652e6c6f67;
        function _send(bytes memory payload) private view {
          address target = CONSOLE_ADDRESS;
          assembly { pop(staticcall(gas(), target, add(payload, 32), mload(payload), 0, 0)) }
        }
        function log(string memory p0) internal view { _send(abi.encodeWithSignature("log(string)", p0)); }
        function log(string memory p0, uint256 p1) internal view { _send(abi.encodeWithSignature("log(string,uint256)", p0, p1)); }
        function log(string memory p0, address p1, bool p2) internal view { _send(abi.encodeWithSignature("log(string,address,bool)", p0, p1, p2)); }
        function log(uint256 p0) internal view { _send(abi.encodeWithSignature("log(uint256)", p0)); }
        function logBytes32(bytes32 p0) internal view { _send(abi.encodeWithSignature("log(bytes32)", p0)); }
      }
      contract Logs {
        address constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;
        function run(uint256 x) external view returns (uint256) {
          console.log("hello");
          console.log("value %d", x);
          console.log("caller %s is contract: %s", msg.sender, msg.sender.code.length > 0);
          console.log(x * 2);
          console.logBytes32(keccak256("x"));
          (bool ok, ) = CONSOLE.staticcall(abi.encodeWithSignature("log(uint)", x + 1));
          return ok ? 1 : 0;
        }
      }`;
    const out = JSON.parse(
      solc.compile(
        JSON.stringify({
          language: 'Solidity',
          sources: { 'Logs.sol': { content: source } },
          settings: { evmVersion: 'prague', outputSelection: { '*': { '*': ['evm.deployedBytecode.object'] } } },
        }),
      ),
    );
    assert.deepEqual((out.errors ?? []).filter((e: { severity: string }) => e.severity === 'error'), []);
    const code = hexToBytes(`0x${out.contracts['Logs.sol'].Logs.evm.deployedBytecode.object}`);
    const evm = await createEVM({ common: new Common({ chain: Mainnet, hardfork: Hardfork.Prague }) });
    const contract = createAddressFromString('0x00000000000000000000000000000000000c0de1');
    await evm.stateManager.putCode(contract, code);
    const lines: string[] = [];
    evm.events.on('beforeMessage', (message) => {
      if (message.to?.toString() === CONSOLE_ADDRESS) lines.push(formatConsoleLog(message.data) ?? '<undecoded>');
    });
    const sender = createAddressFromString(ALICE);
    const result = await evm.runCall({
      caller: sender,
      to: contract,
      data: hexToBytes(new Interface(['function run(uint256) view returns (uint256)']).encodeFunctionData('run', [21n]) as `0x${string}`),
      gasLimit: 1_000_000n,
    });
    assert.equal(result.execResult.exceptionError, undefined);
    assert.deepEqual(lines, ['hello', 'value 21', `caller ${ALICE} is contract: false`, '42', id('x'), '22']);
  });
});
