import { EnclaveFailure } from '../enclave/EnclaveFailure.ts';

/** A read ran past its deadline: geth's "execution aborted (timeout = 5s)". */
export class ExecutionAborted extends EnclaveFailure {}

/** How long a read runs before letting block production and other requests in. */
const SLICE_MS = 1;

/**
 * The wall-clock budget of one read (an eth_call, a whole eth_estimateGas search, a
 * log query, an archive rebuild). Work that can run long calls `tick` every so often:
 * past the deadline it throws geth's "execution aborted" error; past the end of its
 * time slice it yields to the event loop, so a read does not hold block production.
 * The EVM's opcode loop calls it every few thousand opcodes (see syncOpcodeLoop); a
 * precompile runs whole between two checks.
 */
export class ExecutionBudget {
  readonly deadline: number;
  private sliceEnd: number;
  /** Opcodes run since the last check (the opcode loop counts them). */
  steps = 0;

  constructor(private readonly timeoutMs: number) {
    const now = performance.now();
    this.deadline = now + timeoutMs;
    this.sliceEnd = now + SLICE_MS;
  }

  /** Throws once the deadline has passed; yields once the time slice is used up. */
  async tick(): Promise<void> {
    let now = performance.now();
    if (now >= this.deadline) throw this.aborted();
    if (now < this.sliceEnd) return;
    await new Promise(setImmediate);
    now = performance.now();
    if (now >= this.deadline) throw this.aborted();
    this.sliceEnd = now + SLICE_MS;
  }

  /** Throws once the deadline has passed. */
  check(): void {
    if (performance.now() >= this.deadline) throw this.aborted();
  }

  /** geth's message for a call past --rpc.evmtimeout. */
  aborted(): ExecutionAborted {
    const ms = this.timeoutMs;
    return new ExecutionAborted('invalidInput', `execution aborted (timeout = ${ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`})`);
  }
}

/**
 * Waits in `line` until the one ahead hands over its turn by calling the function it
 * queued; past the budget's deadline it gives up its place and throws the timeout.
 */
export function waitInLine(line: (() => void)[], budget: ExecutionBudget): Promise<void> {
  return new Promise((resolve, reject) => {
    const go = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      const i = line.indexOf(go);
      if (i >= 0) line.splice(i, 1);
      reject(budget.aborted());
    }, Math.max(0, budget.deadline - performance.now()));
    line.push(go);
  });
}

/** The EVM instance field through which the opcode loop finds the budget of the call it runs. */
export interface BudgetedEvm {
  executionBudget?: ExecutionBudget;
}
