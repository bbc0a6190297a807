import type { Block } from '@ethereumjs/block';
import { bigIntToBytes, createAddressFromString, equalsBytes, hexToBytes, setLengthLeft, unpadBytes, type Address } from '@ethereumjs/util';
import type { VM } from '@ethereumjs/vm';
import {
  BEACON_ROOTS_ADDRESS,
  BEACON_ROOTS_CODE,
  HISTORY_STORAGE_ADDRESS,
  HISTORY_STORAGE_CODE,
  SYSTEM_ADDRESS,
  SYSTEM_RING_LENGTH,
} from '../system/pragueContracts.ts';
import type { StateStore } from '../state/types.ts';

/** The gas a system call may use (EIP-4788, EIP-2935); charged to nobody, outside the block's gas. */
const SYSTEM_CALL_GAS = 30_000_000n;
const SYSTEM = createAddressFromString(SYSTEM_ADDRESS);
const BEACON_ROOTS = createAddressFromString(BEACON_ROOTS_ADDRESS);
const HISTORY_STORAGE = createAddressFromString(HISTORY_STORAGE_ADDRESS);
const BEACON_ROOTS_BYTES = hexToBytes(BEACON_ROOTS_CODE as `0x${string}`);
const HISTORY_STORAGE_BYTES = hexToBytes(HISTORY_STORAGE_CODE as `0x${string}`);

/** A storage write: slot number and value. */
type Write = [bigint, Uint8Array];

/** The header fields the system calls read. */
interface SystemHeader {
  timestamp: bigint;
  number: bigint;
  parentHash: Uint8Array;
  parentBeaconBlockRoot?: Uint8Array;
}

/**
 * The system calls that start every Prague block, before its transactions, in the
 * order of the execution specs: EIP-4788 (the beacon roots contract stores the block's
 * timestamp and its parent beacon block root) then EIP-2935 (the history contract
 * stores the parent's hash). Each is a call from SYSTEM_ADDRESS into the contract, not
 * a transaction: no nonce, no fee, no receipt, outside the block's gas; its storage
 * writes are part of the block's state.
 *
 * Conclave has no beacon chain, so every header's parentBeaconBlockRoot is zero; the
 * call still runs as EIP-4788 requires (the header field is present, so it is stored,
 * zero or not), and the contract records each block's timestamp so that `get` answers
 * for it (with the zero root) as on any Prague chain.
 */
export async function runSystemCalls(vm: VM, context: Block | SystemCallContext): Promise<void> {
  const header = 'header' in context ? context.header : context;
  const block = 'header' in context ? () => context : context.block;
  await systemCall(vm, block, BEACON_ROOTS, header.parentBeaconBlockRoot!, BEACON_ROOTS_BYTES, beaconWrites(header));
  await systemCall(vm, block, HISTORY_STORAGE, header.parentHash, HISTORY_STORAGE_BYTES, historyWrites(header));
  // Transactions' EIP-2200 original values are taken after the system calls.
  vm.stateManager.originalStorageCache.clear();
}

/**
 * What the system calls read of the block: its header fields, and the block itself only
 * where a replaced contract's code runs as a real call (made when asked).
 */
export interface SystemCallContext extends SystemHeader {
  block: () => Block;
}

const beaconWrites = ({ timestamp, parentBeaconBlockRoot }: SystemHeader): Write[] => {
  const index = timestamp % SYSTEM_RING_LENGTH;
  return [
    [index, bigIntToBytes(timestamp)],
    [index + SYSTEM_RING_LENGTH, parentBeaconBlockRoot!],
  ];
};

const historyWrites = ({ number, parentHash }: SystemHeader): Write[] => [[(number - 1n) % SYSTEM_RING_LENGTH, parentHash]];

/**
 * The system calls of a run of empty blocks (a mine of thousands), written straight into
 * the world state when both contracts hold their canonical code or none (the writes are
 * then all a call does, see systemCall); undefined when either was replaced (a dev
 * network's setCode), whose calls must run in the EVM.
 */
export async function directSystemCalls(vm: VM): Promise<((world: StateStore, header: SystemHeader) => void) | undefined> {
  const targets: [string, (h: SystemHeader) => Write[]][] = [];
  for (const [to, canonical, writes] of [
    [BEACON_ROOTS, BEACON_ROOTS_BYTES, beaconWrites],
    [HISTORY_STORAGE, HISTORY_STORAGE_BYTES, historyWrites],
  ] as const) {
    const code = await vm.stateManager.getCode(to);
    if (code.length === 0) continue;
    if (!equalsBytes(code, canonical)) return undefined;
    targets.push([to.toString(), writes]);
  }
  return (world, header) => {
    for (const [address, writes] of targets) {
      for (const [slot, value] of writes(header)) {
        const key = '0x' + slot.toString(16).padStart(64, '0');
        const stored = unpadBytes(value);
        // A zero written where nothing is stored (EIP-4788's root, zero here) changes nothing.
        if (stored.length === 0 && world.storage(address, key) === undefined) continue;
        world.setStorage(address, key, stored.length === 0 ? undefined : stored);
      }
    }
  };
}

/**
 * One system call. With the canonical code at the address, the call's effect is written
 * directly: the canonical `set` path (caller is SYSTEM_ADDRESS) does exactly these
 * SSTOREs and nothing else, and @ethereumjs/vm's runBlock does the same; running the
 * interpreter would cost ~20x more per block, which a mine of thousands of blocks
 * feels. Any other code (replaced on a dev network) is run as the EIPs say.
 */
async function systemCall(vm: VM, block: () => Block, to: Address, data: Uint8Array, canonical: Uint8Array, writes: Write[]): Promise<void> {
  const code = await vm.stateManager.getCode(to);
  // "If there is no code at the address, the call must fail silently" (both EIPs).
  if (code.length === 0) return;
  if (equalsBytes(code, canonical)) {
    for (const [slot, value] of writes) await vm.stateManager.putStorage(to, setLengthLeft(bigIntToBytes(slot), 32), value);
    return;
  }
  await vm.evm.runCall({ caller: SYSTEM, to, data, gasLimit: SYSTEM_CALL_GAS, block: block(), skipNonceIncrement: true });
  // The call touched SYSTEM_ADDRESS (a zero-value transfer); EIP-161 removes it again,
  // as after a transaction, and the warm sets start afresh.
  await vm.evm.journal.cleanup();
}
