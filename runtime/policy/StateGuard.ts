import { bytesToHex, createAddressFromString, hexToBytes, setLengthLeft } from '@ethereumjs/util';
import type { MessageGuard } from '../evm/messageGuard.ts';
import type { JournaledStateManager } from '../state/JournaledStateManager.ts';
import { POLICY_REGISTRY } from '../system/addresses.ts';
import { deployerSlot, pendingSlot, policyHashSlot } from '../system/layout.ts';
import { decide, type Principal } from './decide.ts';
import type { PolicyBook } from './PolicyBook.ts';

const REGISTRY = createAddressFromString(POLICY_REGISTRY);
const ZERO = new Uint8Array(32);

/**
 * The message guard of one transaction or read: every message into a contract outside
 * the principal's state audience is refused (see messageGuard.ts), and every creation
 * is recorded in the policy registry (its deployer, and the policy its deployer
 * registered in advance, which governs from the constructor on). The writes go through
 * the EVM's journal, so a creation that fails leaves no trace; they are the same on
 * every node, as part of executing the log.
 */
export class StateGuard implements MessageGuard {
  refused = false;

  constructor(
    private readonly state: JournaledStateManager,
    private readonly book: PolicyBook,
    private readonly principal: Principal,
    private readonly openNetwork: boolean,
  ) {}

  async created(creator: string, address: string): Promise<void> {
    const target = hexToBytes(address as `0x${string}`);
    const setter = hexToBytes(creator as `0x${string}`);
    await this.state.putStorage(REGISTRY, deployerSlot(target), setLengthLeft(setter, 32));
    const pending = pendingSlot(setter, target);
    const registered = this.state.store.storage(POLICY_REGISTRY, bytesToHex(pending));
    if (registered === undefined) return;
    await this.state.putStorage(REGISTRY, policyHashSlot(target), setLengthLeft(registered, 32));
    await this.state.putStorage(REGISTRY, pending, ZERO);
  }

  allows(address: string): boolean {
    const policy = this.book.at(this.state.store, address);
    return decide(this.principal, address, policy, 'state', { sender: this.principal.address }, this.openNetwork) === 'visible';
  }
}
