/**
 * The system contracts Prague runs at the start of every block, at their canonical
 * addresses with their canonical runtime code (as deployed on mainnet; the code hashes
 * are checked by test/unit/systemCalls.test.ts), written into every genesis state.
 */

/** The caller of system calls (EIP-4788, EIP-2935): no account, never a transaction sender. */
export const SYSTEM_ADDRESS = '0xfffffffffffffffffffffffffffffffffffffffe';

/**
 * EIP-4788: a ring buffer of 8191 parent beacon block roots keyed by block timestamp.
 * `set` (the system caller, 32-byte root) stores the block's timestamp and root;
 * `get` (anyone, a 32-byte timestamp) returns the root, or reverts for a timestamp not
 * in the buffer. Code hash 0xf57acd40259872606d76197ef052f3d35588dadf919ee1f0e3cb9b62d3f4b02c.
 */
export const BEACON_ROOTS_ADDRESS = '0x000f3df6d732807ef1319fb7b8bb8522d0beac02';
export const BEACON_ROOTS_CODE =
  '0x3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500';

/**
 * EIP-2935: a ring buffer of the last 8191 block hashes. `set` (the system caller, the
 * parent hash) stores it at (number - 1) % 8191; `get` (anyone, a 32-byte block number)
 * returns the hash of a block among the 8191 before the current one, else reverts.
 * Code hash 0x6e49e66782037c0555897870e29fa5e552daf4719552131a0abce779daec0a5d.
 */
export const HISTORY_STORAGE_ADDRESS = '0x0000f90827f1c53a10cb7a02335b175320002935';
export const HISTORY_STORAGE_CODE =
  '0x3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500';

/** How many entries each ring buffer holds (EIP-4788's HISTORY_BUFFER_LENGTH, EIP-2935's HISTORY_SERVE_WINDOW). */
export const SYSTEM_RING_LENGTH = 8191n;
