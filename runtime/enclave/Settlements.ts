import type { StoredBlock } from '../chain/Chain.ts';

/** How a sent transaction ended: in a durable block (reverted or not), or not (dropped, or still waiting). */
export type Settled = { included: false } | { included: true; reverted: boolean };

/**
 * Sends that wait for their transaction's block to be durable (Hardhat's send semantics
 * on the dev network), by transaction hash. Each wait is bounded in time, and their
 * number by `max` (a send waits only for a transaction it had admitted, so the pool's
 * size bounds them anyway); past either, the send answers as it would without waiting.
 */
export class Settlements {
  private readonly waiting = new Map<string, ((s: Settled) => void)[]>();
  private count = 0;
  /** No block will come any more: sends answer at once. */
  private released = false;

  constructor(
    private readonly max: number,
    private readonly waitMs: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Waits for `hash`'s block; `now` tells whether it is already in one. */
  wait(hash: string, now: () => Settled): Promise<Settled> {
    const settled = now();
    if (settled.included || this.released || this.count >= this.max) return Promise.resolve(settled);
    return new Promise((resolve) => {
      let list = this.waiting.get(hash);
      if (!list) this.waiting.set(hash, (list = []));
      const done = (s: Settled) => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => this.settle(hash, { included: false }, done), this.waitMs);
      list.push(done);
      this.count++;
    });
  }

  /** A block is durable: its transactions' senders are answered. */
  blockDurable(stored: StoredBlock): void {
    if (this.count === 0) return;
    for (const [hash, index] of stored.txIndex) {
      if (this.waiting.has(hash)) this.settle(hash, { included: true, reverted: stored.receipts[index]!.status === 0 });
    }
  }

  /** Transactions that will not be in a block. */
  dropped(hashes: string[]): void {
    if (this.count === 0) return;
    for (const hash of hashes) if (this.waiting.has(hash)) this.settle(hash, { included: false });
  }

  /**
   * No block will come (a ledger write failed, or the node is closing): every send waiting,
   * and every later one, is answered at once, as one answered at admission, rather than
   * holding its caller until the node is gone.
   */
  releaseAll(): void {
    this.released = true;
    for (const hash of [...this.waiting.keys()]) this.settle(hash, { included: false });
  }

  /** Answers every wait for `hash`, or only `one` of them (its time ran out). */
  private settle(hash: string, settled: Settled, one?: (s: Settled) => void): void {
    const list = this.waiting.get(hash);
    if (!list) return;
    const answered = one ? list.filter((w) => w === one) : list;
    const left = one ? list.filter((w) => w !== one) : [];
    if (left.length) this.waiting.set(hash, left);
    else this.waiting.delete(hash);
    this.count -= answered.length;
    for (const w of answered) w(settled);
  }
}
