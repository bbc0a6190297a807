import { bytesToHex, hexToBytes, unpadBytes } from '@ethereumjs/util';
import type { NetworkGenesis } from '../boundary/messages.ts';
import { IDENTITY_REGISTRY, POLICY_REGISTRY } from '../system/addresses.ts';
import { encodeDefaultPolicy, encodeIdentities, type StorageWrite } from '../system/layout.ts';
import { IDENTITY_REGISTRY_CODE, POLICY_REGISTRY_CODE } from '../system/systemCode.ts';
import { BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CODE, HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE } from '../system/pragueContracts.ts';
import type { GenesisAccount } from './Chain.ts';
import { MULTICALL3_ADDRESS, MULTICALL3_CODE } from './multicall3.ts';

/**
 * The genesis state of a network: its funded accounts, and the system contracts with
 * their code and initial storage (the identity registry holding the network's
 * identities, the policy registry holding its default policy; Prague's beacon roots and
 * block-hash history contracts, empty). The dev network has the
 * same system contracts, with no identity and no default policy, and Multicall3.
 */
export function genesisAccounts(funded: Iterable<[string, bigint]>, network?: NetworkGenesis): Map<string, GenesisAccount> {
  const accounts = new Map<string, GenesisAccount>();
  for (const [address, balance] of funded) accounts.set(address, { balance: (accounts.get(address)?.balance ?? 0n) + balance });
  const identities = encodeIdentities(
    (network?.identities ?? []).map((i) => ({ address: hexToBytes(i.address as `0x${string}`), roles: i.roles, ...(i.x25519 ? { x25519: i.x25519 } : {}) })),
  );
  const policies = network?.defaultPolicy !== undefined ? encodeDefaultPolicy(new TextEncoder().encode(network.defaultPolicy)) : [];
  accounts.set(IDENTITY_REGISTRY, { balance: 0n, code: hexToBytes(IDENTITY_REGISTRY_CODE as `0x${string}`), storage: storageOf(identities) });
  accounts.set(POLICY_REGISTRY, { balance: 0n, code: hexToBytes(POLICY_REGISTRY_CODE as `0x${string}`), storage: storageOf(policies) });
  // Prague's system contracts, which every block calls (see systemCalls.ts).
  accounts.set(BEACON_ROOTS_ADDRESS, { balance: 0n, code: hexToBytes(BEACON_ROOTS_CODE as `0x${string}`) });
  accounts.set(HISTORY_STORAGE_ADDRESS, { balance: 0n, code: hexToBytes(HISTORY_STORAGE_CODE as `0x${string}`) });
  if (!network) accounts.set(MULTICALL3_ADDRESS, { balance: 0n, code: hexToBytes(MULTICALL3_CODE as `0x${string}`) });
  return accounts;
}

function storageOf(writes: StorageWrite[]): Map<string, Uint8Array> {
  const storage = new Map<string, Uint8Array>();
  for (const [slot, word] of writes) {
    const value = unpadBytes(word);
    if (value.length > 0) storage.set(bytesToHex(slot), value);
  }
  return storage;
}
