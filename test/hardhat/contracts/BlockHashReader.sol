// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Reads block hashes: recent ones with BLOCKHASH, older ones (up to 8191 blocks back)
/// from the EIP-2935 history contract that Prague fills in every block.
contract BlockHashReader {
    address public constant HISTORY_STORAGE = 0x0000F90827F1C53a10cb7A02335B175320002935;

    event HashRecorded(uint256 number, bytes32 hash);

    error HistoryUnavailable(uint256 number);

    /// The number and hash of the block `depth` blocks before the current one, from the history contract.
    function historicHash(uint256 depth) public view returns (uint256 number, bytes32 hash) {
        number = block.number - depth;
        (bool ok, bytes memory out) = HISTORY_STORAGE.staticcall(abi.encode(number));
        if (!ok || out.length != 32) revert HistoryUnavailable(number);
        hash = abi.decode(out, (bytes32));
    }

    /// The number and hash of the block `depth` blocks before the current one, from BLOCKHASH.
    function recentHash(uint256 depth) external view returns (uint256 number, bytes32 hash) {
        number = block.number - depth;
        hash = blockhash(number);
    }

    /// Emits the hash of the block `depth` blocks back as read inside a transaction.
    function record(uint256 depth) external {
        (uint256 number, bytes32 hash) = historicHash(depth);
        emit HashRecorded(number, hash);
    }
}
