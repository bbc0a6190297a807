import { Common, Hardfork, Mainnet, type CustomCrypto } from '@ethereumjs/common';

/** The one hardfork Conclave runs; contracts must be compiled for it (solc evmVersion "prague"). */
export const HARDFORK = Hardfork.Prague;

/**
 * A Common shared instead of copied. ethereumjs copies the Common into every
 * transaction and header and re-merges its parameter tables (JSON round trips), ~40 us
 * per transaction; ours never changes hardfork or EIPs after creation, so one instance
 * serves all, and each parameter table is merged once.
 */
class SharedCommon extends Common {
  private readonly merged = new WeakSet<object>();

  override copy(): Common {
    return this;
  }

  override updateParams(params: Parameters<Common['updateParams']>[0]): void {
    if (this.merged.has(params)) return;
    this.merged.add(params);
    super.updateParams(params);
  }

  // The interpreter asks isActivatedEIP for almost every opcode; a Set answers in O(1)
  // where Common scans an array of ~100 EIPs. Declared, not initialised: the base
  // constructor fills it before a field initialiser would run and reset it.
  private declare eipSet?: Set<number>;

  protected override _buildActivatedEIPsCache(): void {
    super._buildActivatedEIPsCache();
    this.eipSet = new Set(this._activatedEIPsCache);
  }

  override isActivatedEIP(eip: number): boolean {
    return this.eipSet ? this.eipSet.has(eip) : super.isActivatedEIP(eip);
  }
}

/**
 * The Common of a chain: the VM, every transaction and every block share this one
 * instance, with the fast keccak and ecrecover plugged in.
 */
export function createChainCommon(chainId: bigint, customCrypto: CustomCrypto = {}): Common {
  return new SharedCommon({
    chain: { ...Mainnet, chainId: Number(chainId), name: 'conclave' },
    hardfork: HARDFORK,
    customCrypto,
  });
}
