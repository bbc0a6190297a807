import { Block, createBlock, createBlockHeader } from '@ethereumjs/block';
import { RLP } from '@ethereumjs/rlp';
import { EthereumJSError } from '@ethereumjs/util';
import type { EnclaveLimits } from '../boundary/limits.ts';
import type { Chain } from '../chain/Chain.ts';
import { fillBlock } from '../chain/fillBlock.ts';
import { ExecutionBudget } from '../evm/ExecutionBudget.ts';
import type { PolicyBook } from '../policy/PolicyBook.ts';
import { StateGuard } from '../policy/StateGuard.ts';
import { MerkleTrie } from '../state/MerkleTrie.ts';
import { Overlay } from '../state/Overlay.ts';
import type { StateReader } from '../state/types.ts';
import type { CallSlots } from './CallSlots.ts';

/** The block the `pending` tag names, and the state after it. */
export interface PendingBlock {
  /** Its header (no hash of its own: its state root is the parent's) and transactions. */
  block: Block;
  senders: string[];
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
 * shared by every read until the next change; with nothing waiting it is the empty
 * block after the tip. Reads of it answer with the same disclosure rules as any read.
 */
export class PendingView {
  private cached?: { version: number; block: Promise<PendingBlock> };

  constructor(
    private readonly chain: Chain,
    private readonly calls: CallSlots,
    private readonly limits: EnclaveLimits,
    private readonly book: PolicyBook,
  ) {}

  /** The pending block, built if the chain changed since it was last. */
  get(): Promise<PendingBlock> {
    const version = this.chain.pendingVersion;
    if (this.cached?.version === version) return this.cached.block;
    const block = this.build();
    this.cached = { version, block };
    // A failed build (out of time) is not kept: the next read tries again.
    block.catch(() => {
      if (this.cached?.block === block) this.cached = undefined;
    });
    return block;
  }

  /** Runs `fn` on the pending block, its parent's state held in memory meanwhile. */
  async read<T>(fn: (pending: PendingBlock) => T | Promise<T>): Promise<T> {
    const pending = await this.get();
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
      const held = chain.history.pin(number);
      try {
        const state = new Overlay(held.state);
        const fields = chain.nextHeader(Date.now());
        const context = createBlock({ header: fields }, { common: chain.common });
        await lease.systemCalls(state, context);
        const filled = await fillBlock(chain.waitingTxs(), chain.blockGasLimit, chain.common, {
          nonceOf: (sender) => state.account(sender)?.nonce ?? 0n,
          admits: (item) => chain.admits(item),
          run: async (item) => {
            const principal = { address: item.sender, roles: chain.identities.rolesOf(item.sender), authenticated: true };
            try {
              return await lease.execute(item.tx, state, context, {
                guard: (manager) => new StateGuard(manager, this.book, principal, chain.openNetwork),
                impersonated: item.impersonated,
              });
            } catch (err) {
              // No longer valid on this state: left out, as the block builder drops it.
              if (err instanceof EthereumJSError) return undefined;
              throw err;
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
        return {
          block: new Block(header, transactions, [], [], { common: chain.common }),
          senders: filled.included.map(({ item }) => item.sender),
          parent: number,
          state,
        };
      } finally {
        held.release();
      }
    });
  }
}
