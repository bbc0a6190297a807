// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Reads Prague's system contracts as an application would: block hashes beyond BLOCKHASH's
/// 256-block window from the EIP-2935 history contract, beacon roots from the EIP-4788 one.
contract BlockHashHistory {
    address constant HISTORY_STORAGE = 0x0000F90827F1C53a10cb7A02335B175320002935;
    address constant BEACON_ROOTS = 0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02;

    /// The hash of block `number` from the history contract; reverts where it has none.
    function historicHash(uint256 number) public view returns (bytes32) {
        (bool ok, bytes memory out) = HISTORY_STORAGE.staticcall(abi.encode(number));
        require(ok, "no history for that block");
        return abi.decode(out, (bytes32));
    }

    /// The block `depth` blocks back from this one, its hash from the history contract, and
    /// what BLOCKHASH says of it (zero beyond 256 blocks).
    function back(uint256 depth) external view returns (uint256 number, bytes32 hash, bytes32 opcode) {
        number = block.number - depth;
        hash = historicHash(number);
        opcode = blockhash(number);
    }

    /// The parent beacon block root stored for the block with `timestamp`; reverts where none is.
    function beaconRoot(uint256 timestamp) external view returns (bytes32) {
        (bool ok, bytes memory out) = BEACON_ROOTS.staticcall(abi.encode(timestamp));
        require(ok, "no beacon root for that timestamp");
        return abi.decode(out, (bytes32));
    }
}
