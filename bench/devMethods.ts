/**
 * The dev-method workload: what a Hardhat or Foundry test suite asks of a dev node,
 * measured the same way on every peer. Mining thousands of empty blocks at once
 * (`mine(8201)` in hardhat-network-helpers, to get past a BLOCKHASH window), and the
 * cycle loadFixture runs around every test: evm_snapshot, the test's transactions,
 * evm_revert back to the snapshot.
 */
import { computeAddress, SigningKey, Transaction } from 'ethers';
import { BenchError } from './load.ts';
import { RpcError, sleep, type RpcClient } from './rpc.ts';
import type { FeeParams } from './workload.ts';

export interface MineResult {
  /** The method that mined: hardhat_mine, or anvil_mine where the peer refused hardhat_mine. */
  method: 'hardhat_mine' | 'anvil_mine';
  blocks: number;
  /** Wall time from the request to its answer. */
  ms: number;
  headBefore: string;
  headAfter: string;
  /** The peer's answer to hardhat_mine, when it refused it. */
  hardhatMineRefused?: string;
}

/**
 * Mines `blocks` empty blocks in one request (hardhat_mine, the method
 * hardhat-network-helpers' `mine` calls; anvil_mine if the peer refuses it) and checks
 * the head moved by exactly that many.
 *
 * https://hardhat.org/hardhat-network/docs/reference#hardhat_mine
 */
export async function mineBlocks(client: RpcClient, blocks: number): Promise<MineResult> {
  const params = ['0x' + blocks.toString(16)];
  const before = BigInt(await client.call<string>('eth_blockNumber'));
  let method: MineResult['method'] = 'hardhat_mine';
  let hardhatMineRefused: string | undefined;
  let t0 = performance.now();
  try {
    await client.call('hardhat_mine', params);
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    hardhatMineRefused = err.message;
    method = 'anvil_mine';
    t0 = performance.now();
    await client.call('anvil_mine', params);
  }
  const ms = performance.now() - t0;
  const after = BigInt(await client.call<string>('eth_blockNumber'));
  if (after - before !== BigInt(blocks)) {
    throw new BenchError(`${method} of ${blocks} blocks moved the head from ${before} to ${after} (by ${after - before})`);
  }
  return { method, blocks, ms, headBefore: before.toString(), headAfter: after.toString(), ...(hardhatMineRefused ? { hardhatMineRefused } : {}) };
}

export interface CycleResult {
  /** Timed cycles (after the warm-up). */
  cycles: number;
  warmup: number;
  seconds: number;
  perSecond: number;
  /** Sends refused and sent again (within the cycle's time), with the first refusal. */
  resent?: { count: number; first: string };
}

export interface FixtureCycleOptions {
  cycles: number;
  warmup: number;
  /** The sender's private key; the peer must hold a balance for it (a dev account). */
  key: string;
  to: string;
  chainId: bigint;
  fees: FeeParams;
  /** Fail when a receipt has not appeared after this long. */
  stallMs: number;
  onProgress?: (done: number) => void;
}

const snapshot = (client: RpcClient) => client.call<string>('evm_snapshot');

async function revert(client: RpcClient, id: string): Promise<void> {
  const ok = await client.call<boolean>('evm_revert', [id]);
  if (ok !== true) throw new BenchError(`evm_revert(${id}) answered ${JSON.stringify(ok)}, expected true`);
}

/** How long a refused send is retried: a pool that still holds a reverted transaction lets it go soon. */
const RESEND_MS = 10_000;

/**
 * Sends a transaction; a refusal is retried for up to RESEND_MS. Seen on Anvil under
 * load: its receipt is readable before its pool drops the mined transaction, so a
 * send right after evm_revert can meet the reverted transaction's nonce still in the
 * pool ("replacement transaction underpriced"). A test suite meets the same race.
 */
async function send(client: RpcClient, raw: string, resent: { count: number; first?: string }): Promise<string> {
  const t0 = performance.now();
  for (;;) {
    try {
      return await client.call<string>('eth_sendRawTransaction', [raw]);
    } catch (err) {
      if (!(err instanceof RpcError) || performance.now() - t0 > RESEND_MS) throw err;
      resent.count++;
      resent.first ??= err.message;
      await sleep(1);
    }
  }
}

/** Receipts are read as a test does right after its send; a peer that answers sends at admission is polled. */
async function receiptOf(client: RpcClient, hash: string, stallMs: number): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const r = await client.call<{ status?: string } | null>('eth_getTransactionReceipt', [hash]);
    if (r) {
      if (r.status !== '0x1') throw new BenchError(`transfer ${hash} failed in its block (status ${r.status})`);
      return;
    }
    if (performance.now() - t0 > stallMs) throw new BenchError(`no receipt for ${hash} after ${stallMs / 1000} s`);
    await sleep(1);
  }
}

async function timed(cycles: number, warmup: number, one: (i: number) => Promise<void>, onProgress?: (done: number) => void): Promise<CycleResult> {
  for (let i = 0; i < warmup; i++) await one(i);
  const t0 = performance.now();
  for (let i = 0; i < cycles; i++) {
    await one(warmup + i);
    onProgress?.(i + 1);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { cycles, warmup, seconds, perSecond: cycles / seconds };
}

/**
 * loadFixture's cycle, one request after another as a test suite sends them:
 * evm_snapshot, one signed value transfer sent and its receipt read, evm_revert.
 * Every cycle starts from the same state, so all transfers share the sender's nonce;
 * each carries a different value, so no two have the same hash. All are signed before
 * timing. Afterwards the sender's nonce and the head must be as before the cycles.
 *
 * https://hardhat.org/hardhat-network-helpers/docs/reference#fixtures
 */
export async function fixtureCycles(client: RpcClient, o: FixtureCycleOptions): Promise<CycleResult> {
  const sk = new SigningKey(o.key);
  const sender = computeAddress(sk);
  const nonce = Number(BigInt(await client.call<string>('eth_getTransactionCount', [sender, 'latest'])));
  const head = await client.call<string>('eth_blockNumber');
  const txs = Array.from({ length: o.warmup + o.cycles }, (_, i) => {
    const tx = Transaction.from({ type: 2, chainId: o.chainId, nonce, gasLimit: 21_000n, to: o.to, value: BigInt(i + 1), ...o.fees });
    tx.signature = sk.sign(tx.unsignedHash);
    return { hash: tx.hash!, raw: tx.serialized };
  });
  const resent: { count: number; first?: string } = { count: 0 };
  const res = await timed(
    o.cycles,
    o.warmup,
    async (i) => {
      const id = await snapshot(client);
      const tx = txs[i]!;
      const hash = await send(client, tx.raw, resent);
      if (hash.toLowerCase() !== tx.hash.toLowerCase()) throw new BenchError(`eth_sendRawTransaction answered ${hash}, expected ${tx.hash}`);
      await receiptOf(client, hash, o.stallMs);
      await revert(client, id);
    },
    o.onProgress,
  );
  const nonceAfter = Number(BigInt(await client.call<string>('eth_getTransactionCount', [sender, 'latest'])));
  const headAfter = await client.call<string>('eth_blockNumber');
  if (nonceAfter !== nonce || BigInt(headAfter) !== BigInt(head)) {
    throw new BenchError(`after ${o.warmup + o.cycles} reverted cycles: nonce ${nonceAfter} (was ${nonce}), head ${BigInt(headAfter)} (was ${BigInt(head)})`);
  }
  return resent.first ? { ...res, resent: { count: resent.count, first: resent.first } } : res;
}

/** evm_snapshot then evm_revert, nothing between: the floor of loadFixture's cost. */
export function snapshotRevertCycles(client: RpcClient, cycles: number, warmup: number, onProgress?: (done: number) => void): Promise<CycleResult> {
  return timed(cycles, warmup, async () => revert(client, await snapshot(client)), onProgress);
}
