/** A committed account as the enclave keeps it (storage lives beside it, keyed by address). */
export interface AccountRecord {
  nonce: bigint;
  balance: bigint;
  /** keccak256 of the code; KECCAK256_NULL for accounts without code. */
  codeHash: Uint8Array;
}

/**
 * Read access to one version of the world state. Addresses are 0x-prefixed lowercase
 * hex, storage slots 0x-prefixed 32-byte hex, storage values minimal big-endian bytes
 * (no leading zeros); a zero value is reported as undefined.
 */
export interface StateReader {
  account(address: string): AccountRecord | undefined;
  storage(address: string, slot: string): Uint8Array | undefined;
  /** Code by its hash (0x hex). Code is content-addressed and never removed. */
  code(codeHash: string): Uint8Array | undefined;
  /** Every non-zero slot of an account, for clearing storage. */
  slots(address: string): Iterable<[string, Uint8Array]>;
}

/** A state that also accepts writes: the committed world state, or an overlay for calls. */
export interface StateStore extends StateReader {
  setAccount(address: string, account: AccountRecord | undefined): void;
  setStorage(address: string, slot: string, value: Uint8Array | undefined): void;
  putCode(codeHash: string, code: Uint8Array): void;
}
