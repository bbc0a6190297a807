import type { AccountRecord } from '../state/types.ts';
import type { BlockChanges } from '../state/WorldState.ts';
import type { DevClock } from './codec.ts';

type Prior = Pick<BlockChanges, 'priorAccounts' | 'priorStorage'>;

/** What evm_snapshot remembers besides the state: the chain's end, the clock and what waited. */
export interface DevSnapshot<Q> {
  id: bigint;
  /** The newest block when it was taken. */
  block: number;
  clock: DevClock;
  /** The transactions from the log not yet in a block. */
  queue: Q[];
}

/**
 * evm_snapshot / evm_revert on the dev network. While any snapshot is live, the undo set
 * of every ledger entry is kept, newest last; reverting combines those taken since the
 * snapshot into one write set that takes the state back (the rewind entry's). Both
 * are cheap: a snapshot is a mark, a revert costs the keys changed since it. The kept
 * undo sets are bounded by `maxKeys` and the snapshots by `maxSnapshots`; past either
 * the oldest snapshots are forgotten, and reverting to one says so.
 */
export class DevSnapshots<Q> {
  private readonly live: (DevSnapshot<Q> & { mark: number })[] = [];
  private readonly undo: { prior: Prior; size: number }[] = [];
  /** Undo sets dropped from the front (marks count from the first ever kept). */
  private dropped = 0;
  private keys = 0;
  private nextId = 1n;
  /** Snapshots below this id were forgotten to bound memory (not reverted). */
  private forgottenBelow = 0n;

  constructor(
    private readonly maxKeys: number,
    /** Live snapshots at most; taking one more forgets the oldest. */
    private readonly maxSnapshots: number,
  ) {}

  /** Takes a snapshot; answers its id (increasing: 0x1, 0x2, ...). */
  take(snapshot: Omit<DevSnapshot<Q>, 'id'>): bigint {
    const id = this.nextId++;
    this.live.push({ ...snapshot, id, mark: this.dropped + this.undo.length });
    if (this.live.length > this.maxSnapshots) this.forgetOldest();
    return id;
  }

  /** Keeps an entry's undo set while some snapshot may need it. */
  record(prior: Prior): void {
    if (this.live.length === 0) return;
    let size = prior.priorAccounts.size;
    for (const slots of prior.priorStorage.values()) size += slots.size;
    this.undo.push({ prior, size });
    this.keys += size;
    while (this.keys > this.maxKeys && this.live.length > 0) this.forgetOldest();
  }

  /** Forgets the oldest snapshot, and the undo sets only it needed. */
  private forgetOldest(): void {
    const oldest = this.live.shift()!;
    this.forgottenBelow = oldest.id + 1n;
    const keep = this.live[0]?.mark ?? this.dropped + this.undo.length;
    while (this.dropped < keep) {
      this.keys -= this.undo.shift()!.size;
      this.dropped++;
    }
  }

  /** Whether snapshot `id` was forgotten to bound memory (so a revert to it is refused, not answered false). */
  forgotten(id: bigint): boolean {
    return id < this.forgottenBelow && id >= 1n;
  }

  /**
   * Removes snapshot `id` and every later one, with the undo sets since it; returns it
   * and the state to restore (per key, the value before the first entry after it that
   * changed it), or undefined if there is no such snapshot.
   */
  revert(id: bigint): { snapshot: DevSnapshot<Q>; restore: Prior } | undefined {
    const at = this.live.findIndex((s) => s.id === id);
    if (at < 0) return undefined;
    const snapshot = this.live[at]!;
    this.live.length = at;
    const since = this.undo.splice(snapshot.mark - this.dropped);
    const accounts = new Map<string, AccountRecord | undefined>();
    const storage = new Map<string, Map<string, Uint8Array | undefined>>();
    // Newest first, so the oldest prior of each key is the one left.
    for (let i = since.length - 1; i >= 0; i--) {
      const { prior, size } = since[i]!;
      this.keys -= size;
      for (const [address, account] of prior.priorAccounts) accounts.set(address, account);
      for (const [address, slots] of prior.priorStorage) {
        let into = storage.get(address);
        if (!into) storage.set(address, (into = new Map()));
        for (const [slot, value] of slots) into.set(slot, value);
      }
    }
    if (this.live.length === 0) {
      this.dropped += this.undo.length;
      this.undo.length = 0;
      this.keys = 0;
    }
    return { snapshot, restore: { priorAccounts: accounts, priorStorage: storage } };
  }
}
