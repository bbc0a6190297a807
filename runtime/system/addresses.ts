/**
 * The fixed addresses of Conclave's system contracts and precompile, the same on every
 * network (contracts/system/ declares them too), and the role bits of identities.
 */

/** contracts/system/IdentityRegistry.sol: addresses with roles and X25519 keys, seeded at genesis. */
export const IDENTITY_REGISTRY = '0x0000000000000000000000000000000000000c01';

/** contracts/system/PolicyRegistry.sol: each contract's deployer and confidentiality policy. */
export const POLICY_REGISTRY = '0x0000000000000000000000000000000000000c02';

/** The precompile the policy registry calls to validate a policy before storing it. */
export const POLICY_CHECK = '0x0000000000000000000000000000000000000c0f';

/**
 * Role bits of an identity in the registry (a uint8 bitmask; an address is registered iff
 * its roles are not 0), by the name a policy's `role:NAME` audience uses.
 */
export const ROLES = { member: 1, user: 2, auditor: 4 } as const;

/** A role's name in policies and network files. */
export type RoleName = keyof typeof ROLES;
