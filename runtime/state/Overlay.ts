import type { AccountRecord, StateReader, StateStore } from './types.ts';

const DELETED = Symbol('deleted');

/**
 * Writes kept beside a read-only base: what eth_call and eth_estimateGas execute on, so
 * a read never changes committed state and can run against any past block's view.
 */
export class Overlay implements StateStore {
  private readonly accounts = new Map<string, AccountRecord | typeof DELETED>();
  private readonly storageWrites = new Map<string, Map<string, Uint8Array | typeof DELETED>>();
  private readonly codes = new Map<string, Uint8Array>();

  constructor(private readonly base: StateReader) {}

  account(address: string): AccountRecord | undefined {
    const local = this.accounts.get(address);
    if (local === DELETED) return undefined;
    return local ?? this.base.account(address);
  }

  storage(address: string, slot: string): Uint8Array | undefined {
    const local = this.storageWrites.get(address)?.get(slot);
    if (local === DELETED) return undefined;
    if (local !== undefined) return local;
    // An account deleted here has no storage, whatever the base holds.
    if (this.accounts.get(address) === DELETED) return undefined;
    return this.base.storage(address, slot);
  }

  code(codeHash: string): Uint8Array | undefined {
    return this.codes.get(codeHash) ?? this.base.code(codeHash);
  }

  *slots(address: string): Iterable<[string, Uint8Array]> {
    const local = this.storageWrites.get(address);
    if (this.accounts.get(address) !== DELETED) {
      for (const [slot, value] of this.base.slots(address)) {
        if (!local?.has(slot)) yield [slot, value];
      }
    }
    if (local) for (const [slot, value] of local) if (value !== DELETED) yield [slot, value];
  }

  setAccount(address: string, account: AccountRecord | undefined): void {
    this.accounts.set(address, account ?? DELETED);
  }

  setStorage(address: string, slot: string, value: Uint8Array | undefined): void {
    let map = this.storageWrites.get(address);
    if (!map) this.storageWrites.set(address, (map = new Map()));
    map.set(slot, value ?? DELETED);
  }

  putCode(codeHash: string, code: Uint8Array): void {
    this.codes.set(codeHash, code);
  }
}
