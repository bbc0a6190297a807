// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Code for test/unit/evmPatches.test.ts: transactions that between them run
///         CREATE, CREATE2 (and a CREATE2 collision), DELEGATECALL, STATICCALL, transient
///         storage, MCOPY, reverts caught and uncaught, an inner out-of-gas, and loops of
///         word arithmetic over memory and storage, so that the patched interpreter is
///         compared with the original on everything a block can do.

/// A contract created by the factory with CREATE2.
contract Child {
    address public immutable factory;
    uint256 public seed;

    constructor(uint256 seed_) {
        factory = msg.sender;
        seed = seed_;
    }

    function mix(uint256 x) external view returns (uint256) {
        unchecked {
            return (x * seed) ^ (x >> 3) ^ (uint256(uint160(factory)) << 96);
        }
    }
}

/// Code that runs in the caller's storage through DELEGATECALL: same slot 0 as Workout.
contract Counter {
    uint256 public counter;

    function bump(uint256 by) external returns (uint256) {
        counter += by;
        return counter;
    }
}

contract Workout {
    error TooSmall(uint256 got, uint256 min);

    event Deployed(address indexed child, bytes32 indexed salt, uint256 seed);
    event Crunched(uint256 indexed rounds, uint256 acc, bytes packed);
    event Caught(uint256 indexed kind, bytes reason);

    uint256 public counter; // slot 0: Counter.bump writes it through DELEGATECALL
    Counter public immutable lib;
    address public immutable firstChild;
    address public lastChild;
    uint256 public seenTransient;
    mapping(uint256 => uint256) public words;

    uint256 transient depth;

    constructor(Counter lib_) {
        lib = lib_;
        firstChild = address(new Child(7));
        words[0] = type(uint256).max - 12345;
    }

    modifier once() {
        require(depth == 0, "reentered");
        depth = 1;
        _;
        depth = 0;
    }

    function deploy(bytes32 salt, uint256 seed) public returns (address child) {
        child = address(new Child{salt: salt}(seed));
        lastChild = child;
        emit Deployed(child, salt, seed);
    }

    function delegateBump(uint256 by) external once returns (uint256) {
        (bool ok, bytes memory out) = address(lib).delegatecall(abi.encodeCall(Counter.bump, (by)));
        require(ok, "delegatecall failed");
        return abi.decode(out, (uint256));
    }

    /// Word arithmetic over memory and storage on large numbers, a STATICCALL into the
    /// child each round, and MCOPY to build the logged bytes.
    function crunch(uint256 rounds) external once returns (uint256 acc) {
        uint256[] memory scratch = new uint256[](8);
        acc = words[0];
        Child child = Child(lastChild);
        bytes memory packed = hex"c0ffee";
        for (uint256 i = 1; i <= rounds; i++) {
            unchecked {
                acc = acc * 0x9e3779b97f4a7c15f39cc0605cedc834 + (acc >> 17) + (acc << 211);
                acc ^= (acc & 0xffffffffffffffffffffffff) | (i == 3 ? 1 : 0) | (i < 5 ? 2 : 0);
                acc += uint256(int256(i) * -7) / 3 + addmod(acc, i, 0xfffffffb) + mulmod(acc, acc, type(uint256).max);
                acc -= uint256(keccak256(abi.encode(acc, i))) % (1 << 200);
            }
            scratch[i % 8] = acc;
            unchecked {
                acc ^= scratch[(i * 5) % 8] + child.mix(acc);
                words[i % 16] += acc >> 1;
            }
            if (i % 8 == 0) packed = bytes.concat(packed, abi.encodePacked(acc), packed);
            if (packed.length > 256) packed = slice(packed, 7, 200);
        }
        counter += 1;
        emit Crunched(rounds, acc, packed);
    }

    /// Transient storage is per transaction: what the previous one left is gone.
    function transientRoundTrip(uint256 value) external returns (uint256 before) {
        assembly {
            before := tload(0x77)
            tstore(0x77, add(before, value))
        }
        uint256 afterwards;
        assembly {
            afterwards := tload(0x77)
        }
        seenTransient = before * 1000 + afterwards;
    }

    function failRequire() external pure {
        require(false, "failRequire: always");
    }

    function failCustom(uint256 got) external pure {
        if (got < 100) revert TooSmall(got, 100);
    }

    function burn() external pure {
        uint256 x;
        while (true) x++;
    }

    /// Reverts caught inside a successful transaction: a require message, a custom error,
    /// an inner out-of-gas, a CREATE2 collision, and a reentrancy refused by the lock.
    function catchAll(bytes32 usedSalt, uint256 usedSeed) external once {
        try this.failRequire() {} catch (bytes memory reason) {
            emit Caught(1, reason);
        }
        try this.failCustom(7) {} catch (bytes memory reason) {
            emit Caught(2, reason);
        }
        try this.burn{gas: 30000}() {} catch (bytes memory reason) {
            emit Caught(3, reason);
        }
        try this.deploy(usedSalt, usedSeed) {} catch (bytes memory reason) {
            emit Caught(4, reason);
        }
        try this.delegateBump(1) {} catch (bytes memory reason) {
            emit Caught(5, reason);
        }
    }

    /// Read by a view: STATICCALL into the child, MCOPY of memory bytes.
    function peek(uint256 x) external view returns (uint256, bytes memory) {
        bytes memory b = abi.encodePacked(Child(lastChild).mix(x), words[1], counter);
        return (words[0] ^ words[3], slice(b, 5, 64));
    }

    function slice(bytes memory b, uint256 from, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly {
            mcopy(add(out, 32), add(add(b, 32), from), len)
        }
    }
}
