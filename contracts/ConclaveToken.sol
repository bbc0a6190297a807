// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ConclaveToken
/// @notice Plain OpenZeppelin ERC20 used by the test-suite and benchmarks.
///         The whole initial supply is minted to the deployer.
contract ConclaveToken is ERC20 {
    constructor(string memory name_, string memory symbol_, uint256 initialSupply) ERC20(name_, symbol_) {
        _mint(msg.sender, initialSupply);
    }
}
