import { bytesToHex, hexToBytes, setLengthLeft } from '@ethereumjs/util';
import type { StateReader } from '../state/types.ts';
import { IDENTITY_REGISTRY, POLICY_REGISTRY } from '../system/addresses.ts';
import { BEACON_ROOTS_ADDRESS, HISTORY_STORAGE_ADDRESS } from '../system/pragueContracts.ts';
import { bodySlot, DEFAULT_POLICY_SLOT, policyHashSlot, readBytes } from '../system/layout.ts';
import { MAX_POLICY_BYTES, parsePolicy, parsePolicyBytes, type Policy } from './Policy.ts';

/** Parsed policies kept, by hash: bodies are content-addressed, so an entry never goes stale. */
const CACHED_POLICIES = 1024;
/** Registry slots of contracts' policy hashes kept, by address (a keccak each to compute). */
const CACHED_SLOTS = 16_384;
/**
 * The system contracts answer to everyone: no default policy applies to them (Prague's
 * hold block hashes and timestamps, public in every block header).
 */
const SYSTEM = new Set([IDENTITY_REGISTRY, POLICY_REGISTRY, BEACON_ROOTS_ADDRESS, HISTORY_STORAGE_ADDRESS]);
const ZERO_WORD = '0x' + '00'.repeat(32);
const DEFAULT_SLOT = bytesToHex(DEFAULT_POLICY_SLOT);
const NOBODY_POLICY = parsePolicy('{"state":[],"input":[],"output":[],"events":{}}');

/**
 * Reads contracts' policies from the policy registry's storage in a given state (a
 * block's view, or the state a transaction runs on), so a read at block B sees the
 * policies of block B. Policies are identified by the hash of their JSON; a body is
 * parsed once and kept.
 */
export class PolicyBook {
  private readonly parsed = new Map<string, Policy>();
  private readonly slots = new Map<string, string>();

  /**
   * The hash of the policy governing `address` in `state` (its own, else the network's
   * default), or undefined when the contract is public. Asked for every message the
   * EVM runs: two storage lookups, once the address's slot is known.
   */
  hashAt(state: StateReader, address: string): string | undefined {
    if (SYSTEM.has(address)) return undefined;
    let slot = this.slots.get(address);
    if (slot === undefined) {
      slot = bytesToHex(policyHashSlot(hexToBytes(address as `0x${string}`)));
      if (this.slots.size >= CACHED_SLOTS) this.slots.delete(this.slots.keys().next().value!);
      this.slots.set(address, slot);
    }
    const own = state.storage(POLICY_REGISTRY, slot) ?? state.storage(POLICY_REGISTRY, DEFAULT_SLOT);
    if (own === undefined) return undefined;
    const hash = bytesToHex(setLengthLeft(own, 32));
    return hash === ZERO_WORD ? undefined : hash;
  }

  /** The policy governing `address` in `state`, or undefined when it is public. */
  at(state: StateReader, address: string): Policy | undefined {
    const hash = this.hashAt(state, address);
    return hash === undefined ? undefined : this.byHash(state, hash);
  }

  /** A policy's JSON text by hash, as stored (public: policies are). */
  bodyText(state: StateReader, hash: string): string {
    return new TextDecoder().decode(readBytes(registry(state), bodySlot(hexToBytes(hash as `0x${string}`)), MAX_POLICY_BYTES));
  }

  /**
   * A policy by hash; its body is read from `state` the first time. Bodies are never
   * deleted, so any state at or after the block that stored it has it. The registry
   * stores only bodies the policy check accepted; a body that does not parse (only a
   * state written by other means could hold one) governs as nobody-sees-anything.
   */
  byHash(state: StateReader, hash: string): Policy {
    const cached = this.parsed.get(hash);
    if (cached) return cached;
    let policy: Policy;
    try {
      policy = parsePolicyBytes(readBytes(registry(state), bodySlot(hexToBytes(hash as `0x${string}`)), MAX_POLICY_BYTES));
    } catch {
      policy = NOBODY_POLICY;
    }
    if (this.parsed.size >= CACHED_POLICIES) this.parsed.delete(this.parsed.keys().next().value!);
    this.parsed.set(hash, policy);
    return policy;
  }
}

function registry(state: StateReader) {
  return (slot: Uint8Array) => state.storage(POLICY_REGISTRY, bytesToHex(slot));
}
