/**
 * The enclave patches @ethereumjs/evm in place (Enclave init: cacheJumpAnalysis,
 * installFastWordOpcodes, installSyncOpcodeLoop, installMessageGuard). Here one block of
 * mixed transactions (test/contracts/EvmWorkout.sol: CREATE and CREATE2, a CREATE2
 * collision, DELEGATECALL, STATICCALL, TSTORE/TLOAD, MCOPY, word arithmetic over memory
 * and storage, reverts caught and uncaught, an inner and a top-level out-of-gas) and a few
 * eth_call-like calls run on the plain VM first, then again after installing the patches
 * as the enclave does, with a message guard that allows everything (a contract without a
 * confidentiality policy) and a read's execution budget on the calls. Everything a client
 * can observe must be identical: the state root, each receipt (status, cumulative gas,
 * logs, bloom) and the receipt root, each transaction's gas and output, each call's gas,
 * return data and error.
 *
 * The patches replace prototype methods and the shared opcode table for the whole process,
 * so the unpatched run goes first (node's test runner gives this file a process of its own),
 * and records the opcodes it executes so the test knows the block reaches every case.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBlock } from '@ethereumjs/block';
import { createMPT } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import {
  createAccessList2930Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  type TypedTransaction,
} from '@ethereumjs/tx';
import {
  Account,
  type Address,
  bytesToHex,
  createAddressFromPrivateKey,
  createAddressFromString,
  createContractAddress,
  createContractAddress2,
  hexToBytes,
  KECCAK256_RLP,
} from '@ethereumjs/util';
import { Bloom, createVM, encodeReceipt, runTx } from '@ethereumjs/vm';
import { Interface } from 'ethers';
import { createChainCommon } from '../../runtime/chain/common.ts';
import { cacheJumpAnalysis } from '../../runtime/evm/cacheJumpAnalysis.ts';
import { type BudgetedEvm, ExecutionBudget } from '../../runtime/evm/ExecutionBudget.ts';
import { installFastWordOpcodes } from '../../runtime/evm/fastWordOpcodes.ts';
import { type GuardedEvm, installMessageGuard, type MessageGuard } from '../../runtime/evm/messageGuard.ts';
import { installSyncOpcodeLoop } from '../../runtime/evm/syncOpcodeLoop.ts';
import { compileSources } from '../../scripts/compile-contracts.ts';

const SOURCE = 'test/contracts/EvmWorkout.sol';
const common = createChainCommon(1337n);
const KEY = hexToBytes(`0x${'42'.repeat(32)}`);
const SENDER = createAddressFromPrivateKey(KEY);
const COINBASE = createAddressFromString(`0x${'c0'.repeat(20)}`);
const PAYEE = createAddressFromString(`0x${'be'.repeat(20)}`);
const SALT = `0x${'5a'.repeat(32)}`;
const SEED = 0xdeadbeefn;
const ZERO_ROOT = new Uint8Array(32);

/** Gas, output and error of a transaction or call, as a client sees them. */
interface Outcome {
  gasUsed: string;
  returnValue: string;
  error?: string;
}
interface TxOutcome extends Outcome {
  status: number;
  cumulativeGasUsed: string;
  logs: string[][];
  bloom: string;
  createdAddress?: string;
  receipt: string;
}
interface BlockOutcome {
  stateRoot: string;
  receiptRoot: string;
  logsBloom: string;
  gasUsed: string;
  txs: TxOutcome[];
  calls: Record<string, Outcome>;
}

interface Code {
  workout: Interface;
  child: Interface;
  counterInit: string;
  workoutInit: string;
  childInit: string;
}

function compile(): Code {
  const out = compileSources([SOURCE], { quiet: true }).contracts![SOURCE]!;
  const init = (name: string) => `0x${out[name]!.evm.bytecode.object}`;
  return {
    workout: new Interface(out.Workout!.abi as never),
    child: new Interface(out.Child!.abi as never),
    counterInit: init('Counter'),
    workoutInit: init('Workout'),
    childInit: init('Child'),
  };
}

/** The block's transactions, all from SENDER, and the addresses they create. */
function transactions(code: Code) {
  const counter = createContractAddress(SENDER, 0n);
  const workout = createContractAddress(SENDER, 1n);
  const childInit = code.childInit + code.workout.getAbiCoder().encode(['uint256'], [SEED]).slice(2);
  const child = createContractAddress2(workout, hexToBytes(SALT as `0x${string}`), hexToBytes(childInit as `0x${string}`));
  const call = (fn: string, args: unknown[] = []) => hexToBytes(code.workout.encodeFunctionData(fn, args) as `0x${string}`);
  const fee = { maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
  let nonce = 0n;
  const tx1559 = (data: Uint8Array, gasLimit = 2_000_000n, to: Address | null = workout): TypedTransaction =>
    createFeeMarket1559Tx({ ...fee, nonce: nonce++, gasLimit, to: to ?? undefined, data, chainId: 1337n }, { common }).sign(KEY);
  const deployWorkout = code.workoutInit + code.workout.getAbiCoder().encode(['address'], [counter.toString()]).slice(2);
  const txs: TypedTransaction[] = [
    tx1559(hexToBytes(code.counterInit as `0x${string}`), 1_000_000n, null),
    tx1559(hexToBytes(deployWorkout as `0x${string}`), 3_000_000n, null),
    tx1559(call('deploy', [SALT, SEED])),
    tx1559(call('delegateBump', [5])),
    tx1559(call('crunch', [24])),
    tx1559(call('transientRoundTrip', [3])),
    tx1559(call('transientRoundTrip', [4])),
    tx1559(call('failRequire')),
    tx1559(call('failCustom', [7])),
    tx1559(call('catchAll', [SALT, SEED])),
    // A CREATE2 collision at the top: the transaction reverts.
    tx1559(call('deploy', [SALT, SEED])),
    // Out of gas in the middle of the loop.
    tx1559(call('crunch', [30]), 120_000n),
    createLegacyTx({ nonce: nonce++, gasPrice: 9_000_000_000n, gasLimit: 21_000n, to: PAYEE, value: 12345n }, { common }).sign(KEY),
    // Warm slots and addresses from an access list change SLOAD's and CALL's gas.
    createAccessList2930Tx(
      {
        nonce: nonce++,
        gasPrice: 9_000_000_000n,
        gasLimit: 2_000_000n,
        to: workout,
        data: call('crunch', [9]),
        chainId: 1337n,
        accessList: [
          { address: workout.toString(), storageKeys: [bytesToHex(new Uint8Array(32)), `0x${'0'.repeat(63)}2`] },
          { address: child.toString(), storageKeys: [] },
        ],
      },
      { common },
    ).sign(KEY),
  ];
  return { txs, counter, workout, child };
}

/** Runs the block and the calls on a fresh VM; `opcodes`, when given, collects every opcode the block executes. */
async function run(code: Code, patched: boolean, opcodes?: Set<number>): Promise<{ outcome: BlockOutcome; created: string[]; ticks: number }> {
  const vm = await createVM({ common });
  await vm.stateManager.putAccount(SENDER, new Account(0n, 10n ** 24n));
  const evm = vm.evm as typeof vm.evm & GuardedEvm & BudgetedEvm;
  const created: string[] = [];
  const guard: MessageGuard = {
    refused: false,
    created: async (_creator, address) => {
      created.push(address);
    },
    allows: () => true,
  };
  if (patched) evm.messageGuard = guard;
  if (opcodes) evm.events!.on('step', (step: { opcode: { code: number } }) => opcodes.add(step.opcode.code));

  const block = createBlock(
    {
      header: {
        number: 1n,
        timestamp: 1_750_000_000n,
        gasLimit: 30_000_000n,
        baseFeePerGas: 7n,
        coinbase: COINBASE,
        mixHash: hexToBytes(`0x${'ab'.repeat(32)}`),
        withdrawalsRoot: KECCAK256_RLP,
        blobGasUsed: 0n,
        excessBlobGas: 0n,
        parentBeaconBlockRoot: ZERO_ROOT,
      },
    },
    { common },
  );
  const { txs, workout, child } = transactions(code);
  const receiptTrie = await createMPT();
  const bloom = new Bloom(undefined, common);
  let gasUsed = 0n;
  const outcomes: TxOutcome[] = [];
  for (const [i, tx] of txs.entries()) {
    const result = await runTx(vm, { tx, block, skipHardForkValidation: true, skipBlockGasLimitValidation: true });
    gasUsed += result.totalGasSpent;
    result.receipt.cumulativeBlockGasUsed = gasUsed;
    const receipt = encodeReceipt(result.receipt, tx.type);
    await receiptTrie.put(RLP.encode(i), receipt);
    bloom.or(result.bloom);
    outcomes.push({
      status: result.execResult.exceptionError ? 0 : 1,
      gasUsed: result.totalGasSpent.toString(),
      cumulativeGasUsed: gasUsed.toString(),
      returnValue: bytesToHex(result.execResult.returnValue),
      error: result.execResult.exceptionError?.error,
      logs: (result.execResult.logs ?? []).map(([address, topics, data]) => [bytesToHex(address), ...topics.map((t) => bytesToHex(t)), bytesToHex(data)]),
      bloom: bytesToHex(result.bloom.bitvector),
      createdAddress: result.createdAddress?.toString(),
      receipt: bytesToHex(receipt),
    });
  }
  const stateRoot = bytesToHex(await vm.stateManager.getStateRoot());
  // Tracing copies the stack and memory at every step: the block alone is enough.
  evm.events!.removeAllListeners('step');

  // eth_call-like reads of the state the block left; a read runs with a budget.
  let ticks = 0;
  if (patched) {
    const budget = new ExecutionBudget(30_000);
    const tick = budget.tick.bind(budget);
    budget.tick = () => {
      ticks++;
      return tick();
    };
    evm.executionBudget = budget;
  }
  const calls: Record<string, Outcome> = {};
  const reads: [string, Address, Interface, string, unknown[]][] = [
    ['peek', workout, code.workout, 'peek', [0x1234567890abcdefn]],
    ['counter', workout, code.workout, 'counter', []],
    ['seenTransient', workout, code.workout, 'seenTransient', []],
    ['lastChild', workout, code.workout, 'lastChild', []],
    ['words(9)', workout, code.workout, 'words', [9]],
    ['child.seed', child, code.child, 'seed', []],
    ['child.mix', child, code.child, 'mix', [2n ** 255n + 99n]],
    ['failRequire', workout, code.workout, 'failRequire', []],
    ['failCustom', workout, code.workout, 'failCustom', [7]],
    ['burn', workout, code.workout, 'burn', []],
    // Long enough for the opcode loop to check the budget several times.
    ['crunch(60)', workout, code.workout, 'crunch', [60]],
  ];
  for (const [name, to, abi, fn, args] of reads) {
    const r = await evm.runCall({
      caller: SENDER,
      to,
      data: hexToBytes(abi.encodeFunctionData(fn, args) as `0x${string}`),
      gasLimit: fn === 'burn' ? 100_000n : 10_000_000n,
      block,
    });
    calls[name] = {
      gasUsed: r.execResult.executionGasUsed.toString(),
      returnValue: bytesToHex(r.execResult.returnValue),
      error: r.execResult.exceptionError?.error,
    };
  }
  evm.executionBudget = undefined;
  evm.messageGuard = undefined;
  assert.equal(guard.refused, false);
  return {
    ticks,
    outcome: {
      stateRoot,
      receiptRoot: bytesToHex(receiptTrie.root()),
      logsBloom: bytesToHex(bloom.bitvector),
      gasUsed: gasUsed.toString(),
      txs: outcomes,
      calls,
    },
    created,
  };
}

/** What the four patches replace: the opcode loop, the jump analysis, the MLOAD handler, the EVM's message entry. */
async function patchedParts(): Promise<unknown[]> {
  const base = import.meta.resolve('@ethereumjs/evm');
  const { Interpreter } = (await import(new URL('./interpreter.js', base).href)) as { Interpreter: { prototype: Record<string, unknown> } };
  const { handlers } = (await import(new URL('./opcodes/functions.js', base).href)) as { handlers: Map<number, unknown> };
  const { EVM } = await import('@ethereumjs/evm');
  return [Interpreter.prototype.run, Interpreter.prototype._getValidJumpDestinations, handlers.get(0x51), (EVM.prototype as unknown as Record<string, unknown>).runInterpreter];
}

test('the EVM patches run a block of mixed transactions exactly as the plain VM', async () => {
  const code = compile();
  const opcodes = new Set<number>();
  const before = await patchedParts();
  const plain = await run(code, false, opcodes);

  // As Enclave.init installs them.
  await cacheJumpAnalysis();
  await installFastWordOpcodes();
  await installSyncOpcodeLoop();
  installMessageGuard();
  const after = await patchedParts();
  for (let i = 0; i < before.length; i++) assert.notEqual(after[i], before[i], `patch ${i} installed`);

  const patched = await run(code, true);
  assert.deepEqual(patched.outcome, plain.outcome);

  // The comparison covers what it claims to: the block reached every case.
  const names: Record<number, string> = {
    0x01: 'ADD', 0x02: 'MUL', 0x03: 'SUB', 0x04: 'DIV', 0x08: 'ADDMOD', 0x09: 'MULMOD', 0x10: 'LT', 0x11: 'GT', 0x14: 'EQ',
    0x15: 'ISZERO', 0x16: 'AND', 0x17: 'OR', 0x18: 'XOR', 0x1b: 'SHL', 0x1c: 'SHR', 0x20: 'KECCAK256', 0x51: 'MLOAD',
    0x52: 'MSTORE', 0x54: 'SLOAD', 0x55: 'SSTORE', 0x5c: 'TLOAD', 0x5d: 'TSTORE', 0x5e: 'MCOPY', 0xa2: 'LOG2',
    0xf0: 'CREATE', 0xf4: 'DELEGATECALL', 0xf5: 'CREATE2', 0xfa: 'STATICCALL', 0xfd: 'REVERT',
  };
  const missing = Object.entries(names).filter(([op]) => !opcodes.has(Number(op))).map(([, name]) => name);
  assert.deepEqual(missing, [], 'opcodes the block never ran');

  const { txs, calls } = plain.outcome;
  const { workout, counter, child } = transactions(code);
  assert.deepEqual(txs.map((t) => t.status), [1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1]);
  assert.deepEqual([txs[0]!.createdAddress, txs[1]!.createdAddress], [counter.toString(), workout.toString()]);
  assert.equal(txs[7]!.returnValue, code.workout.encodeErrorResult('Error', ['failRequire: always']));
  assert.equal(txs[8]!.returnValue, code.workout.encodeErrorResult('TooSmall', [7, 100]));
  assert.equal(txs[11]!.error, 'out of gas');
  // Reverts caught inside a successful transaction, each with its reason: a require, a
  // custom error, an inner out-of-gas, a CREATE2 collision, the transient lock.
  const caught = txs[9]!.logs.map((log) => code.workout.getAbiCoder().decode(['bytes'], log[3]!)[0] as string);
  assert.deepEqual(caught, [
    code.workout.encodeErrorResult('Error', ['failRequire: always']),
    code.workout.encodeErrorResult('TooSmall', [7, 100]),
    '0x',
    '0x',
    code.workout.encodeErrorResult('Error', ['reentered']),
  ]);
  assert.equal(calls.failCustom!.returnValue, code.workout.encodeErrorResult('TooSmall', [7, 100]));
  assert.equal(calls.burn!.error, 'out of gas');
  // Transient storage did not outlive the first round trip's transaction.
  assert.deepEqual(code.workout.decodeFunctionResult('seenTransient', calls.seenTransient!.returnValue).toArray(), [4n]);
  assert.equal(code.workout.decodeFunctionResult('lastChild', calls.lastChild!.returnValue)[0].toLowerCase(), child.toString());
  assert.ok(patched.ticks > 0, 'the opcode loop checked the budget of the reads');
  // The guard saw every creation: both deployments, the one in the constructor, the
  // factory's (the collisions fail before their constructor would run).
  const firstChild = createContractAddress(workout, 1n);
  assert.deepEqual(patched.created, [counter.toString(), workout.toString(), firstChild.toString(), child.toString()]);
});
