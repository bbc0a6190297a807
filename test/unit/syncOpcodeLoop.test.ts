import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEVM } from '@ethereumjs/evm';
import { Account, bytesToHex, createAddressFromString, hexToBytes } from '@ethereumjs/util';
import { installSyncOpcodeLoop } from '../../runtime/evm/syncOpcodeLoop.ts';

const CONTRACT = createAddressFromString('0x00000000000000000000000000000000000c0de0');

/** Bytecode programs that end every way a frame can end. */
const PROGRAMS: Record<string, string> = {
  'arithmetic, memory and RETURN': '0x6002600301600052600a600b02602052604060' + '00f3',
  'storage (async opcodes) between sync ones': '0x602a60015560015460005260206000f3',
  'a loop that runs out of gas': '0x5b600056',
  'INVALID': '0x6001fe',
  'stack underflow': '0x01',
  'REVERT with data': '0x60ff60005260206000fd',
  'jump to a non-JUMPDEST': '0x600356',
  'LOG1 and STOP': '0x60aa6000526020600060bb60006001a100',
  'KECCAK256 and EXP (dynamic gas)': '0x6001600052602060002060020a60005260206000f3',
  'a nested CALL to itself that reverts': '0x6000600060006000600030620186a0f160005260206000f3',
};

async function runAll(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, hex] of Object.entries(PROGRAMS)) {
    const evm = await createEVM();
    await evm.stateManager.putAccount(CONTRACT, new Account());
    await evm.stateManager.putCode(CONTRACT, hexToBytes(hex as `0x${string}`));
    const r = await evm.runCall({ to: CONTRACT, gasLimit: 200_000n, data: new Uint8Array() });
    out[name] = {
      gasUsed: r.execResult.executionGasUsed.toString(),
      returnValue: bytesToHex(r.execResult.returnValue),
      error: r.execResult.exceptionError?.error,
      logs: (r.execResult.logs ?? []).map((l) => l.map((x) => (Array.isArray(x) ? x.map((y) => bytesToHex(y)) : bytesToHex(x)))),
      slot1: bytesToHex(await evm.stateManager.getStorage(CONTRACT, hexToBytes(`0x${'0'.repeat(63)}1`))),
    };
  }
  return out;
}

test('the synchronous opcode loop ends every kind of frame exactly as the ethereumjs loop', async () => {
  const before = await runAll();
  await installSyncOpcodeLoop();
  const after = await runAll();
  assert.deepEqual(after, before);
  // The programs do reach each ending (so the comparison is not vacuous).
  const errors = Object.values(before).map((r) => (r as { error?: string }).error);
  for (const e of ['out of gas', 'invalid opcode', 'stack underflow', 'revert', 'invalid JUMP']) {
    assert.ok(errors.some((x) => x?.startsWith(e)), `${e} in ${JSON.stringify(errors)}`);
  }
  assert.equal((before['storage (async opcodes) between sync ones'] as { slot1: string }).slot1, '0x2a');
});
