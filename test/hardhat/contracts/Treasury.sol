// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// A contract that holds ether and is the Token's minter; it has no function to mint or
/// to pay out, so only a transaction sent from its own address (impersonation) can.
contract Treasury {
    event Received(address from, uint256 amount);

    receive() external payable {
        emit Received(msg.sender, msg.value);
    }
}
