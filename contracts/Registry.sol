// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Registry
/// @notice Example contract exercising custom errors, require-string reverts,
///         indexed/non-indexed events, view functions and payable functions.
///         Entries are keyed by keccak256(bytes(name)); registering costs at
///         least `minDeposit` wei, which is kept by the contract and refunded
///         on removal.
contract Registry {
    struct Entry {
        address owner;
        string name;
        uint256 value;
        uint256 deposit;
    }

    error NotOwner(address caller);
    error EmptyName();
    error InsufficientDeposit(uint256 sent, uint256 required);

    event Registered(address indexed owner, bytes32 indexed key, string name, uint256 value);
    event Removed(bytes32 indexed key);

    address public immutable admin;
    uint256 public minDeposit;
    uint256 public count;
    mapping(bytes32 => Entry) private entries;

    constructor(uint256 minDeposit_) {
        admin = msg.sender;
        minDeposit = minDeposit_;
    }

    /// @notice Pure helper: the key an entry name is stored under.
    function keyOf(string calldata name) public pure returns (bytes32) {
        return keccak256(bytes(name));
    }

    /// @notice Payable: registers `name` -> `value`. Reverts with custom errors.
    function register(string calldata name, uint256 value) external payable returns (bytes32 key) {
        if (bytes(name).length == 0) revert EmptyName();
        if (msg.value < minDeposit) revert InsufficientDeposit(msg.value, minDeposit);
        key = keccak256(bytes(name));
        Entry storage e = entries[key];
        // Require-string revert (Error(string) ABI encoding).
        require(e.owner == address(0), "Registry: name already registered");
        e.owner = msg.sender;
        e.name = name;
        e.value = value;
        e.deposit = msg.value;
        count += 1;
        emit Registered(msg.sender, key, name, value);
    }

    /// @notice Updates the value of an entry you own.
    function update(bytes32 key, uint256 value) external {
        Entry storage e = entries[key];
        require(e.owner != address(0), "Registry: unknown key");
        if (e.owner != msg.sender) revert NotOwner(msg.sender);
        e.value = value;
        emit Registered(msg.sender, key, e.name, value);
    }

    /// @notice Removes an entry you own and refunds its deposit.
    function remove(bytes32 key) external {
        Entry storage e = entries[key];
        require(e.owner != address(0), "Registry: unknown key");
        if (e.owner != msg.sender) revert NotOwner(msg.sender);
        uint256 refund = e.deposit;
        delete entries[key];
        count -= 1;
        emit Removed(key);
        if (refund > 0) {
            (bool ok, ) = payable(msg.sender).call{value: refund}("");
            require(ok, "Registry: refund failed");
        }
    }

    /// @notice Admin-only: change the minimum deposit.
    function setMinDeposit(uint256 minDeposit_) external {
        if (msg.sender != admin) revert NotOwner(msg.sender);
        minDeposit = minDeposit_;
    }

    /// @notice View: returns the entry stored under `key` (zero values if absent).
    function get(bytes32 key) external view returns (address owner, string memory name, uint256 value) {
        Entry storage e = entries[key];
        return (e.owner, e.name, e.value);
    }

    /// @notice View: whether `name` is registered.
    function isRegistered(string calldata name) external view returns (bool) {
        return entries[keccak256(bytes(name))].owner != address(0);
    }
}
