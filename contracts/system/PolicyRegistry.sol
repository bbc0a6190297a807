// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IPolicyRegistry, POLICY_CHECK} from "./IPolicyRegistry.sol";

/// @title PolicyRegistry
/// @notice The confidentiality policies of a Conclave network, at POLICY_REGISTRY in every genesis state.
/// @dev No constructor runs: the enclave writes this contract's runtime code and its storage
///      directly (runtime/system/layout.ts), and at every creation of X by C (at any depth) it
///      writes deployerOf[X] = C and moves pendingOf[C][X] to policyHashOf[X] before X's
///      constructor runs. The storage layout below is therefore an interface and must not change:
///        slot 0: deployerOf, slot 1: policyHashOf, slot 2: _bodies (Solidity `bytes`),
///        slot 3: pendingOf[setter][target], slot 4: defaultPolicyHash.
contract PolicyRegistry is IPolicyRegistry {
    /// @inheritdoc IPolicyRegistry
    mapping(address => address) public deployerOf;
    /// @inheritdoc IPolicyRegistry
    mapping(address => bytes32) public policyHashOf;
    mapping(bytes32 => bytes) private _bodies;
    /// @inheritdoc IPolicyRegistry
    mapping(address => mapping(address => bytes32)) public pendingOf;
    /// @inheritdoc IPolicyRegistry
    bytes32 public defaultPolicyHash;

    /// @inheritdoc IPolicyRegistry
    function setPolicy(address target, string calldata policy) external {
        (bool valid, bytes memory reason) = POLICY_CHECK.staticcall(bytes(policy));
        if (!valid) {
            // The precompile's Error(string) names the bad field: the caller gets it as is.
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
        bytes32 hash = keccak256(bytes(policy));
        address deployer = deployerOf[target];
        // address(0) never deploys: a call simulated without a sender must not claim orphans.
        if (deployer != address(0) && deployer == msg.sender) {
            policyHashOf[target] = hash;
            emit PolicySet(target, hash, msg.sender);
        } else if (deployer == address(0) && target.code.length == 0) {
            pendingOf[msg.sender][target] = hash;
            emit PolicyRegistered(target, hash, msg.sender);
        } else {
            revert NotDeployer(target, msg.sender);
        }
        // Bodies are kept forever and shared by hash: a body already stored is not rewritten.
        if (_bodies[hash].length == 0) _bodies[hash] = bytes(policy);
    }

    /// @inheritdoc IPolicyRegistry
    function policyOf(address target) external view returns (string memory) {
        bytes32 hash = policyHashOf[target];
        if (hash == bytes32(0)) hash = defaultPolicyHash;
        return string(_bodies[hash]);
    }

    /// @inheritdoc IPolicyRegistry
    function policyBody(bytes32 hash) external view returns (string memory) {
        return string(_bodies[hash]);
    }
}
