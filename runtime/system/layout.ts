/**
 * The storage layout of the system contracts (contracts/system/), for the enclave, which
 * seeds their storage at genesis and reads identities and policies by slot rather than by
 * calling them. Solidity's rules: a mapping entry of `key` in the mapping at slot `p` is at
 * keccak256(key padded to 32 bytes ++ p); a dynamic array at slot `p` keeps its length there
 * and element i at keccak256(p) + i; `bytes` is described at {@link readBytes}.
 *
 * Slots and words are 32-byte big-endian arrays; addresses are 20-byte arrays.
 */
import { bigIntToBytes, bytesToBigInt, bytesToHex, concatBytes, setLengthLeft } from '@ethereumjs/util';
import { keccak256 } from '../crypto/ethCrypto.ts';

/** Reads one storage word of a contract; a missing or shortened (leading zeros stripped) word is fine. */
export type StorageReader = (slot: Uint8Array) => Uint8Array | undefined;

/** A storage slot and the 32-byte word to write there. */
export type StorageWrite = [slot: Uint8Array, word: Uint8Array];

// IdentityRegistry
const IDENTITIES = 0n;
const IDENTITY_LIST = 1n;
// PolicyRegistry
const DEPLOYERS = 0n;
const POLICY_HASHES = 1n;
const BODIES = 2n;
const PENDING = 3n;
const DEFAULT_POLICY = 4n;

/** Longest `bytes` value {@link readBytes} accepts unless told otherwise; far above any policy (16 KiB). */
export const MAX_BYTES_LENGTH = 1 << 20;

const TWO_256 = 1n << 256n;

/** IdentityRegistry: the slot of `_all`'s length (element i is at {@link identityListSlot}). */
export const IDENTITY_LIST_SLOT = wordOf(IDENTITY_LIST);

/** PolicyRegistry: the slot of `defaultPolicyHash`. */
export const DEFAULT_POLICY_SLOT = wordOf(DEFAULT_POLICY);

/** IdentityRegistry: the slot of `_identities[account]`; its roles are there (low byte), its X25519 key at the next slot. */
export function identitySlot(account: Uint8Array): Uint8Array {
  return mappingSlot(addressKey(account), IDENTITIES);
}

/** IdentityRegistry: the slot of `_all[index]`. */
export function identityListSlot(index: number): Uint8Array {
  return offsetSlot(keccak256(IDENTITY_LIST_SLOT), BigInt(index));
}

/** PolicyRegistry: the slot of `deployerOf[target]`. */
export function deployerSlot(target: Uint8Array): Uint8Array {
  return mappingSlot(addressKey(target), DEPLOYERS);
}

/** PolicyRegistry: the slot of `policyHashOf[target]`. */
export function policyHashSlot(target: Uint8Array): Uint8Array {
  return mappingSlot(addressKey(target), POLICY_HASHES);
}

/** PolicyRegistry: the slot of `pendingOf[setter][target]`, a policy registered in advance for setter's creation of target. */
export function pendingSlot(setter: Uint8Array, target: Uint8Array): Uint8Array {
  const inner = mappingSlot(addressKey(setter), PENDING);
  return keccak256(concatBytes(addressKey(target), inner));
}

/** PolicyRegistry: the slot of `_bodies[hash]`, a policy's JSON as Solidity `bytes` (see {@link readBytes}). */
export function bodySlot(hash: Uint8Array): Uint8Array {
  if (hash.length !== 32) throw new RangeError(`policy hash must be 32 bytes, got ${hash.length}`);
  return mappingSlot(hash, BODIES);
}

/** One word of storage as 32 bytes (zero when unset). */
export function readWord(read: StorageReader, slot: Uint8Array): Uint8Array {
  const value = read(slot);
  if (value === undefined || value.length === 0) return new Uint8Array(32);
  if (value.length > 32) throw new RangeError(`storage word of ${value.length} bytes`);
  // A copy, so that no caller can change the stored value through it.
  return value.length === 32 ? value.slice() : setLengthLeft(value, 32);
}

/**
 * A Solidity `bytes` (or `string`) value in storage at `slot`. A value shorter than 32
 * bytes sits in the slot itself, left-aligned, with length * 2 in the lowest byte; a longer
 * one keeps length * 2 + 1 in the slot and its data in the words from keccak256(slot) on.
 * Throws on an encoding Solidity never writes, or on a length over `maxLength`.
 */
export function readBytes(read: StorageReader, slot: Uint8Array, maxLength = MAX_BYTES_LENGTH): Uint8Array {
  const head = readWord(read, slot);
  if ((head[31]! & 1) === 0) {
    const length = head[31]! >> 1;
    if (length > 31) throw new RangeError(`malformed bytes in storage: short form with length ${length}`);
    return head.slice(0, length);
  }
  const encoded = bytesToBigInt(head);
  const length = (encoded - 1n) >> 1n;
  if (length < 32n) throw new RangeError(`malformed bytes in storage: long form with length ${length}`);
  if (length > BigInt(maxLength)) throw new RangeError(`bytes in storage of ${length} bytes exceed the limit of ${maxLength}`);
  const out = new Uint8Array(Number(length));
  const data = keccak256(slot);
  for (let offset = 0; offset < out.length; offset += 32) {
    const word = readWord(read, offsetSlot(data, BigInt(offset / 32)));
    out.set(word.subarray(0, Math.min(32, out.length - offset)), offset);
  }
  return out;
}

/**
 * The words that store `value` as Solidity `bytes` at `slot` (the layout {@link readBytes}
 * reads). Only the value's own words: data words a longer previous value left behind are
 * not cleared.
 */
export function encodeBytes(slot: Uint8Array, value: Uint8Array): StorageWrite[] {
  if (value.length < 32) {
    const word = new Uint8Array(32);
    word.set(value);
    word[31] = value.length * 2;
    return [[slot, word]];
  }
  const writes: StorageWrite[] = [[slot, wordOf(BigInt(value.length) * 2n + 1n)]];
  const data = keccak256(slot);
  for (let offset = 0; offset < value.length; offset += 32) {
    const word = new Uint8Array(32);
    word.set(value.subarray(offset, offset + 32));
    writes.push([offsetSlot(data, BigInt(offset / 32)), word]);
  }
  return writes;
}

/** An identity as the registry holds it. */
export interface Identity {
  /** Role bits (ROLES in ./addresses.ts); 0 means not registered. */
  roles: number;
  /** The X25519 public key it registered, if any. */
  x25519?: Uint8Array;
}

/** The identity of `account` in the IdentityRegistry's storage (roles 0 when it is not registered). */
export function readIdentity(read: StorageReader, account: Uint8Array): Identity {
  const base = identitySlot(account);
  const roles = readWord(read, base)[31]!;
  const key = readWord(read, offsetSlot(base, 1n));
  return key.some((b) => b !== 0) ? { roles, x25519: key } : { roles };
}

/** The words of `_identities[account]` (without the entry in the list; see {@link encodeIdentities}). */
export function encodeIdentity(account: Uint8Array, identity: Identity): StorageWrite[] {
  if (!Number.isInteger(identity.roles) || identity.roles < 1 || identity.roles > 255) {
    throw new RangeError(`identity roles must be a non-zero uint8, got ${identity.roles}`);
  }
  const base = identitySlot(account);
  const writes: StorageWrite[] = [[base, wordOf(BigInt(identity.roles))]];
  if (identity.x25519 !== undefined) {
    if (identity.x25519.length !== 32) throw new RangeError(`x25519 key must be 32 bytes, got ${identity.x25519.length}`);
    writes.push([offsetSlot(base, 1n), identity.x25519]);
  }
  return writes;
}

/** Every word of an IdentityRegistry holding `identities`, in this order (for the genesis state). */
export function encodeIdentities(identities: ReadonlyArray<Identity & { address: Uint8Array }>): StorageWrite[] {
  const seen = new Set<string>();
  const writes: StorageWrite[] = [[IDENTITY_LIST_SLOT, wordOf(BigInt(identities.length))]];
  identities.forEach((identity, index) => {
    const address = bytesToHex(identity.address);
    if (seen.has(address)) throw new RangeError(`identity ${address} is listed twice`);
    seen.add(address);
    writes.push(...encodeIdentity(identity.address, identity));
    writes.push([identityListSlot(index), addressKey(identity.address)]);
  });
  return writes;
}

/**
 * The policy JSON (UTF-8) governing `target`, as `policyOf` answers: its own policy, else the
 * network's default, else undefined (the contract is public).
 */
export function readPolicyBody(read: StorageReader, target: Uint8Array): Uint8Array | undefined {
  let hash = readWord(read, policyHashSlot(target));
  if (isZero(hash)) hash = readWord(read, DEFAULT_POLICY_SLOT);
  if (isZero(hash)) return undefined;
  return readBytes(read, bodySlot(hash));
}

/** The words of a PolicyRegistry whose default policy is `body` (UTF-8 JSON), for the genesis state. */
export function encodeDefaultPolicy(body: Uint8Array): StorageWrite[] {
  const hash = keccak256(body);
  return [[DEFAULT_POLICY_SLOT, hash], ...encodeBytes(bodySlot(hash), body)];
}

function mappingSlot(key: Uint8Array, slot: bigint): Uint8Array {
  return keccak256(concatBytes(key, wordOf(slot)));
}

/** An address as a mapping key: left-padded to 32 bytes. */
function addressKey(address: Uint8Array): Uint8Array {
  if (address.length !== 20) throw new RangeError(`address must be 20 bytes, got ${address.length}`);
  const key = new Uint8Array(32);
  key.set(address, 12);
  return key;
}

/** `slot` + `offset`, wrapping at 2^256 as the EVM's slot arithmetic does. */
function offsetSlot(slot: Uint8Array, offset: bigint): Uint8Array {
  return wordOf((bytesToBigInt(slot) + offset) % TWO_256);
}

function wordOf(value: bigint): Uint8Array {
  return setLengthLeft(bigIntToBytes(value), 32);
}

function isZero(word: Uint8Array): boolean {
  return word.every((b) => b === 0);
}
