import type { AccountFields, StateManagerInterface } from '@ethereumjs/common';
import {
  Account,
  type Address,
  bytesToHex,
  KECCAK256_NULL,
  KECCAK256_NULL_S,
  KECCAK256_RLP,
  unpadBytes,
} from '@ethereumjs/util';
import { keccak256 } from '../crypto/ethCrypto.ts';
import type { AccountRecord, StateStore } from './types.ts';

type Undo =
  | { kind: 'account'; address: string; prior: AccountRecord | undefined }
  | { kind: 'slot'; address: string; slot: string; prior: Uint8Array | undefined };

const EMPTY = new Uint8Array(0);
/** The prefix of an EIP-7702 delegation, followed by a zero address. */
const DELEGATION_MARK = Uint8Array.from([0xef, 0x01, 0x00, ...new Uint8Array(20)]);

/**
 * The VM's view of state: reads and writes go to a {@link StateStore} (the committed
 * world state for blocks, an overlay for calls), with an undo journal so that
 * checkpoint and commit are O(1) and revert is O(writes undone).
 */
export class JournaledStateManager implements StateManagerInterface {
  private undo: Undo[] = [];
  private marks: number[] = [];
  /** Storage values as of the start of the current transaction (EIP-2200, EIP-3529). */
  private originals = new Map<string, Uint8Array>();

  readonly originalStorageCache = {
    get: async (address: Address, key: Uint8Array): Promise<Uint8Array> => {
      const a = address.toString();
      const slot = bytesToHex(key);
      const id = a + slot;
      const cached = this.originals.get(id);
      if (cached) return cached;
      const value = this.store.storage(a, slot) ?? EMPTY;
      this.originals.set(id, value);
      return value;
    },
    clear: (): void => {
      this.originals.clear();
    },
  };

  constructor(
    public store: StateStore,
    private readonly rootOf: (address: string) => Uint8Array = () => KECCAK256_RLP,
    private readonly computeRoot?: () => Promise<Uint8Array>,
  ) {}

  async getAccount(address: Address): Promise<Account | undefined> {
    const a = address.toString();
    const record = this.store.account(a);
    if (!record) return undefined;
    return new Account(record.nonce, record.balance, this.rootOf(a), record.codeHash);
  }

  async putAccount(address: Address, account?: Account): Promise<void> {
    this.writeAccount(
      address.toString(),
      account ? { nonce: account.nonce, balance: account.balance, codeHash: account.codeHash } : undefined,
    );
  }

  async deleteAccount(address: Address): Promise<void> {
    const a = address.toString();
    this.clearSlots(a);
    this.writeAccount(a, undefined);
  }

  async modifyAccountFields(address: Address, fields: AccountFields): Promise<void> {
    const a = address.toString();
    const current = this.store.account(a) ?? { nonce: 0n, balance: 0n, codeHash: KECCAK256_NULL };
    this.writeAccount(a, {
      nonce: fields.nonce ?? current.nonce,
      balance: fields.balance ?? current.balance,
      codeHash: fields.codeHash ?? current.codeHash,
    });
  }

  async putCode(address: Address, value: Uint8Array): Promise<void> {
    const a = address.toString();
    const codeHash = keccak256(value);
    this.store.putCode(bytesToHex(codeHash), value);
    const current = this.store.account(a) ?? { nonce: 0n, balance: 0n, codeHash: KECCAK256_NULL };
    this.writeAccount(a, { ...current, codeHash });
  }

  /**
   * Lets `address` send the next transaction although it has code (EIP-3607 refuses such
   * senders): the first code lookup of it reads as an EIP-7702 delegation, which runTx's
   * check accepts; later lookups (the call itself) see its code. Only for a sender with
   * code, whose check is the first lookup; undefined clears it.
   */
  exemptFromEip3607(address: string | undefined): void {
    this.exempt = address !== undefined && this.store.account(address)?.codeHash.some((b, i) => b !== KECCAK256_NULL[i]) ? address : undefined;
  }

  private exempt?: string;

  async getCode(address: Address): Promise<Uint8Array> {
    if (this.exempt !== undefined && address.toString() === this.exempt) {
      this.exempt = undefined;
      return DELEGATION_MARK;
    }
    const record = this.store.account(address.toString());
    if (!record) return EMPTY;
    const hash = bytesToHex(record.codeHash);
    if (hash === KECCAK256_NULL_S) return EMPTY;
    return this.store.code(hash) ?? EMPTY;
  }

  async getCodeSize(address: Address): Promise<number> {
    return (await this.getCode(address)).length;
  }

  async getStorage(address: Address, key: Uint8Array): Promise<Uint8Array> {
    if (key.length !== 32) throw new Error('storage key must be 32 bytes');
    return this.store.storage(address.toString(), bytesToHex(key)) ?? EMPTY;
  }

  async putStorage(address: Address, key: Uint8Array, value: Uint8Array): Promise<void> {
    if (key.length !== 32) throw new Error('storage key must be 32 bytes');
    if (value.length > 32) throw new Error('storage value cannot exceed 32 bytes');
    const a = address.toString();
    const slot = bytesToHex(key);
    const prior = this.store.storage(a, slot);
    const id = a + slot;
    // The value before the first write in this transaction is its original value.
    if (!this.originals.has(id)) this.originals.set(id, prior ?? EMPTY);
    const next = unpadBytes(value);
    this.undo.push({ kind: 'slot', address: a, slot, prior });
    this.store.setStorage(a, slot, next.length === 0 ? undefined : next);
  }

  async clearStorage(address: Address): Promise<void> {
    this.clearSlots(address.toString());
  }

  async checkpoint(): Promise<void> {
    this.marks.push(this.undo.length);
  }

  async commit(): Promise<void> {
    this.marks.pop();
    if (this.marks.length === 0) this.undo.length = 0;
  }

  async revert(): Promise<void> {
    const mark = this.marks.pop() ?? 0;
    for (let i = this.undo.length - 1; i >= mark; i--) {
      const entry = this.undo[i]!;
      if (entry.kind === 'account') this.store.setAccount(entry.address, entry.prior);
      else this.store.setStorage(entry.address, entry.slot, entry.prior);
    }
    this.undo.length = mark;
  }

  async getStateRoot(): Promise<Uint8Array> {
    if (!this.computeRoot) throw new Error('this state view has no state root');
    return this.computeRoot();
  }

  async setStateRoot(): Promise<void> {
    throw new Error('state is addressed by block number, not by state root');
  }

  async hasStateRoot(): Promise<boolean> {
    return false;
  }

  clearCaches(): void {}

  shallowCopy(): StateManagerInterface {
    return new JournaledStateManager(this.store, this.rootOf, this.computeRoot);
  }

  private writeAccount(address: string, account: AccountRecord | undefined): void {
    this.undo.push({ kind: 'account', address, prior: this.store.account(address) });
    this.store.setAccount(address, account);
  }

  private clearSlots(address: string): void {
    for (const [slot, prior] of [...this.store.slots(address)]) {
      const id = address + slot;
      if (!this.originals.has(id)) this.originals.set(id, prior);
      this.undo.push({ kind: 'slot', address, slot, prior });
      this.store.setStorage(address, slot, undefined);
    }
  }
}
