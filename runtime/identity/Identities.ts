import { bytesToHex, hexToBytes } from '@ethereumjs/util';
import type { StateReader } from '../state/types.ts';
import { IDENTITY_REGISTRY } from '../system/addresses.ts';
import { readIdentity } from '../system/layout.ts';

/** Identities kept in memory; the registry is fixed until governance changes it. */
const CACHED = 16_384;

/**
 * Who an address is, from the identity registry's storage: its role bits (member 1, user
 * 2, auditor 4; 0 when not registered). Reads use the registry at the head, as of the
 * state given (the committed world state).
 */
export class Identities {
  private readonly roles = new Map<string, number>();

  constructor(private readonly state: StateReader) {}

  rolesOf(address: string): number {
    const cached = this.roles.get(address);
    if (cached !== undefined) return cached;
    const roles = rolesIn(this.state, address);
    if (this.roles.size >= CACHED) this.roles.delete(this.roles.keys().next().value!);
    this.roles.set(address, roles);
    return roles;
  }
}

/** An address's role bits in the identity registry of `state`. */
export function rolesIn(state: StateReader, address: string): number {
  const read = (slot: Uint8Array) => state.storage(IDENTITY_REGISTRY, bytesToHex(slot));
  return readIdentity(read, hexToBytes(address as `0x${string}`)).roles;
}
