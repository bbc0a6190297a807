import { readFileSync } from 'node:fs';
import type { NetworkGenesis } from '../runtime/boundary/messages.ts';

/** Role names of a network file and their bits in the identity registry. */
const ROLES: Record<string, number> = { member: 1, user: 2, auditor: 4 };
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const KEY = /^0x[0-9a-fA-F]{64}$/;
const FIELDS = new Set(['name', 'chainId', 'timestamp', 'identities', 'alloc', 'defaultPolicy']);
const IDENTITY_FIELDS = new Set(['name', 'address', 'roles', 'x25519', 'balance']);

/** A network file, read: the chain id and what the enclave builds the genesis from. */
export interface GenesisFile {
  name?: string;
  chainId: bigint;
  network: NetworkGenesis;
}

/** A network file that cannot be used; the message names the file and the field. */
export class GenesisFileError extends Error {}

/**
 * Reads a network file (`conclave start --genesis FILE`):
 *
 * ```json
 * { "name": "...", "chainId": 7700, "timestamp": 1796083200,
 *   "identities": [{ "name": "Org A", "address": "0x…", "roles": ["member"], "x25519": "0x…", "balance": "1000000000000000000000" }],
 *   "alloc": { "0x…": "1000000000000000000" },
 *   "defaultPolicy": { "state": ["everyone"], … } }
 * ```
 * Balances are in wei (a decimal string or a 0x quantity). The policy is checked by the
 * enclave, which names any field it refuses.
 */
export function readGenesisFile(file: string): GenesisFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new GenesisFileError(`network file ${file}: ${(err as Error).message}`);
  }
  const fail = (at: string, why: string): never => {
    throw new GenesisFileError(`network file ${file}: ${at}: ${why}`);
  };
  if (!isObject(json)) return fail('top level', 'an object expected');
  for (const k of Object.keys(json)) if (!FIELDS.has(k)) fail(k, 'unknown field');
  const chainId = json.chainId;
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId < 1) fail('chainId', 'a positive integer expected');
  if (json.name !== undefined && typeof json.name !== 'string') fail('name', 'a string expected');
  if (!Array.isArray(json.identities) || json.identities.length === 0) return fail('identities', 'a non-empty list expected');

  const identities: NetworkGenesis['identities'] = [];
  const alloc = new Map<string, bigint>();
  const seen = new Set<string>();
  json.identities.forEach((entry: unknown, i: number) => {
    const at = `identities[${i}]`;
    if (!isObject(entry)) return fail(at, 'an object expected');
    for (const k of Object.keys(entry)) if (!IDENTITY_FIELDS.has(k)) fail(`${at}.${k}`, 'unknown field');
    const address = addressOf(entry.address, `${at}.address`, fail);
    if (seen.has(address)) fail(`${at}.address`, `${address} is listed twice`);
    seen.add(address);
    if (!Array.isArray(entry.roles) || entry.roles.length === 0) return fail(`${at}.roles`, 'a non-empty list of member, user, auditor expected');
    let roles = 0;
    for (const r of entry.roles) {
      const bit = typeof r === 'string' ? ROLES[r] : undefined;
      if (bit === undefined) fail(`${at}.roles`, `unknown role ${JSON.stringify(r)} (member, user or auditor)`);
      roles |= bit!;
    }
    let x25519: Uint8Array | undefined;
    if (entry.x25519 !== undefined) {
      if (typeof entry.x25519 !== 'string' || !KEY.test(entry.x25519)) fail(`${at}.x25519`, 'a 32-byte 0x hex key expected');
      x25519 = Buffer.from((entry.x25519 as string).slice(2), 'hex');
    }
    identities.push({ address, roles, ...(x25519 ? { x25519 } : {}) });
    if (entry.balance !== undefined) alloc.set(address, wei(entry.balance, `${at}.balance`, fail));
  });
  if (json.alloc !== undefined) {
    if (!isObject(json.alloc)) fail('alloc', 'an object of address: wei expected');
    for (const [key, value] of Object.entries(json.alloc as Record<string, unknown>)) {
      const address = addressOf(key, `alloc.${key}`, fail);
      alloc.set(address, (alloc.get(address) ?? 0n) + wei(value, `alloc.${key}`, fail));
    }
  }
  const timestamp = json.timestamp;
  if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0)) {
    fail('timestamp', 'the genesis time in unix seconds expected');
  }
  let defaultPolicy: string | undefined;
  if (json.defaultPolicy !== undefined) {
    if (!isObject(json.defaultPolicy)) fail('defaultPolicy', 'a policy object expected');
    defaultPolicy = JSON.stringify(json.defaultPolicy);
  }
  return {
    ...(typeof json.name === 'string' ? { name: json.name } : {}),
    chainId: BigInt(chainId as number),
    network: {
      identities,
      alloc: [...alloc].map(([address, balance]) => ({ address, balance })),
      ...(defaultPolicy !== undefined ? { defaultPolicy } : {}),
      ...(typeof timestamp === 'number' ? { timestamp: BigInt(timestamp) } : {}),
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function addressOf(v: unknown, at: string, fail: (at: string, why: string) => never): string {
  if (typeof v !== 'string' || !ADDRESS.test(v)) fail(at, 'a 0x address of 40 hex digits expected');
  return (v as string).toLowerCase();
}

function wei(v: unknown, at: string, fail: (at: string, why: string) => never): bigint {
  if (typeof v !== 'string' || !/^(?:0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$/.test(v)) fail(at, 'wei as a decimal string or a 0x quantity expected');
  const n = BigInt(v as string);
  if (n >= 2n ** 256n) fail(at, 'more than 2^256 - 1 wei');
  return n;
}
