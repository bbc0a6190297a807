import type { AccountRecord, StateReader } from './types.ts';
import type { BlockChanges } from './WorldState.ts';

type Prior = Pick<BlockChanges, 'priorAccounts' | 'priorStorage'>;

/**
 * Recent history as undo sets over the current state: the state at block N is the
 * current state with, for each key, the value it had before the first later block
 * that changed it. The block being built counts as the latest of those, so reads
 * served between its transactions still see the committed head. Bounded to `depth`
 * blocks and, whatever their sizes, to about `maxKeys` overwritten keys (keeping at
 * least `minDepth` blocks, which covers the blocks still being written); older blocks
 * are rebuilt from a snapshot and the ledger instead.
 */
export class History {
  /**
   * Undo sets, oldest first, each with the block it belongs to: a block's own, then
   * those of state set after it (dev methods), which the state at that block includes.
   */
  private readonly records: { block: number; prior: Prior; size: number; own?: boolean }[] = [];
  private keys = 0;
  private head = -1;
  /** The oldest block whose state the records can rebuild. */
  private floor = -1;
  /** Changes whenever a record is added (and the block being built starts anew). */
  private version = 0;
  /** Views in use by reads that may outlive a block (calls), by block number. */
  private readonly pins = new Map<number, number>();

  constructor(
    private readonly current: StateReader,
    private readonly depth: number,
    private readonly building: () => Prior,
    private readonly limits: { maxKeys: number; minDepth: number } = { maxKeys: Infinity, minDepth: 1 },
  ) {}

  /** Records the undo set of block `number`; one that does not follow the last starts afresh. */
  record(number: number, changes: Prior): void {
    if (number !== this.head + 1) this.reset(number - 1);
    this.push(number, changes);
    this.head = number;
    this.trim();
  }

  /**
   * Records the undo set of state set after the head block (it belongs to the head's
   * state). It merges into the head's record, keeping each key's oldest prior, so any
   * number of dev methods between two blocks keeps one record per block.
   */
  amend(changes: Prior): void {
    const last = this.records.at(-1);
    if (last?.block === this.head) this.merge(last, changes);
    else this.push(this.head, changes);
    this.trim();
  }

  private merge(record: (typeof this.records)[number], later: Prior): void {
    // The record's maps may be shared (with dev snapshots): copied before the first change.
    if (!record.own) {
      const { priorAccounts, priorStorage } = record.prior;
      record.prior = { priorAccounts: new Map(priorAccounts), priorStorage: new Map([...priorStorage].map(([a, slots]) => [a, new Map(slots)])) };
      record.own = true;
    }
    const added = (n: number) => {
      record.size += n;
      this.keys += n;
    };
    for (const [address, account] of later.priorAccounts) {
      if (record.prior.priorAccounts.has(address)) continue;
      record.prior.priorAccounts.set(address, account);
      added(1);
    }
    for (const [address, slots] of later.priorStorage) {
      let into = record.prior.priorStorage.get(address);
      if (!into) record.prior.priorStorage.set(address, (into = new Map()));
      for (const [slot, value] of slots) {
        if (into.has(slot)) continue;
        into.set(slot, value);
        added(1);
      }
    }
    this.version++;
  }

  /** Forgets every record: only the current state, as block `number`'s, is held (after a rewind). */
  reset(number: number): void {
    this.records.length = 0;
    this.keys = 0;
    this.head = this.floor = number;
    this.version++;
  }

  private push(block: number, prior: Prior): void {
    let size = prior.priorAccounts.size;
    for (const slots of prior.priorStorage.values()) size += slots.size;
    this.records.push({ block, prior, size });
    this.keys += size;
    this.version++;
  }

  /** Drops the oldest blocks' records beyond the bounds; a pinned view keeps those it needs (reads are bounded in time). */
  private trim(): void {
    const pinned = this.pins.size ? Math.min(...this.pins.keys()) : Infinity;
    while (
      this.records.length > 0 &&
      (this.head - this.floor > this.depth || (this.keys > this.limits.maxKeys && this.head - this.floor > this.limits.minDepth)) &&
      this.floor + 1 <= pinned
    ) {
      const oldest = this.records[0]!.block;
      while (this.records[0]?.block === oldest) this.keys -= this.records.shift()!.size;
      this.floor = oldest;
    }
  }

  /** Whether the state at `number` can be read from memory. */
  covers(number: number): boolean {
    return number <= this.head && number >= this.floor;
  }

  /**
   * Keeps the state at `number` readable until `release` (for reads that yield while
   * blocks are built, such as calls); requires covers(number).
   */
  pin(number: number): { state: StateReader; release(): void } {
    this.pins.set(number, (this.pins.get(number) ?? 0) + 1);
    let released = false;
    return {
      state: this.at(number),
      release: () => {
        if (released) return;
        released = true;
        const n = this.pins.get(number)! - 1;
        if (n === 0) this.pins.delete(number);
        else this.pins.set(number, n);
      },
    };
  }

  /**
   * A reader for the state at the end of block `number` (requires covers(number)). It
   * stays the state of that block while later blocks are built: each access applies
   * the undo sets of every block recorded since, and of the block being built.
   */
  at(number: number): StateReader {
    // The undo sets to apply, newest last: every block recorded after `number`, then the
    // block being built. Looked up at each access, since blocks go on being recorded.
    let list: Prior[] = [];
    let version = -1;
    const later = (): Prior[] => {
      if (version === this.version) return list;
      if (number < this.floor) throw new Error(`state of block ${number} is no longer held in memory`);
      let start = this.records.length;
      while (start > 0 && this.records[start - 1]!.block > number) start--;
      list = this.records.slice(start).map((r) => r.prior);
      list.push(this.building());
      version = this.version;
      return list;
    };
    const current = this.current;
    return {
      account(address: string): AccountRecord | undefined {
        for (const p of later()) if (p.priorAccounts.has(address)) return p.priorAccounts.get(address);
        return current.account(address);
      },
      storage(address: string, slot: string): Uint8Array | undefined {
        for (const p of later()) {
          const slots = p.priorStorage.get(address);
          if (slots?.has(slot)) return slots.get(slot);
        }
        return current.storage(address, slot);
      },
      code: (hash) => current.code(hash),
      *slots(address: string): Iterable<[string, Uint8Array]> {
        const seen = new Set<string>();
        for (const p of later()) {
          for (const [slot, value] of p.priorStorage.get(address) ?? []) {
            if (seen.has(slot)) continue;
            seen.add(slot);
            if (value) yield [slot, value];
          }
        }
        for (const [slot, value] of current.slots(address)) if (!seen.has(slot)) yield [slot, value];
      },
    };
  }
}
