import { keccak_256 } from '@noble/hashes/sha3.js';
import { param, parseData, toData } from '../params.ts';
import type { Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * web3_sha3: keccak256 of the given data.
 * @see https://ethereum.github.io/execution-apis/api-documentation/
 */
export const web3_sha3: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(params) {
    return toData(keccak_256(param(params, 0, 'data', parseData)));
  },
};
