import { bigIntToHex, bytesToHex, KECCAK256_NULL, setLengthLeft, bigIntToBytes, unpadBytes } from '@ethereumjs/util';
import type { BlockEvent, DevOp } from '../boundary/messages.ts';
import { MAX_MINE_BLOCKS, type Chain } from '../chain/Chain.ts';
import { keccak256 } from '../crypto/ethCrypto.ts';
import type { WorldState } from '../state/WorldState.ts';
import { IDENTITY_REGISTRY, POLICY_REGISTRY } from '../system/addresses.ts';
import { EnclaveFailure, invalidInput } from './EnclaveFailure.ts';

const isRegistry = (address: string) => address === IDENTITY_REGISTRY || address === POLICY_REGISTRY;

/** Addresses impersonated at once, at most. */
const MAX_IMPERSONATED = 65_536;

/** What a dev operation answers, and the blocks it made (announced like any others). */
export interface DevResult {
  value: unknown;
  blocks: BlockEvent[];
}

/**
 * Runs the dev-network operations that come off the ordering log (evm_*, hardhat_*,
 * anvil_*). Each changes the chain only through a ledger entry, so a restart replays it.
 * They exist on the dev network only, and never reach a contract with a confidentiality
 * policy nor Conclave's registries (which hold the policies): setting their state, or
 * sending as them, would bypass the rules that keep their state confidential.
 */
export class DevOps {
  /** Senders eth_sendTransaction may send as without their key (hardhat_impersonateAccount). */
  private readonly impersonated = new Set<string>();

  constructor(
    private readonly chain: Chain,
    /** Whether the pool holds a transaction (admitted, not yet in a block). */
    private readonly pooled: (hash: string) => Promise<boolean>,
  ) {}

  async run(op: DevOp, timestampMs: number): Promise<DevResult> {
    const chain = this.chain;
    if (!chain.openNetwork) {
      throw new EnclaveFailure('unsupported', 'dev methods exist on the dev network only; this node runs a network started from a genesis file');
    }
    const none = (value: unknown): DevResult => ({ value, blocks: [] });
    switch (op.op) {
      case 'mine':
        return { value: null, blocks: await this.mine(op.blocks, op.interval, timestampMs, op.timestamp) };
      case 'snapshot':
        return none(bigIntToHex(await chain.snapshotForDev()));
      case 'revert':
        return none(await chain.revert(op.id));
      case 'increaseTime':
        await chain.amend(() => {
          chain.clock.offset += op.seconds;
        });
        return none(chain.clock.offset);
      case 'setNextBlockTimestamp': {
        this.checkAfterTip(op.timestamp);
        await chain.amend(() => {
          chain.clock.next = op.timestamp;
          // Later blocks go on from it as the clock moves (Hardhat's and Anvil's rule).
          chain.clock.offset = op.timestamp - BigInt(Math.floor(timestampMs / 1000));
        });
        return none(op.timestamp);
      }
      case 'setNextBlockBaseFee':
        await chain.amend(() => {
          chain.clock.nextBaseFee = op.baseFee;
        });
        return none(true);
      case 'setBalance':
        await this.setAccount(op.address, 'balance', (world, a) => world.setAccount(a, { ...this.account(a), balance: op.balance }));
        return none(true);
      case 'setNonce':
        await this.setAccount(op.address, 'nonce', (world, a) => world.setAccount(a, { ...this.account(a), nonce: op.nonce }));
        return none(true);
      case 'setCode':
        await this.setAccount(op.address, 'code', (world, a) => {
          const codeHash = op.code.length ? keccak256(op.code) : KECCAK256_NULL;
          if (op.code.length) world.putCode(bytesToHex(codeHash), op.code);
          world.setAccount(a, { ...this.account(a), codeHash });
        });
        return none(true);
      case 'setStorageAt':
        await this.setAccount(op.address, 'storage', (world, a) => {
          if (!world.account(a)) world.setAccount(a, this.account(a));
          const value = unpadBytes(op.value);
          world.setStorage(a, bytesToHex(setLengthLeft(bigIntToBytes(op.slot), 32)), value.length ? value : undefined);
        });
        return none(true);
      case 'impersonate':
        if (op.on) {
          this.refuseProtected(op.address, 'impersonate');
          if (this.impersonated.size >= MAX_IMPERSONATED && !this.impersonated.has(op.address)) {
            throw new EnclaveFailure('limitExceeded', `at most ${MAX_IMPERSONATED} addresses can be impersonated at once; stop impersonating some first`);
          }
          this.impersonated.add(op.address);
        } else this.impersonated.delete(op.address);
        return none(true);
      case 'dropTransaction': {
        const pooled = await this.pooled(op.hash);
        return none(chain.drop(op.hash) || pooled);
      }
    }
  }

  /**
   * Whether eth_sendTransaction may send as `from` without its key. Not to Conclave's
   * registries: a contract's deployer sets its policy there, and members grant roles, so
   * sending as them would open what the policies keep confidential.
   */
  impersonating(from: string, to: string | undefined): boolean {
    if (!this.impersonated.has(from)) return false;
    if (to !== undefined && isRegistry(to.toLowerCase())) {
      throw new EnclaveFailure('notPermitted', `cannot send as the impersonated ${from} to ${to.toLowerCase()}: it is a Conclave registry`);
    }
    return true;
  }

  /** Mines `count` blocks: the first takes what waits on the log, the rest are one entry of empty blocks. */
  private async mine(count: bigint, interval: bigint, timestampMs: number, timestamp?: bigint): Promise<BlockEvent[]> {
    if (count < 1n) throw invalidInput('the number of blocks to mine must be at least 1');
    if (count > MAX_MINE_BLOCKS) throw new EnclaveFailure('limitExceeded', `at most ${MAX_MINE_BLOCKS} blocks can be mined at once`);
    if (interval < 1n) throw invalidInput('the interval between mined blocks must be at least 1 second');
    const chain = this.chain;
    if (timestamp !== undefined) {
      this.checkAfterTip(timestamp);
      await chain.amend(() => {
        chain.clock.next = timestamp;
        chain.clock.offset = timestamp - BigInt(Math.floor(timestampMs / 1000));
      });
    }
    const blocks: BlockEvent[] = [];
    let left = Number(count);
    if (chain.queued > 0 || left === 1) {
      const first = await chain.buildBlock(timestampMs, true);
      if (first) blocks.push(first);
      left--;
      timestampMs += 1000 * Number(interval);
    }
    if (left > 0) blocks.push(await chain.mineEmpty(left, interval, timestampMs));
    await chain.settled();
    return blocks;
  }

  private checkAfterTip(timestamp: bigint): void {
    const tip = this.chain.tip.header.timestamp;
    if (timestamp <= tip) {
      throw invalidInput(`timestamp ${timestamp} is lower than or equal to the previous block's timestamp ${tip}`);
    }
  }

  /** The account at `address`, or an empty one. */
  private account(address: string) {
    return this.chain.world.account(address) ?? { nonce: 0n, balance: 0n, codeHash: KECCAK256_NULL };
  }

  private async setAccount(address: string, what: string, change: (world: WorldState, address: string) => void): Promise<void> {
    this.refuseProtected(address, `set the ${what} of`);
    await this.chain.amend((world) => change(world, address));
  }

  private refuseProtected(address: string, action: string): void {
    if (isRegistry(address)) {
      throw new EnclaveFailure('notPermitted', `cannot ${action} ${address}: it is a Conclave registry`);
    }
    if (this.chain.policies.hashAt(this.chain.world, address) !== undefined) {
      throw new EnclaveFailure('notPermitted', `cannot ${action} ${address}: the contract has a confidentiality policy`);
    }
  }
}
