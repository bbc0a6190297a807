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
  /** priors[i] holds what block (head - priors.length + 1 + i) overwrote. */
  private readonly priors: Prior[] = [];
  private readonly sizes: number[] = [];
  private keys = 0;
  private head = -1;
  /** Changes whenever a block is recorded (and the block being built starts anew). */
  private version = 0;
  /** Views in use by reads that may outlive a block (calls), by block number. */
  private readonly pins = new Map<number, number>();

  constructor(
    private readonly current: StateReader,
    private readonly depth: number,
    private readonly building: () => Prior,
    private readonly limits: { maxKeys: number; minDepth: number } = { maxKeys: Infinity, minDepth: 1 },
  ) {}

  /** Records the undo set of block `number`, which must follow the last one recorded. */
  record(number: number, changes: Prior): void {
    if (number !== this.head + 1) {
      this.priors.length = 0;
      this.sizes.length = 0;
      this.keys = 0;
    }
    let size = changes.priorAccounts.size;
    for (const slots of changes.priorStorage.values()) size += slots.size;
    this.priors.push(changes);
    this.sizes.push(size);
    this.keys += size;
    this.head = number;
    this.version++;
    // A pinned view keeps the undo sets it needs; reads are bounded in time, so is this.
    const pinned = this.pins.size ? Math.min(...this.pins.keys()) : Infinity;
    while (
      (this.priors.length > this.depth ||
        (this.keys > this.limits.maxKeys && this.priors.length > this.limits.minDepth)) &&
      this.head - this.priors.length + 1 <= pinned
    ) {
      this.priors.shift();
      this.keys -= this.sizes.shift()!;
    }
  }

  /** Whether the state at `number` can be read from memory. */
  covers(number: number): boolean {
    return number <= this.head && number >= this.head - this.priors.length;
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
      const start = number - this.head + this.priors.length;
      if (start < 0) throw new Error(`state of block ${number} is no longer held in memory`);
      list = this.priors.slice(start);
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
