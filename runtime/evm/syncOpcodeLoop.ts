import type { BudgetedEvm } from './ExecutionBudget.ts';
import { installLeanFrames } from './leanFrames.ts';

type OpInfo = { code: number; feeBigInt: bigint; dynamicGas: boolean; isAsync: boolean; isInvalid: boolean };
type OpEntry = { opcodeInfo: OpInfo; opHandler: (runState: RunState, common: unknown) => void };
type RunState = {
  code: Uint8Array;
  programCounter: number;
  opCode: number;
  gasLeft: bigint;
  validJumps: Uint8Array;
  cachedPushes: Record<number, bigint>;
  shouldDoJumpAnalysis: boolean;
  eip8037BurnLeftoverAfterCreateHaltOntoAlive?: boolean;
  env: { accessWitness?: { commit(): void; revert(): void } };
};
type Analysis = { jumps: Uint8Array; pushes: Record<number, bigint>; opcodesCached: OpEntry[] };
type Interpreter = {
  _runState: RunState;
  _evm: { DEBUG: boolean; events: { listenerCount(name: string): number } } & BudgetedEvm;
  common: { isActivatedEIP(eip: number): boolean };
  profilerOpts?: { enabled?: boolean };
  lookupOpInfo(op: number): OpEntry;
  runStep(op?: OpEntry): Promise<void>;
  useGas(amount: bigint, context?: OpInfo): void;
  _getValidJumpDestinations(code: Uint8Array): Analysis;
};
type Run = (this: Interpreter, code: Uint8Array, opts?: { pc?: number }) => Promise<{ runState: RunState; exceptionError?: unknown }>;

let installed = false;
/** A call's budget is checked every CHECK_EVERY opcodes it runs, nested frames included. */
const CHECK_EVERY = 4096;

/**
 * The ethereumjs interpreter awaits every opcode: `runStep` is an async function, so
 * each PUSH, DUP or ADD costs a promise, an async frame and a microtask (~40% of the
 * allocation of an ERC20 transfer). This loop runs opcodes with static gas and a
 * synchronous handler (most of them) inline, exactly as `runStep` does, and awaits
 * `runStep` only for the others (state access, memory expansion, calls). Anything
 * unusual (EOF code, a profiler, a step tracer, debug, EIP-7864 code witnesses) runs
 * the original loop. Otherwise this is the original `run`, line for line, plus one
 * thing: every few thousand opcodes (across nested frames) a read's execution budget
 * is checked, so a looping eth_call ends at its deadline and yields meanwhile. The
 * frames around the loop (`_executeCall`, `runInterpreter`) come with it: see leanFrames.
 *
 * The Interpreter class is internal to @ethereumjs/evm (not in its exports map), so it
 * is reached through the module files that the EVM itself loads.
 */
export async function installSyncOpcodeLoop(): Promise<void> {
  if (installed) return;
  installed = true;
  // The frames around the loop, built without slow object spreads.
  await installLeanFrames();
  const base = import.meta.resolve('@ethereumjs/evm');
  const { Interpreter } = (await import(new URL('./interpreter.js', base).href)) as { Interpreter: { prototype: { run: Run } } };
  const { EVMError, EVMErrorTypeString } = (await import(new URL('./errors.js', base).href)) as {
    EVMError: (new (message: string) => Error) & { errorMessages: Record<string, string> };
    EVMErrorTypeString: string;
  };
  const { consumeEip7928PostTargetCallOog } = (await import(new URL('./opcodes/EIP7928.js', base).href)) as {
    consumeEip7928PostTargetCallOog(runState: RunState): void;
  };
  const { STOP, INVALID_OPCODE, OUT_OF_GAS } = EVMError.errorMessages as Record<string, string>;
  const original = Interpreter.prototype.run;

  Interpreter.prototype.run = async function (this: Interpreter, code, opts = {}) {
    if (
      (code[0] === 0xef && this.common.isActivatedEIP(3540)) ||
      this.profilerOpts?.enabled === true ||
      this._evm.DEBUG ||
      this._evm.events.listenerCount('step') > 0 ||
      this.common.isActivatedEIP(7864)
    ) {
      return original.call(this, code, opts);
    }
    const runState = this._runState;
    runState.code = code;
    runState.programCounter = opts.pc ?? runState.programCounter;
    const pc = runState.programCounter;
    if (pc !== 0 && (pc < 0 || pc >= code.length)) throw new Error('Internal error: program counter not in range');
    let err: unknown;
    let cachedOpcodes: OpEntry[] | undefined;
    let doJumpAnalysis = true;
    // Calls run with a budget (blocks without one); frames of one call share it.
    const budget = this._evm.executionBudget;
    while (runState.programCounter < runState.code.length) {
      const programCounter = runState.programCounter;
      let opCode: number;
      let opCodeObj: OpEntry | undefined;
      if (doJumpAnalysis) {
        opCode = runState.code[programCounter]!;
        // Only run the jump destination analysis if `code` contains a JUMP/JUMPI/JUMPSUB.
        if (opCode === 0x56 || opCode === 0x57 || opCode === 0x5e) {
          const { jumps, pushes, opcodesCached } = this._getValidJumpDestinations(runState.code);
          runState.validJumps = jumps;
          runState.cachedPushes = pushes;
          runState.shouldDoJumpAnalysis = false;
          cachedOpcodes = opcodesCached;
          doJumpAnalysis = false;
        }
      } else {
        opCodeObj = cachedOpcodes![programCounter]!;
        opCode = opCodeObj.opcodeInfo.code;
      }
      runState.opCode = opCode;
      if (budget !== undefined && ++budget.steps === CHECK_EVERY) {
        budget.steps = 0;
        // Outside the try: an aborted call is not an EVM exception, it ends the whole call.
        await budget.tick();
      }
      try {
        const opEntry = opCodeObj ?? this.lookupOpInfo(opCode);
        const opInfo = opEntry.opcodeInfo;
        if (opInfo.dynamicGas || opInfo.isAsync) {
          await this.runStep(opCodeObj);
        } else {
          // runStep's steps for a static-gas, synchronous opcode.
          if (opInfo.isInvalid) throw new EVMError(INVALID_OPCODE!);
          this.useGas(opInfo.feeBigInt, opInfo);
          runState.programCounter++;
          consumeEip7928PostTargetCallOog(runState);
          opEntry.opHandler(runState, this.common);
          runState.env.accessWitness?.commit();
        }
      } catch (e) {
        // Revert access witness changes if we revert (EIP-4762).
        runState.env.accessWitness?.revert();
        // Re-throw non-VM errors; STOP is not an exception.
        if (!(typeof e === 'object' && e !== null && 'errorType' in e && e.errorType === EVMErrorTypeString)) throw e;
        if ((e as { error?: string }).error !== STOP) err = e;
        break;
      }
    }
    if (err === undefined && runState.eip8037BurnLeftoverAfterCreateHaltOntoAlive === true && runState.gasLeft > 0n) {
      // Consume the leftover and halt this frame, as the original loop does.
      runState.gasLeft = 0n;
      err = new EVMError(OUT_OF_GAS!);
    }
    return { runState, exceptionError: err };
  };
}
