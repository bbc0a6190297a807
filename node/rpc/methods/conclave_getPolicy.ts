import { param, parseAddress, parseBlockTag } from '../params.ts';
import { type Services, read } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/**
 * conclave_getPolicy(address[, block]): the confidentiality policy governing a
 * contract at a block (default `latest`): `{ hash, policy }`, where `policy` is the
 * JSON its deployer set (or the network's default policy) and `hash` the keccak256 of
 * its text in the policy registry; null when the contract is public. Policies are
 * public, and apply from the block they are set in.
 */
export const conclave_getPolicy: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'public',
  handler(params, ctx) {
    const address = param(params, 0, 'address', parseAddress);
    const block = param(params, 1, 'block', parseBlockTag, true) ?? 'latest';
    return read(ctx, { kind: 'policy', address, block });
  },
};
