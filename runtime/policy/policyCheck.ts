/**
 * The body of the POLICY_CHECK precompile (0x…0c0f), which PolicyRegistry.setPolicy calls before
 * storing a policy: validation lives here, in one parser shared with the enclave's readers,
 * rather than in a second implementation in Solidity that could disagree with it.
 */
import { encodeErrorResult, hexToBytes } from 'viem';
import { parsePolicyBytes, PolicyError } from './Policy.ts';

const ERROR_ABI = [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }] as const;

/**
 * Validates raw UTF-8 policy bytes. A bad policy yields ABI `Error(string)` revert data carrying
 * the {@link PolicyError} message, which the registry bubbles up unchanged so that cast and
 * ethers show the deployer which field is wrong.
 */
export function checkPolicyInput(input: Uint8Array): { ok: true } | { ok: false; revertData: Uint8Array } {
  try {
    parsePolicyBytes(input);
    return { ok: true };
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return { ok: false, revertData: hexToBytes(encodeErrorResult({ abi: ERROR_ABI, errorName: 'Error', args: [e.message] })) };
  }
}
