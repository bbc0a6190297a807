// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentityRegistry} from "./IIdentityRegistry.sol";

/// @title IdentityRegistry
/// @notice The identities of a Conclave network, at IDENTITY_REGISTRY in every genesis state.
/// @dev No constructor runs: the enclave writes this contract's runtime code and its storage
///      directly (runtime/system/layout.ts), so the storage layout below is an interface and
///      must not change:
///        slot 0: _identities; an entry's roles at keccak256(abi.encode(account, 0)) (low byte),
///                its x25519 key at that slot + 1;
///        slot 1: _all; length at slot 1, element i at keccak256(abi.encode(1)) + i.
contract IdentityRegistry is IIdentityRegistry {
    struct Identity {
        uint8 roles;
        bytes32 x25519;
    }

    mapping(address => Identity) private _identities;
    address[] private _all;

    /// @inheritdoc IIdentityRegistry
    function rolesOf(address account) external view returns (uint8) {
        return _identities[account].roles;
    }

    /// @inheritdoc IIdentityRegistry
    function isRegistered(address account) external view returns (bool) {
        return _identities[account].roles != 0;
    }

    /// @inheritdoc IIdentityRegistry
    function hasRole(address account, uint8 role) external view returns (bool) {
        return role != 0 && _identities[account].roles & role == role;
    }

    /// @inheritdoc IIdentityRegistry
    function x25519KeyOf(address account) external view returns (bytes32) {
        return _identities[account].x25519;
    }

    /// @inheritdoc IIdentityRegistry
    function count() external view returns (uint256) {
        return _all.length;
    }

    /// @inheritdoc IIdentityRegistry
    function identityAt(uint256 index) external view returns (address) {
        return _all[index];
    }
}
