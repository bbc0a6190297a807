// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The part of Hardhat's console.sol these tests use: calls to its address, as it makes them.
library console {
    address constant CONSOLE_ADDRESS = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory a, uint256 b) internal view {
        (bool ok, ) = CONSOLE_ADDRESS.staticcall(abi.encodeWithSignature("log(string,uint256)", a, b));
        ok;
    }
}

contract ConsoleLogger {
    uint256 public last;

    function hello(uint256 x) external {
        console.log("hello %s", x);
        last = x;
    }

    /// Logs around a call into `target`: printed only if `target` has no confidentiality policy.
    function around(address target) external {
        console.log("before %s", 1);
        (bool ok, ) = target.call(abi.encodeWithSignature("totalSupply()"));
        ok;
        console.log("after %s", 2);
        last = 2;
    }
}
