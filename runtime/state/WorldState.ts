import { bigIntToUnpaddedBytes, KECCAK256_RLP } from '@ethereumjs/util';
import { keccak256 } from '../crypto/ethCrypto.ts';
import { encodeBytes, encodeList } from './encodeRlp.ts';
import { MerkleTrie } from './MerkleTrie.ts';
import type { AccountRecord, StateStore } from './types.ts';

/** What one block changed: the new values (for the ledger) and the old ones (for history). */
export interface BlockChanges {
  /** address -> account after the block (undefined: deleted) */
  accounts: Map<string, AccountRecord | undefined>;
  /** address -> slot -> value after the block (undefined: zero) */
  storage: Map<string, Map<string, Uint8Array | undefined>>;
  /** code hash -> code first stored in this block */
  codes: Map<string, Uint8Array>;
  /** address -> account before the block */
  priorAccounts: Map<string, AccountRecord | undefined>;
  /** address -> slot -> value before the block */
  priorStorage: Map<string, Map<string, Uint8Array | undefined>>;
}

/**
 * The committed world state, in enclave memory. Writes land in place; the first write
 * to each key in a block records its prior value, so a block's write set (for the
 * ledger) and undo set (for archive reads) come out in O(keys touched), and the state
 * root is recomputed only over what changed.
 */
export class WorldState implements StateStore {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly storageMaps = new Map<string, Map<string, Uint8Array>>();
  private readonly codes = new Map<string, Uint8Array>();

  private priorAccounts = new Map<string, AccountRecord | undefined>();
  private priorStorage = new Map<string, Map<string, Uint8Array | undefined>>();
  private newCodes = new Map<string, Uint8Array>();

  /** Keys changed since the last state root. */
  private dirtyAccounts = new Set<string>();
  private dirtySlots = new Map<string, Set<string>>();
  private readonly accountTrie = new MerkleTrie();
  private readonly storageTries = new Map<string, MerkleTrie>();
  private readonly storageRoots = new Map<string, Uint8Array>();
  /** keccak256 of each address with an account: its key in the account trie. */
  private readonly accountKeys = new Map<string, Uint8Array>();

  account(address: string): AccountRecord | undefined {
    return this.accounts.get(address);
  }

  storage(address: string, slot: string): Uint8Array | undefined {
    return this.storageMaps.get(address)?.get(slot);
  }

  code(codeHash: string): Uint8Array | undefined {
    return this.codes.get(codeHash);
  }

  slots(address: string): Iterable<[string, Uint8Array]> {
    return this.storageMaps.get(address) ?? [];
  }

  /** Number of accounts, for snapshots and metrics. */
  get size(): number {
    return this.accounts.size;
  }

  setAccount(address: string, account: AccountRecord | undefined): void {
    if (!this.priorAccounts.has(address)) this.priorAccounts.set(address, this.accounts.get(address));
    if (account) this.accounts.set(address, account);
    else this.accounts.delete(address);
    this.dirtyAccounts.add(address);
  }

  setStorage(address: string, slot: string, value: Uint8Array | undefined): void {
    let map = this.storageMaps.get(address);
    let prior = this.priorStorage.get(address);
    if (!prior) this.priorStorage.set(address, (prior = new Map()));
    if (!prior.has(slot)) prior.set(slot, map?.get(slot));
    if (value === undefined || value.length === 0) {
      map?.delete(slot);
    } else {
      if (!map) this.storageMaps.set(address, (map = new Map()));
      map.set(slot, value);
    }
    let dirty = this.dirtySlots.get(address);
    if (!dirty) this.dirtySlots.set(address, (dirty = new Set()));
    dirty.add(slot);
    this.dirtyAccounts.add(address);
  }

  putCode(codeHash: string, code: Uint8Array): void {
    if (this.codes.has(codeHash)) return;
    this.codes.set(codeHash, code);
    this.newCodes.set(codeHash, code);
  }

  /** The values the block being built has overwritten so far (live maps). */
  inProgress(): Pick<BlockChanges, 'priorAccounts' | 'priorStorage'> {
    return { priorAccounts: this.priorAccounts, priorStorage: this.priorStorage };
  }

  /** Ends a block: returns what it changed and starts recording the next one. */
  takeChanges(): BlockChanges {
    const accounts = new Map<string, AccountRecord | undefined>();
    for (const address of this.priorAccounts.keys()) accounts.set(address, this.accounts.get(address));
    const storage = new Map<string, Map<string, Uint8Array | undefined>>();
    for (const [address, slots] of this.priorStorage) {
      const current = this.storageMaps.get(address);
      const after = new Map<string, Uint8Array | undefined>();
      for (const slot of slots.keys()) after.set(slot, current?.get(slot));
      storage.set(address, after);
    }
    const changes: BlockChanges = {
      accounts,
      storage,
      codes: this.newCodes,
      priorAccounts: this.priorAccounts,
      priorStorage: this.priorStorage,
    };
    this.priorAccounts = new Map();
    this.priorStorage = new Map();
    this.newCodes = new Map();
    return changes;
  }

  /** Applies a recorded write set (genesis, ledger replay on restart). */
  apply(changes: Pick<BlockChanges, 'accounts' | 'storage' | 'codes'>): void {
    for (const [hash, code] of changes.codes) this.putCode(hash, code);
    for (const [address, account] of changes.accounts) this.setAccount(address, account);
    for (const [address, slots] of changes.storage) {
      for (const [slot, value] of slots) this.setStorage(address, slot, value);
    }
  }

  /** Every account, its storage and all code: the content of a snapshot. */
  *entries(): Iterable<[string, AccountRecord, Map<string, Uint8Array> | undefined]> {
    for (const [address, account] of this.accounts) yield [address, account, this.storageMaps.get(address)];
  }

  allCodes(): Map<string, Uint8Array> {
    return this.codes;
  }

  /**
   * The Ethereum state root. Only accounts and slots changed since the last call are
   * re-inserted into the tries; unchanged subtrees keep their cached hashes.
   */
  async stateRoot(): Promise<Uint8Array> {
    // Secure tries: keys are hashed, as in Ethereum's state and storage tries.
    for (const address of this.dirtyAccounts) {
      const account = this.accounts.get(address);
      let key = this.accountKeys.get(address);
      if (!key) this.accountKeys.set(address, (key = keccak256(bytesOfHex(address))));
      if (!account) {
        this.accountKeys.delete(address);
        this.storageTries.delete(address);
        this.storageRoots.delete(address);
        this.dirtySlots.delete(address);
        this.accountTrie.del(key);
        continue;
      }
      const slots = this.dirtySlots.get(address);
      if (slots) {
        let trie = this.storageTries.get(address);
        if (!trie) this.storageTries.set(address, (trie = new MerkleTrie()));
        const map = this.storageMaps.get(address);
        for (const slot of slots) {
          const value = map?.get(slot);
          const slotKey = keccak256(bytesOfHex(slot));
          if (value) trie.put(slotKey, encodeBytes(value));
          else trie.del(slotKey);
        }
        this.storageRoots.set(address, trie.root());
      }
      const storageRoot = this.storageRoots.get(address) ?? KECCAK256_RLP;
      this.accountTrie.put(
        key,
        encodeList([
          encodeBytes(bigIntToUnpaddedBytes(account.nonce)),
          encodeBytes(bigIntToUnpaddedBytes(account.balance)),
          encodeBytes(storageRoot),
          encodeBytes(account.codeHash),
        ]),
      );
    }
    this.dirtyAccounts.clear();
    this.dirtySlots.clear();
    return this.accountTrie.root();
  }

  /** The storage root last computed for an account (EIP-7610 collision checks read it). */
  storageRootOf(address: string): Uint8Array {
    const map = this.storageMaps.get(address);
    if (!map || map.size === 0) return KECCAK256_RLP;
    return this.storageRoots.get(address) ?? NON_EMPTY_ROOT;
  }
}

/** Stands in for a storage root not yet computed: any value other than the empty root. */
const NON_EMPTY_ROOT = new Uint8Array(32).fill(1);

/** Bytes of a 0x-prefixed hex key, to be hashed at once (Node's parser: no validation pass, as keys are ours). */
function bytesOfHex(hex: string): Uint8Array {
  return Buffer.from(hex.slice(2), 'hex');
}
