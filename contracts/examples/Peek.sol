// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IBalanceOf {
    function balanceOf(address account) external view returns (uint256);
}

/// @title Peek
/// @notice A contract that reads another contract's balance for whoever calls it: the
///         shape of a helper that would carry a confidential contract's data out to a
///         caller outside that contract's audience. Conclave's message guard makes every
///         such read revert, whoever sends it, at any depth.
contract Peek {
    /// @notice What a transaction read.
    event Seen(address token, address account, uint256 balance);

    /// @notice Reads `account`'s balance of `token` (a call path).
    function peek(address token, address account) external view returns (uint256) {
        return IBalanceOf(token).balanceOf(account);
    }

    /// @notice Tries to read it, catching any failure: returns whether it worked and what came back.
    function tryPeek(address token, address account) external view returns (bool ok, bytes memory data) {
        (ok, data) = token.staticcall(abi.encodeCall(IBalanceOf.balanceOf, (account)));
    }

    /// @notice Reads it in a transaction and records what it read in an event.
    function peekAndRecord(address token, address account) external returns (uint256 balance) {
        balance = IBalanceOf(token).balanceOf(account);
        emit Seen(token, account, balance);
    }
}

/// @title PeekOnCreate
/// @notice Creation code that reads a balance in its constructor and keeps it.
contract PeekOnCreate {
    uint256 public seen;

    constructor(address token, address account) {
        seen = IBalanceOf(token).balanceOf(account);
    }
}
