import type { ExecutionBudget } from '../evm/ExecutionBudget.ts';
import type { Ledger } from '../ledger/Ledger.ts';
import type { StateReader } from '../state/types.ts';
import { WorldState } from '../state/WorldState.ts';
import { decodePayload, decodeSnapshot } from './codec.ts';

/**
 * The state at blocks older than recent history, rebuilt from the newest snapshot at or
 * below the block plus the ledger entries after it (at most a snapshot interval). A
 * rebuild is a whole copy of the state, so memory holds at most one rebuilt state and
 * one being built: rebuilds run one at a time, and each new one replaces the last. A
 * rebuild runs within its read's budget and yields between entries, so it never holds
 * block production.
 */
export class ArchiveStates {
  private cached?: { seq: number; state: StateReader };
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly ledger: Ledger) {}

  /** The state at the end of block `seq`. */
  at(seq: number, budget: ExecutionBudget): Promise<StateReader> {
    const run = this.last.then(() => (this.cached?.seq === seq ? this.cached.state : this.rebuild(seq, budget)));
    this.last = run.catch(() => {});
    return run;
  }

  private async rebuild(seq: number, budget: ExecutionBudget): Promise<StateReader> {
    budget.check();
    this.cached = undefined;
    const state = new WorldState();
    const snapshot = this.ledger.snapshotAtOrBelow(seq);
    let from = 0;
    if (snapshot) {
      const decoded = decodeSnapshot(snapshot.payload);
      state.apply(decoded.writeSet);
      from = decoded.seq + 1;
    }
    for (let s = from; s <= seq; s++) {
      state.apply(decodePayload(this.ledger.read(s)).writeSet);
      await budget.tick();
    }
    state.takeChanges();
    this.cached = { seq, state };
    return state;
  }
}
