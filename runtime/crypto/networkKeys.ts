import { hkdfSync } from 'node:crypto';

/**
 * Keys every enclave of a network derives alike from the network secret (created
 * inside the enclave at genesis and sealed beside the storage key), so that nodes that
 * share the secret agree on them without ever exchanging them. One HKDF label per use:
 * a key serves one purpose only.
 */
export interface NetworkKeys {
  /** Seals transactions for the ordering log (AES-256-GCM). */
  envelope: Uint8Array;
}

/** Derives the network's keys; the caller zeroes the secret afterwards. */
export function deriveNetworkKeys(secret: Uint8Array): NetworkKeys {
  return { envelope: derive(secret, 'conclave/network/envelope/v1') };
}

function derive(secret: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), label, 32));
}
