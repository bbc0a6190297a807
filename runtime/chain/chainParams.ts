import { createHash } from 'node:crypto';
import type { EnclaveConfig } from '../boundary/messages.ts';
import { EnclaveFailure } from '../enclave/EnclaveFailure.ts';
import { HARDFORK } from './common.ts';

/** The block gas limit of a new chain when none is given (as Anvil and Hardhat). */
const DEFAULT_BLOCK_GAS_LIMIT = 30_000_000n;

/**
 * The consensus parameters fixed at genesis: every node that executes the log must use
 * the same. They are sealed with the storage key beside the genesis hash (see
 * Ledger.bind), as strings.
 */
export interface ChainParams {
  chainId: bigint;
  blockGasLimit: bigint;
  hardfork: string;
  /** `dev`, or a hash of the network file's content (identities, funds, default policy, time). */
  network: string;
}

/** The parameters a new chain takes from its start options. */
export function paramsFor(config: EnclaveConfig): ChainParams {
  return { chainId: config.chainId, blockGasLimit: config.blockGasLimit ?? DEFAULT_BLOCK_GAS_LIMIT, hardfork: HARDFORK, network: networkId(config) };
}

/** The parameters as sealed in the chain binding. */
export function encodeParams(p: ChainParams): Record<string, string> {
  return { chainId: p.chainId.toString(), blockGasLimit: p.blockGasLimit.toString(), hardfork: p.hardfork, network: p.network };
}

/**
 * The parameters of an existing chain, checked against the start options: one that asks
 * for another value is refused with what to do; one that names none keeps the chain's.
 */
export function pinnedParams(sealed: Record<string, string>, config: EnclaveConfig): ChainParams {
  const p: ChainParams = {
    chainId: BigInt(sealed.chainId!),
    blockGasLimit: BigInt(sealed.blockGasLimit!),
    hardfork: sealed.hardfork!,
    network: sealed.network!,
  };
  const dir = config.dataDir;
  if (p.chainId !== config.chainId) {
    throw new EnclaveFailure('invalidInput', `data directory ${dir} holds chain ${p.chainId}, not ${config.chainId}: start with --chain-id ${p.chainId}, or --reset to start over`);
  }
  const refuse = (what: string, was: string, asked: string, how: string) =>
    new EnclaveFailure('invalidInput', `data directory ${dir} holds a chain with ${what} ${was}, not ${asked}: it is a consensus parameter fixed at genesis; ${how}, or --reset to start over`);
  if (p.hardfork !== HARDFORK) throw refuse('hardfork', p.hardfork, HARDFORK, 'start it with the Conclave version that created it');
  if (config.blockGasLimit !== undefined && config.blockGasLimit !== p.blockGasLimit) {
    throw refuse('block gas limit', String(p.blockGasLimit), String(config.blockGasLimit), `start it without --gas-limit (or with --gas-limit ${p.blockGasLimit})`);
  }
  const network = networkId(config);
  if (p.network !== network) {
    const describe = (x: string) => (x === 'dev' ? 'the dev network (started without --genesis)' : 'a network from a network file');
    throw new EnclaveFailure(
      'invalidInput',
      `data directory ${dir} holds ${describe(p.network)}${p.network !== 'dev' && network !== 'dev' ? ' with other content' : ''}, not ${describe(network)}: start it as it was created, or --reset to start over`,
    );
  }
  return p;
}

/**
 * Which network a start names: the dev network, or the consortium network of one network
 * file (a hash of its content), since the genesis state would not match another.
 */
function networkId(config: EnclaveConfig): string {
  const network = config.network;
  if (!network) return 'dev';
  return createHash('sha256')
    .update(
      JSON.stringify({
        identities: network.identities.map((i) => [i.address, i.roles, i.x25519 ? '0x' + Buffer.from(i.x25519).toString('hex') : null]),
        alloc: network.alloc.map((a) => [a.address, a.balance.toString()]),
        defaultPolicy: network.defaultPolicy ?? null,
        timestamp: network.timestamp?.toString() ?? null,
      }),
    )
    .digest('hex');
}
