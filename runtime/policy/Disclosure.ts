import type { TypedTransaction } from '@ethereumjs/tx';
import { bytesToHex } from '@ethereumjs/util';
import type { StoredLog } from '../chain/codec.ts';
import type { StoredBlock } from '../chain/Chain.ts';
import { ALL_LOGS, type LogView } from '../chain/format.ts';
import type { StateReader } from '../state/types.ts';
import { decide, isPublicLog, type DataKind, type Decision, type Principal } from './decide.ts';
import type { Policy } from './Policy.ts';
import type { PolicyBook } from './PolicyBook.ts';

type Json = Record<string, unknown>;

/**
 * The answer filters of reads: what of a block's transactions, receipts and logs one
 * principal may see, decided (by `decide`, the one decision point) under the policies
 * that governed that block, with the identity registry at the head. Shared caches hold
 * whole answers; these filter them on the way out, so nothing cached is per caller.
 */
export class Disclosure {
  constructor(
    private readonly book: PolicyBook,
    /** The head state: it holds every policy body ever stored. */
    private readonly head: () => StateReader,
    private readonly openNetwork: boolean,
  ) {}

  /** The policy that governed `address` in block `stored`, or undefined (public). */
  policyIn(stored: StoredBlock, address: string): Policy | undefined {
    const hash = stored.policies.get(address);
    return hash === undefined ? undefined : this.book.byHash(this.head(), hash);
  }

  /** Whether a log of block `stored` is public (visible to anyone): the blooms cover only these. */
  isPublicLog(stored: StoredBlock, log: StoredLog): boolean {
    return isPublicLog(this.policyIn(stored, bytesToHex(log[0])), log[1]);
  }

  /** Whether `who` sees a log that transaction `txIndex` of block `stored` emitted. */
  seesLog(who: Principal, stored: StoredBlock, txIndex: number, log: StoredLog): boolean {
    const address = bytesToHex(log[0]);
    const policy = this.policyIn(stored, address);
    if (policy === undefined) return true;
    return decide(who, address, policy, 'event', { sender: stored.senders[txIndex], topics: log[1], data: log[2] }, this.openNetwork) === 'visible';
  }

  /** Whether `who` sees the input of transaction `index` of block `stored`. */
  seesInput(who: Principal, stored: StoredBlock, index: number): boolean {
    const tx = stored.block.transactions[index]!;
    // A creation's input is its constructor's: the created contract's policy governs it.
    const target = tx.to?.toString() ?? stored.receipts[index]?.contractAddress;
    if (target === undefined) return true;
    const policy = this.policyIn(stored, target);
    return policy === undefined || this.decideFor(who, target, policy, 'input', stored.senders[index]!) === 'visible';
  }

  /** Whether `who` sees the input of a pending transaction, under the policies at the head. */
  seesPendingInput(who: Principal, tx: TypedTransaction, sender: string): boolean {
    const target = tx.to?.toString();
    if (target === undefined) return true;
    const policy = this.book.at(this.head(), target);
    return policy === undefined || this.decideFor(who, target, policy, 'input', sender) === 'visible';
  }

  /**
   * Which logs of block `stored` `who` sees, and which are public (blooms cover only
   * those): the logs it may not see are left out of its receipts, and log indexes keep
   * their gaps.
   */
  logView(who: Principal, stored: StoredBlock): LogView {
    if (stored.policies.size === 0) return ALL_LOGS;
    return {
      shows: (txIndex, log) => this.seesLog(who, stored, txIndex, log),
      isPublic: (log) => this.isPublicLog(stored, log),
    };
  }

  /** A formatted transaction as `who` sees it: an input it may not see reads as empty. */
  transaction(json: Json, visible: boolean): Json {
    return visible ? json : { ...json, input: '0x' };
  }

  private decideFor(who: Principal, contract: string, policy: Policy, kind: DataKind, sender: string): Decision {
    return decide(who, contract, policy, kind, { sender }, this.openNetwork);
  }
}
