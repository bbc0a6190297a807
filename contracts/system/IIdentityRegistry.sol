// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev Where every Conclave network keeps its identity registry (written into the genesis state).
address constant IDENTITY_REGISTRY = 0x0000000000000000000000000000000000000C01;

/// @dev Role bits of an identity; an address holds any combination of them.
uint8 constant ROLE_MEMBER = 1;
uint8 constant ROLE_USER = 2;
uint8 constant ROLE_AUDITOR = 4;

/// @title IIdentityRegistry
/// @notice The identities of a Conclave network: addresses with roles (a bitmask of
///         ROLE_MEMBER, ROLE_USER, ROLE_AUDITOR) and optional X25519 public keys. The set is
///         written into the genesis state from the network file and has no mutating function
///         until governance exists. Contracts read it to make their own access decisions,
///         e.g. `IIdentityRegistry(IDENTITY_REGISTRY).hasRole(msg.sender, ROLE_AUDITOR)`.
interface IIdentityRegistry {
    /// @notice The role bits of `account` (0 when it is not registered).
    /// @param account The address asked about.
    /// @return roles The bitmask of ROLE_MEMBER, ROLE_USER and ROLE_AUDITOR it holds.
    function rolesOf(address account) external view returns (uint8 roles);

    /// @notice Whether `account` is a registered identity of the network (it holds at least one role).
    /// @param account The address asked about.
    /// @return registered True when its roles are not 0.
    function isRegistered(address account) external view returns (bool registered);

    /// @notice Whether `account` holds every bit of `role` (false when `role` is 0).
    /// @param account The address asked about.
    /// @param role One role bit, or several OR-ed together.
    /// @return held True when all of them are held.
    function hasRole(address account, uint8 role) external view returns (bool held);

    /// @notice The X25519 public key `account` registered to receive encrypted data.
    /// @param account The address asked about.
    /// @return key The 32-byte key, or 0 when it has none.
    function x25519KeyOf(address account) external view returns (bytes32 key);

    /// @notice How many identities the network has, for enumeration with identityAt.
    /// @return total The number of registered addresses.
    function count() external view returns (uint256 total);

    /// @notice The registered address at `index`, in the order of the network file.
    /// @param index From 0 to count() - 1; larger indices revert (Panic 0x32).
    /// @return account The address at that position.
    function identityAt(uint256 index) external view returns (address account);
}
