/**
 * Prague's system calls (EIP-4788, EIP-2935): the contracts' code is the canonical code,
 * and the direct writes used for it leave exactly the state that running that code as
 * SYSTEM_ADDRESS leaves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBlock } from '@ethereumjs/block';
import { bytesToHex, concatBytes, hexToBytes, KECCAK256_RLP } from '@ethereumjs/util';
import { createVM } from '@ethereumjs/vm';
import { createChainCommon } from '../../runtime/chain/common.ts';
import { runSystemCalls } from '../../runtime/chain/systemCalls.ts';
import { keccak256 } from '../../runtime/crypto/ethCrypto.ts';
import { createChainEvm } from '../../runtime/evm/precompiles.ts';
import { JournaledStateManager } from '../../runtime/state/JournaledStateManager.ts';
import { WorldState } from '../../runtime/state/WorldState.ts';
import {
  BEACON_ROOTS_ADDRESS,
  BEACON_ROOTS_CODE,
  HISTORY_STORAGE_ADDRESS,
  HISTORY_STORAGE_CODE,
  SYSTEM_RING_LENGTH,
} from '../../runtime/system/pragueContracts.ts';

const common = createChainCommon(1337n);
const canonical = { beacon: hexToBytes(BEACON_ROOTS_CODE as `0x${string}`), history: hexToBytes(HISTORY_STORAGE_CODE as `0x${string}`) };
/** The same code with an unreachable trailing STOP: it behaves the same but is not the canonical code, so it runs in the EVM. */
const variant = { beacon: concatBytes(canonical.beacon, new Uint8Array(1)), history: concatBytes(canonical.history, new Uint8Array(1)) };

async function chainVm(code: { beacon?: Uint8Array; history?: Uint8Array }) {
  const world = new WorldState();
  for (const [address, bytes] of [[BEACON_ROOTS_ADDRESS, code.beacon], [HISTORY_STORAGE_ADDRESS, code.history]] as const) {
    if (!bytes) continue;
    const codeHash = keccak256(bytes);
    world.putCode(bytesToHex(codeHash), bytes);
    world.setAccount(address, { nonce: 1n, balance: 0n, codeHash });
  }
  const stateManager = new JournaledStateManager(world, (a) => world.storageRootOf(a), () => world.stateRoot());
  const blockchain = { getBlock: async () => ({ hash: () => new Uint8Array(32) }), putBlock: async () => {}, shallowCopy: () => blockchain } as never;
  const evm = await createChainEvm({ common, stateManager, blockchain }, 'block');
  return { world, vm: await createVM({ common, stateManager, blockchain, evm }) };
}

/** Blocks 1..n with distinct parent hashes and beacon roots, timestamps wrapping the ring buffer. */
function blocks(n: number) {
  return Array.from({ length: n }, (_, i) =>
    createBlock(
      {
        header: {
          number: BigInt(i + 1),
          timestamp: 1_700_000_000n + BigInt(i) * (SYSTEM_RING_LENGTH / 3n),
          parentHash: keccak256(Uint8Array.of(1, i)),
          parentBeaconBlockRoot: i % 3 === 0 ? new Uint8Array(32) : keccak256(Uint8Array.of(2, i)),
        },
      },
      { common },
    ),
  );
}

function contents(world: WorldState) {
  const out: Record<string, Record<string, string>> = {};
  for (const [address, , storage] of world.entries()) {
    out[address] = Object.fromEntries([...(storage ?? new Map())].map(([slot, value]) => [slot, bytesToHex(value)]));
  }
  return out;
}

test('the system contracts are the canonical code (the code hashes named by the EIPs)', () => {
  assert.equal(bytesToHex(keccak256(canonical.beacon)), '0xf57acd40259872606d76197ef052f3d35588dadf919ee1f0e3cb9b62d3f4b02c');
  assert.equal(bytesToHex(keccak256(canonical.history)), '0x6e49e66782037c0555897870e29fa5e552daf4719552131a0abce779daec0a5d');
});

test('the direct writes for the canonical code leave the state its execution leaves', async () => {
  const direct = await chainVm(canonical);
  const executed = await chainVm(variant);
  for (const block of blocks(12)) {
    await runSystemCalls(direct.vm, block);
    await runSystemCalls(executed.vm, block);
  }
  const a = contents(direct.world);
  const b = contents(executed.world);
  // Same accounts (SYSTEM_ADDRESS is not left behind) and the same storage, slot for slot.
  assert.deepEqual(Object.keys(a).sort(), [BEACON_ROOTS_ADDRESS, HISTORY_STORAGE_ADDRESS].sort());
  assert.deepEqual(b, a);
  const history = a[HISTORY_STORAGE_ADDRESS]!;
  assert.equal(history[bytesToHex(new Uint8Array(32))], bytesToHex(keccak256(Uint8Array.of(1, 0))), 'block 1 stores its parent hash at slot 0');
  assert.equal(Object.keys(history).length, 12);
});

test('without code at the addresses the calls fail silently', async () => {
  const { world, vm } = await chainVm({});
  for (const block of blocks(2)) await runSystemCalls(vm, block);
  assert.deepEqual(contents(world), {});
  assert.deepEqual(await world.stateRoot(), KECCAK256_RLP);
});
