import { EnclaveFailure } from '../enclave/EnclaveFailure.ts';
import { waitInLine, type ExecutionBudget } from '../evm/ExecutionBudget.ts';
import type { Ledger } from '../ledger/Ledger.ts';
import type { StateReader } from '../state/types.ts';
import { WorldState } from '../state/WorldState.ts';
import { decodeEntry, decodeSnapshot } from './codec.ts';

/**
 * The state at blocks older than recent history, rebuilt from the newest snapshot at or
 * below the block's ledger entry plus the entries after it (at most a snapshot interval). A
 * rebuilt state is a whole copy of the state, so one read at a time holds one: a read
 * of old state waits (within its budget) until the one before it is done, and memory
 * holds the state it reads, cached for the next read of the same block, and nothing
 * more. A rebuild yields between ledger entries, within the read's budget.
 */
export class ArchiveStates {
  private cached?: { seq: number; state: StateReader };
  private held = false;
  private readonly line: (() => void)[] = [];

  constructor(private readonly ledger: Ledger) {}

  /** The state at the end of block `seq`, held for the caller until `release`. */
  async hold(seq: number, budget: ExecutionBudget): Promise<{ state: StateReader; release(): void }> {
    await this.acquire(budget);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = this.line.shift();
      if (next) next();
      else this.held = false;
    };
    try {
      const state = this.cached?.seq === seq ? this.cached.state : await this.rebuild(seq, budget);
      return { state, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Forgets the cached state (the chain was taken back, or state set after a block). */
  forget(): void {
    this.cached = undefined;
  }

  private acquire(budget: ExecutionBudget): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return waitInLine(this.line, budget);
  }

  private async rebuild(seq: number, budget: ExecutionBudget): Promise<StateReader> {
    budget.check();
    this.cached = undefined;
    const state = new WorldState();
    const own = this.ledger.entryOfBlock(seq);
    if (own === undefined) throw new EnclaveFailure('internal', `block ${seq} is not in the ledger`);
    // The block's state includes state set after it (dev methods), up to the next block's
    // entry. A block inside a run of mined blocks reads as the run's end: they differ
    // only in the block-hash and beacon-root history slots.
    const next = this.ledger.entryOfBlock(seq + 1);
    const entry = next === undefined ? this.ledger.head : Math.max(own, next - 1);
    const snapshot = this.ledger.snapshotAtOrBelow(entry);
    let from = 0;
    if (snapshot) {
      state.apply(decodeSnapshot(snapshot.payload).writeSet);
      from = snapshot.entry + 1;
    }
    for (let e = from; e <= entry; e++) {
      state.apply(decodeEntry(this.ledger.read(e)).writeSet);
      await budget.tick();
    }
    state.takeChanges();
    this.cached = { seq, state };
    return state;
  }
}
