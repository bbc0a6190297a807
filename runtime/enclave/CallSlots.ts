import type { Block } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import type { TypedTransaction } from '@ethereumjs/tx';
import { createVM, runTx, type RunTxResult, type VM } from '@ethereumjs/vm';
import { waitInLine, type BudgetedEvm, type ExecutionBudget } from '../evm/ExecutionBudget.ts';
import { createChainEvm } from '../evm/precompiles.ts';
import type { GuardedEvm, MessageGuard } from '../evm/messageGuard.ts';
import { JournaledStateManager } from '../state/JournaledStateManager.ts';
import { Overlay } from '../state/Overlay.ts';
import type { StateReader, StateStore } from '../state/types.ts';
import { runSystemCalls } from '../chain/systemCalls.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';

/** A call's own EVM for the time it runs: executions write to an overlay of their own. */
export interface CallLease {
  /**
   * Runs a transaction against `state`, discarding every write; `guard` makes the
   * message guard of the run (see messageGuard.ts) over the run's own state.
   */
  simulate(tx: TypedTransaction, state: StateReader, block: Block, guard?: (state: JournaledStateManager) => MessageGuard): Promise<RunTxResult>;
  /**
   * Runs a transaction as a block does (nonce and balance checked) on `store`, which
   * keeps its writes: the pending view builds its speculative block this way.
   */
  execute(tx: TypedTransaction, store: StateStore, block: Block, options: { guard?: (state: JournaledStateManager) => MessageGuard; impersonated?: boolean }): Promise<RunTxResult>;
  /** Runs a block's system calls (EIP-4788, EIP-2935) on `store`. */
  systemCalls(store: StateStore, block: Block): Promise<void>;
}

/**
 * Runs the reads that can take long (eth_call and eth_estimateGas, log and fee-history
 * queries, reads of old state), at most `concurrent` at once: each yields while it
 * runs, so the fewer run together, the larger block production's share of the thread.
 * Reads beyond `concurrent` wait in line, up to `queued`; one more is refused. A read's
 * budget runs from its arrival, so waiting counts against it.
 *
 * Calls run each on an EVM of its own (its own journal, warm sets and state overlay),
 * so no call sees another's writes. VMs are reused, since creating one costs more than
 * a typical call; a VM whose call ended abnormally (timeout, internal error) may hold a
 * half-unwound journal and is dropped.
 */
export class CallSlots {
  private readonly idle: VM[] = [];
  private running = 0;
  private readonly line: (() => void)[] = [];

  constructor(
    private readonly common: Common,
    private readonly blockchain: unknown,
    private readonly concurrent: number,
    private readonly queued: number,
  ) {}

  /** Runs `fn` in a slot, within `budget`. */
  async enter<T>(budget: ExecutionBudget, fn: () => Promise<T>): Promise<T> {
    // A waiting read is handed the slot of the read that ends before it.
    if (this.running < this.concurrent) this.running++;
    else await this.wait(budget);
    try {
      return await fn();
    } finally {
      const next = this.line.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Runs `fn` in a slot with a lease on an EVM, within `budget`. */
  run<T>(budget: ExecutionBudget, fn: (lease: CallLease) => Promise<T>): Promise<T> {
    return this.enter(budget, () => this.withVm(budget, fn));
  }

  private async withVm<T>(budget: ExecutionBudget, fn: (lease: CallLease) => Promise<T>): Promise<T> {
    let vm: VM | undefined;
    let clean = true;
    try {
      vm = this.idle.pop() ?? (await this.createVM());
      const evm = vm.evm as unknown as BudgetedEvm;
      evm.executionBudget = budget;
      const state = vm.stateManager as JournaledStateManager;
      const run = (tx: TypedTransaction, store: StateStore, block: Block, guard: ((state: JournaledStateManager) => MessageGuard) | undefined, exempt: boolean, skip: boolean) => {
        budget.check();
        state.store = store;
        (vm!.evm as unknown as GuardedEvm).messageGuard = guard?.(state);
        if (exempt) state.exemptFromEip3607(tx.getSenderAddress().toString());
        return runTx(vm!, {
          tx,
          block,
          skipNonce: skip,
          skipBalance: skip,
          skipBlockGasLimitValidation: true,
          skipHardForkValidation: true,
        })
          .catch((err: unknown) => {
            clean = false;
            throw err;
          })
          .finally(() => state.exemptFromEip3607(undefined));
      };
      const result = await fn({
        // As geth's eth_call: a call may be made from an address with code (EIP-3607 is a transaction rule).
        simulate: (tx, view, block, guard) => run(tx, new Overlay(view), block, guard, true, true),
        execute: (tx, store, block, { guard, impersonated }) => run(tx, store, block, guard, impersonated === true, false),
        systemCalls: (store, block) => {
          budget.check();
          state.store = store;
          return runSystemCalls(vm!, block).catch((err: unknown) => {
            clean = false;
            throw err;
          });
        },
      });
      return result;
    } catch (err) {
      if (!vm) clean = false;
      throw err;
    } finally {
      if (vm) {
        (vm.evm as unknown as BudgetedEvm).executionBudget = undefined;
        (vm.evm as unknown as GuardedEvm).messageGuard = undefined;
        // An idle VM keeps no view of state alive (an old state can be a whole copy).
        (vm.stateManager as JournaledStateManager).store = IDLE;
        if (clean) this.idle.push(vm);
      }
    }
  }

  private async createVM(): Promise<VM> {
    const stateManager = new JournaledStateManager(IDLE);
    const blockchain = this.blockchain as never;
    const evm = await createChainEvm({ common: this.common, stateManager, blockchain }, 'call');
    return createVM({ common: this.common, stateManager, blockchain, evm });
  }

  private wait(budget: ExecutionBudget): Promise<void> {
    if (this.line.length >= this.queued) {
      throw new EnclaveFailure(
        'limitExceeded',
        `too many reads in progress: ${this.concurrent} running and ${this.queued} waiting (--rpc-max-calls, --rpc-max-queued-calls)`,
      );
    }
    return waitInLine(this.line, budget);
  }
}

const EMPTY: StateReader = {
  account: () => undefined,
  storage: () => undefined,
  code: () => undefined,
  slots: () => [],
};
/** What an idle VM points at; every call replaces it with an overlay of its own before it runs. */
const IDLE = new Overlay(EMPTY);
