// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Canary
/// @notice Holds a recognisable string and number in storage. The encryption-at-rest
///         test deploys it with distinctive values and then scans the data
///         directory to make sure neither shows up in plaintext.
contract Canary {
    string public secret;
    uint256 public number;

    event Stored(string secret, uint256 number);
    event Paid(address indexed to, uint256 amount);

    constructor(string memory secret_, uint256 number_) {
        secret = secret_;
        number = number_;
        emit Stored(secret_, number_);
    }

    function store(string calldata secret_, uint256 number_) external {
        secret = secret_;
        number = number_;
        emit Stored(secret_, number_);
    }

    /// @notice Both values in one call.
    function read() external view returns (string memory, uint256) {
        return (secret, number);
    }

    /// @notice Forwards msg.value to `to`.
    function pay(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "Canary: transfer failed");
        emit Paid(to, msg.value);
    }
}
