import type { Common } from '@ethereumjs/common';
import type { RunTxResult } from '@ethereumjs/vm';
import { decodeEnvelope } from '../enclave/inspect.ts';
import type { QueuedTx, WaitingTx } from './Chain.ts';

/** How a block runs the transactions it reaches: the chain's block builder, or the pending view's speculative one. */
export interface BlockRunner {
  /** The sender's nonce in the state the block has reached. */
  nonceOf(sender: string): bigint;
  /** Whether the network runs this sender's transactions at all. */
  admits(item: QueuedTx): boolean;
  /** Runs it on the block's state; undefined if it is no longer valid (e.g. funds spent since submission). */
  run(item: QueuedTx): Promise<RunTxResult | undefined>;
}

/** What a block took from the queue. */
export interface FilledBlock {
  included: { item: QueuedTx; result: RunTxResult }[];
  gasUsed: bigint;
  /** Transactions left waiting: those that did not fit, and those still gapped. */
  rest: WaitingTx[];
  /** Hashes of transactions dropped: nonce used, sender not admitted, no longer valid. */
  dropped: string[];
  /** Whether an executable transaction did not fit (the rest may be executable in the next block). */
  full: boolean;
}

/** How long a block runs before letting other work in. */
const YIELD_EVERY_MS = 1;

/**
 * Passes over the queue in log order; a transaction whose nonce is ahead of its sender
 * waits, and becomes executable once the gap is filled in a later pass. The first
 * executable transaction that does not fit ends the block, so building a block costs
 * what it includes, whatever the backlog. Blocks are filled to the EIP-1559 gas target
 * (half the limit), so batching a backlog never raises the base fee; a single larger
 * transaction still fits alone. Every few milliseconds the loop yields, so reads are
 * answered while a large block executes.
 */
export async function fillBlock(queue: WaitingTx[], gasLimit: bigint, common: Common, runner: BlockRunner): Promise<FilledBlock> {
  const filled: FilledBlock = { included: [], gasUsed: 0n, rest: queue, dropped: [], full: false };
  let yielded = performance.now();
  let progressed = true;
  while (progressed && !filled.full) {
    progressed = false;
    const pass = filled.rest;
    filled.rest = [];
    for (let i = 0; i < pass.length; i++) {
      const waiting = pass[i]!;
      let item: QueuedTx;
      try {
        item = waiting.decoded ??= decodeEnvelope(waiting.plain, common);
      } catch {
        // Authenticated but undecodable (sealed by a faulty enclave): skipped, on every node alike.
        continue;
      }
      const nonce = runner.nonceOf(item.sender);
      if (item.tx.nonce > nonce) {
        filled.rest.push(waiting);
        continue;
      }
      if (item.tx.nonce < nonce || !runner.admits(item)) {
        filled.dropped.push(item.hash);
        continue;
      }
      const room = (filled.included.length === 0 ? gasLimit : gasLimit / 2n) - filled.gasUsed;
      if (item.tx.gasLimit > room) {
        filled.full = true;
        for (let j = i; j < pass.length; j++) filled.rest.push(pass[j]!);
        break;
      }
      const result = await runner.run(item);
      if (!result) {
        filled.dropped.push(item.hash);
        continue;
      }
      filled.gasUsed += result.totalGasSpent;
      filled.included.push({ item, result });
      progressed = true;
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        await new Promise(setImmediate);
        yielded = performance.now();
      }
    }
  }
  return filled;
}
