// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev Where every Conclave network keeps its policy registry (written into the genesis state).
address constant POLICY_REGISTRY = 0x0000000000000000000000000000000000000c02;

/// @dev The precompile that validates a policy: it succeeds on a valid policy JSON and
///      otherwise reverts with Error(string) naming the offending field or audience.
address constant POLICY_CHECK = 0x0000000000000000000000000000000000000c0F;

/// @title IPolicyRegistry
/// @notice The confidentiality policies of a Conclave network's contracts. A policy is a JSON
///         document (UTF-8) saying who may execute a contract and who sees its transaction
///         input, return data and events; the enclave enforces it from the block it is set in.
///         A contract's deployer (the account or factory that created it) sets its policy, or
///         registers one in advance for the address its next creation will get, so that the
///         constructor already runs under it. Policies are public.
interface IPolicyRegistry {
    /// @notice `caller` may not set the policy of `target`: it is not the deployer of that
    ///         contract, or `target` has code that was not created under the registry's watch.
    error NotDeployer(address target, address caller);

    /// @notice The policy `hash` governs `target` from this block on; `setter` is its deployer.
    event PolicySet(address indexed target, bytes32 indexed hash, address indexed setter);

    /// @notice The policy `hash` will govern `target` if `setter` creates a contract at that address.
    event PolicyRegistered(address indexed target, bytes32 indexed hash, address indexed setter);

    /// @notice Sets the policy of `target`, or registers it in advance when `target` has no code yet.
    /// @dev The policy is first validated by the POLICY_CHECK precompile, whose revert data
    ///      (Error(string) naming the bad field) is returned unchanged. Then: if the caller
    ///      deployed `target`, the policy governs it at once (PolicySet); if nobody deployed
    ///      `target` and it has no code, the policy is kept for the caller, and the enclave
    ///      applies it when the caller creates `target`, before its constructor runs
    ///      (PolicyRegistered); otherwise the call reverts with NotDeployer.
    /// @param target The contract the policy is for.
    /// @param policy The policy JSON.
    function setPolicy(address target, string calldata policy) external;

    /// @notice The policy JSON governing `target`: its own, else the network's default, else "".
    /// @param target The contract asked about.
    /// @return policy The policy JSON, or "" when the contract is public.
    function policyOf(address target) external view returns (string memory policy);

    /// @notice A policy JSON by its hash (every policy ever set or registered is kept).
    /// @param hash keccak256 of the policy's UTF-8 bytes.
    /// @return policy The policy JSON, or "" when no such policy was stored.
    function policyBody(bytes32 hash) external view returns (string memory policy);

    /// @notice The account or contract that created `target` (written by the enclave at every creation).
    /// @param target The contract asked about.
    /// @return deployer Its creator, or address(0) when it was not created on this network.
    function deployerOf(address target) external view returns (address deployer);

    /// @notice The hash of the policy set for `target` itself (the default policy is not included).
    /// @param target The contract asked about.
    /// @return hash The policy's keccak256, or 0 when none was set.
    function policyHashOf(address target) external view returns (bytes32 hash);

    /// @notice The policy `setter` registered in advance for `target`, not yet applied.
    /// @param setter The account that registered it and is expected to create `target`.
    /// @param target The address the creation will get.
    /// @return hash The policy's keccak256, or 0 when none is pending.
    function pendingOf(address setter, address target) external view returns (bytes32 hash);

    /// @notice The hash of the network's default policy, which governs contracts without their own.
    /// @return hash The policy's keccak256, or 0 when contracts without a policy are public.
    function defaultPolicyHash() external view returns (bytes32 hash);
}
