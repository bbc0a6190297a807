import { createBlock, type Block } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { nextHeader } from './Chain.ts';

/**
 * The block that would follow `parent` if it were cut now with nothing in it: what the
 * `pending` tag names while the pool is empty. Its header is the one Chain.buildBlock
 * starts from, with the parent's state root (the system calls' writes are not applied),
 * timed by this enclave's clock where a built block takes its cut's time. It is never
 * stored: its hash names no block anyone can fetch.
 */
export function pendingBlock(parent: Block, gasLimit: bigint, common: Common, nowMs: number): Block {
  return createBlock({ header: { ...nextHeader(parent, gasLimit, nowMs), stateRoot: parent.header.stateRoot } }, { common });
}
