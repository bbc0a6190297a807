/**
 * The raw VM reference: in-process @ethereumjs/vm with its default state manager and
 * default (JS) crypto, Prague, chain id 31337. The same pre-signed transactions are
 * parsed before timing, then executed one by one with runTx in a block context with a
 * base fee (sender recovery, nonce/balance checks and fee payment included, as a node
 * does them). No RPC, no block building, no state root, no persistence.
 */
import { createBlock, type Block } from '@ethereumjs/block';
import { createCustomCommon, Hardfork, Mainnet, type Common } from '@ethereumjs/common';
import { createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import { createAccount, createAddressFromString, hexToBytes } from '@ethereumjs/util';
import { createVM, runTx, type VM } from '@ethereumjs/vm';
import { DEV_ADDRESSES } from './accounts.ts';
import { CHAIN_ID, type Phase, type SetupTx } from './workload.ts';

export interface VmRun {
  txs: number;
  ms: number;
  tps: number;
  failed: number;
}

export class VmPeer {
  private constructor(
    private readonly common: Common,
    private readonly vm: VM,
    private block: Block,
  ) {}

  static async create(): Promise<VmPeer> {
    // The same Common as the node's createChainCommon, built here so that the
    // reference stays the stock VM whatever the node's own Common gains.
    const common = createCustomCommon({ chainId: Number(CHAIN_ID), name: 'bench' }, Mainnet, { hardfork: Hardfork.Prague });
    const vm = await createVM({ common });
    for (const a of DEV_ADDRESSES) {
      await vm.stateManager.putAccount(createAddressFromString(a), createAccount({ nonce: 0n, balance: 10_000n * 10n ** 18n }));
    }
    return new VmPeer(common, vm, VmPeer.makeBlock(common, 1n));
  }

  private static makeBlock(common: Common, number: bigint): Block {
    return createBlock(
      {
        header: {
          number,
          gasLimit: 30_000_000n,
          baseFeePerGas: 1_000_000_000n,
          timestamp: BigInt(Math.floor(Date.now() / 1000)),
          coinbase: createAddressFromString('0x' + '00'.repeat(19) + 'c0'),
        },
      },
      { common },
    );
  }

  parse(raws: string[]): TypedTransaction[] {
    return raws.map((r) => createTxFromRLP(hexToBytes(r as `0x${string}`), { common: this.common }) as TypedTransaction);
  }

  async runSetup(setup: SetupTx[]): Promise<void> {
    for (const s of setup) {
      const [tx] = this.parse([s.raw]);
      const res = await runTx(this.vm, { tx: tx!, block: this.block, skipHardForkValidation: true, skipBlockGasLimitValidation: true });
      if (res.execResult.exceptionError) throw new Error(`vm: setup transaction "${s.what}" failed: ${res.execResult.exceptionError.error}`);
    }
  }

  /** Executes a phase's transfers in one loop (parsed before timing). */
  async runPhase(phase: Phase, onProgress?: (done: number) => void): Promise<VmRun> {
    const txs = this.parse(phase.raws);
    this.block = VmPeer.makeBlock(this.common, this.block.header.number + 1n);
    let failed = 0;
    const t0 = performance.now();
    let lastReport = t0;
    for (let i = 0; i < txs.length; i++) {
      const res = await runTx(this.vm, { tx: txs[i]!, block: this.block, skipHardForkValidation: true, skipBlockGasLimitValidation: true });
      if (res.execResult.exceptionError) failed++;
      if (onProgress && (i & 63) === 63) {
        const now = performance.now();
        if (now - lastReport > 200) {
          lastReport = now;
          onProgress(i + 1);
        }
      }
    }
    const ms = performance.now() - t0;
    onProgress?.(txs.length);
    return { txs: txs.length, ms, tps: (txs.length * 1000) / ms, failed };
  }
}
