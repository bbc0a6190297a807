import { createCustomCommon, Hardfork, Mainnet, type Common } from '@ethereumjs/common';

/** The one hardfork Conclave runs; contracts must be compiled for it (solc evmVersion "prague"). */
export const HARDFORK = Hardfork.Prague;

/**
 * One Common per chain, shared by every transaction and block: ethereumjs copies a
 * Common per object unless it is handed one.
 */
export function createChainCommon(chainId: bigint): Common {
  return createCustomCommon({ chainId: Number(chainId), name: 'conclave' }, Mainnet, { hardfork: HARDFORK });
}
