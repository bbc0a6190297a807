// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// An ERC-20 whose new supply can only be minted by one address (a Treasury contract).
contract Token is ERC20 {
    address public immutable minter;

    error NotMinter(address caller);

    constructor(address minter_, uint256 initialSupply) ERC20("Conclave Test Token", "CTT") {
        minter = minter_;
        _mint(msg.sender, initialSupply);
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
