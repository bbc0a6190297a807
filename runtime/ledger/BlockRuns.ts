/** Blocks firstBlock..lastBlock held by entries from firstEntry on: one block per entry, or all in one. */
interface Run {
  firstBlock: number;
  lastBlock: number;
  firstEntry: number;
  /** Entry firstEntry + i holds block firstBlock + i; otherwise firstEntry holds them all. */
  perBlock: boolean;
}

/**
 * Which ledger entry holds each block of the chain. Entries are numbered by append
 * order and each names the blocks it covers; an entry that starts at an earlier block
 * than the chain's next replaces the blocks from there on (a rewind), and one that
 * covers many blocks holds them all. Consecutive one-block entries share a run, so a
 * chain built block by block is one run whatever its length.
 */
export class BlockRuns {
  readonly #runs: Run[] = [];

  /** The newest block of the chain, or -1 before the first. */
  get lastBlock(): number {
    return this.#runs.at(-1)?.lastBlock ?? -1;
  }

  /**
   * Records entry `entry` covering firstBlock..lastBlock (an empty range, lastBlock =
   * firstBlock - 1, covers none: the chain then ends at firstBlock - 1).
   * @returns an error message if the range cannot follow the chain, else undefined.
   */
  add(entry: number, firstBlock: number, lastBlock: number): string | undefined {
    if (firstBlock < 0 || firstBlock > this.lastBlock + 1 || lastBlock < firstBlock - 1) {
      return `covers blocks ${firstBlock}..${lastBlock}, which cannot follow block ${this.lastBlock}`;
    }
    while (this.#runs.length > 0 && this.#runs.at(-1)!.firstBlock >= firstBlock) this.#runs.pop();
    const last = this.#runs.at(-1);
    if (last && last.lastBlock >= firstBlock) last.lastBlock = firstBlock - 1;
    if (lastBlock < firstBlock) return undefined;
    const single = firstBlock === lastBlock;
    if (
      single &&
      last?.perBlock &&
      last.lastBlock + 1 === firstBlock &&
      last.firstEntry + (last.lastBlock - last.firstBlock) + 1 === entry
    ) {
      last.lastBlock = firstBlock;
    } else {
      this.#runs.push({ firstBlock, lastBlock, firstEntry: entry, perBlock: single });
    }
    return undefined;
  }

  /** The entry holding block `block`, or undefined if the chain has no such block. */
  entryOf(block: number): number | undefined {
    if (!Number.isSafeInteger(block) || block < 0 || block > this.lastBlock) return undefined;
    let lo = 0;
    let hi = this.#runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#runs[mid]!.firstBlock <= block) lo = mid;
      else hi = mid - 1;
    }
    const run = this.#runs[lo]!;
    return run.perBlock ? run.firstEntry + (block - run.firstBlock) : run.firstEntry;
  }
}
