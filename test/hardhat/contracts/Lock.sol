// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Holds the ether sent at deployment until `unlockTime`, then lets the owner withdraw it.
contract Lock {
    uint256 public unlockTime;
    address payable public owner;

    event Withdrawal(uint256 amount, uint256 when);

    error TooEarly(uint256 time, uint256 unlockTime);
    error PaymentFailed();

    constructor(uint256 unlockTime_) payable {
        require(block.timestamp < unlockTime_, "Unlock time should be in the future");
        unlockTime = unlockTime_;
        owner = payable(msg.sender);
    }

    function withdraw() external {
        if (block.timestamp < unlockTime) revert TooEarly(block.timestamp, unlockTime);
        require(msg.sender == owner, "You aren't the owner");
        uint256 amount = address(this).balance;
        emit Withdrawal(amount, block.timestamp);
        (bool ok, ) = owner.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }
}
