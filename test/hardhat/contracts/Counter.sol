// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

contract Counter {
    uint256 private _count;

    event Incremented(address indexed by, uint256 newCount);

    function increment() external {
        _count += 1;
        emit Incremented(msg.sender, _count);
    }

    function count() external view returns (uint256) {
        return _count;
    }
}
