import { Block, createBlock, createBlockHeader } from '@ethereumjs/block';
import { RLP } from '@ethereumjs/rlp';
import { EthereumJSError } from '@ethereumjs/util';
import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Chain } from '../chain/Chain.ts';
import { fillBlock } from '../chain/fillBlock.ts';
import { ExecutionAborted, ExecutionBudget } from '../evm/ExecutionBudget.ts';
import { rolesIn } from '../identity/Identities.ts';
import type { PolicyBook } from '../policy/PolicyBook.ts';
import { StateGuard } from '../policy/StateGuard.ts';
import { MerkleTrie } from '../state/MerkleTrie.ts';
import { Overlay } from '../state/Overlay.ts';
import type { StateReader } from '../state/types.ts';
import type { CallSlots } from './CallSlots.ts';
import { EnclaveFailure } from './EnclaveFailure.ts';

/** The block the `pending` tag names, and the state after it. */
export interface PendingBlock {
  /** Its header (no hash of its own: its state root is the parent's) and transactions. */
  block: Block;
  senders: string[];
  /** Length of its RLP (eth_getBlockByNumber's `size`). */
  size: number;
  /** The number of the block it follows (the tip when it was built). */
  parent: number;
  /** The state after its transactions; read it while holding `parent` (see hold). */
  state: StateReader;
}

/**
 * The `pending` tag: what the next block would be if it were cut now. The transactions
 * waiting on the ordering log run speculatively, in the order and by the rules the block
 * builder uses (fillBlock), on an overlay of the tip's state, in a call slot of their
 * own within a read's time budget; nothing of it is kept or written. Built once per
 * change of the tip, its state, the dev clock or the queue (Chain.pendingVersion), and
 * per second (its timestamp moves), and shared by every read until then; under a
 * backlog a build is served for a while longer, so building it takes at most about a
 * fifth of the thread however often it is asked for. With nothing waiting it is the empty
 * block after the tip. Reads of it answer with the same disclosure rules as any read.
 */
export class PendingView {
  private cached?: { key: string; block: Promise<PendingBlock>; builtAt: number; buildMs: number; waiting: number };

  constructor(
    private readonly chain: Chain,
    private readonly calls: CallSlots,
    private readonly limits: EnclaveLimits,
    private readonly book: PolicyBook,
  ) {}

  /** The pending block, built if the chain changed since it was last. */
  get(): Promise<PendingBlock> {
    const now = performance.now();
    const key = `${this.chain.pendingVersion}:${Math.floor(Date.now() / 1000)}`;
    const cached = this.cached;
    // The same chain; or, under load, a finished build that has not been served long enough.
    if (cached && (cached.key === key || (cached.waiting > FRESH_TXS && cached.builtAt !== Infinity && now - cached.builtAt < SERVED_FOR * cached.buildMs))) {
      return cached.block;
    }
    const entry = { key, block: this.build(), builtAt: Infinity, buildMs: 0, waiting: this.chain.queued };
    this.cached = entry;
    entry.block.then(
      () => {
        entry.builtAt = performance.now();
        entry.buildMs = entry.builtAt - now;
      },
      // A failed build is not kept: the next read tries again.
      () => {
        if (this.cached === entry) this.cached = undefined;
      },
    );
    return entry.block;
  }

  /** Runs `fn` on the pending block, its parent's state held in memory meanwhile. */
  async read<T>(fn: (pending: PendingBlock) => T | Promise<T>): Promise<T> {
    let pending = await this.get();
    // Served from a build whose parent state has since left memory: build afresh.
    if (!this.chain.history.covers(pending.parent)) {
      this.cached = undefined;
      pending = await this.get();
    }
    const held = this.chain.history.pin(pending.parent);
    try {
      return await fn(pending);
    } finally {
      held.release();
    }
  }

  private build(): Promise<PendingBlock> {
    const { chain } = this;
    const budget = new ExecutionBudget(this.limits.callTimeoutMs);
    return this.calls.run(budget, async (lease) => {
      const parent = chain.tip;
      const number = Number(parent.header.number);
      const waiting = chain.waitingTxs();
      if (!chain.history.covers(number)) {
        throw new EnclaveFailure('limitExceeded', 'the pending block is not available while a run of blocks is being mined; try again shortly');
      }
      const held = chain.history.pin(number);
      try {
        const state = new Overlay(held.state);
        const fields = chain.nextHeader(Date.now());
        const context = createBlock({ header: fields }, { common: chain.common });
        await lease.systemCalls(state, context).catch(unavailable);
        // A transaction that runs past the read's budget or a read's caps ends the block
        // there: what ran before it is the pending block.
        let stopped = false;
        const filled = await fillBlock(waiting, chain.blockGasLimit, chain.common, {
          nonceOf: (sender) => state.account(sender)?.nonce ?? 0n,
          // Roles as of the state the block has reached, as the block builder reads them.
          admits: (item) => chain.admits(item, rolesIn(state, item.sender)),
          run: async (item) => {
            if (stopped) return undefined;
            const principal = { address: item.sender, roles: rolesIn(state, item.sender), authenticated: true };
            try {
              return await lease.execute(item.tx, state, context, {
                guard: (manager) => new StateGuard(manager, this.book, principal, chain.openNetwork),
                impersonated: item.impersonated,
              });
            } catch (err) {
              // No longer valid on this state: left out, as the block builder drops it.
              if (!(err instanceof EthereumJSError)) stopped = true;
              return undefined;
            }
          },
        });
        const transactions = filled.included.map(({ item }) => item.tx);
        const trie = new MerkleTrie();
        filled.included.forEach(({ item }, i) => trie.put(RLP.encode(i), item.raw));
        const header = createBlockHeader(
          { ...fields, stateRoot: parent.header.stateRoot, transactionsTrie: trie.root(), gasUsed: filled.gasUsed },
          { common: chain.common },
        );
        const block = new Block(header, transactions, [], [], { common: chain.common });
        return {
          block,
          senders: filled.included.map(({ item }) => item.sender),
          size: block.serialize().length,
          parent: number,
          state,
        };
      } finally {
        held.release();
      }
    });
  }
}

/**
 * A build of more than FRESH_TXS waiting transactions (a backlog: the node is under load)
 * is served for SERVED_FOR times as long as it took, whatever changes meanwhile; smaller
 * ones are rebuilt on every change, so a client sees its transaction at once.
 */
const FRESH_TXS = 64;
const SERVED_FOR = 4;

/** The system calls failed (replaced code ran past the budget): a fixed answer, nothing of what ran. */
function unavailable(err: unknown): never {
  if (err instanceof ExecutionAborted) throw new EnclaveFailure('limitExceeded', 'the pending block could not be built within the read time limit (--rpc-call-timeout)');
  throw err;
}
