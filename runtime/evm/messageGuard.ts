import { EVM, EVMError } from '@ethereumjs/evm';

/**
 * What the EVM asks before running code in a contract, set per transaction (the
 * principal is its sender) or per read (the principal is the reader).
 */
export interface MessageGuard {
  /**
   * A contract is about to run its constructor at `address`, created by `creator` (an
   * account or a factory): called once per creation, before the decision below.
   */
  created(creator: string, address: string): Promise<void>;
  /** Whether the principal may run code in (and so read) the contract at `address`. */
  allows(address: string): boolean;
  /** Set once a message was refused anywhere in the transaction or read. */
  refused: boolean;
}

/** The EVM instance field through which the guard of the current transaction or read is found. */
export interface GuardedEvm {
  messageGuard?: MessageGuard;
}

/**
 * What a refused message returns: a revert with `Error("not permitted")`, the same
 * whichever contract refused, no gas spent, so neither the data nor the gas tells a
 * helper contract (or creation code) which contract it could not reach, or why.
 */
export const NOT_PERMITTED_REVERT = Uint8Array.from(
  Buffer.from(
    '08c379a0' + // Error(string)
      '0000000000000000000000000000000000000000000000000000000000000020' +
      '000000000000000000000000000000000000000000000000000000000000000d' +
      Buffer.from('not permitted').toString('hex').padEnd(64, '0'),
    'hex',
  ),
);

let installed = false;

/** Whether the guard is installed (code that replaces `runInterpreter` must come before it). */
export function messageGuardInstalled(): boolean {
  return installed;
}

type Message = { to?: { toString(): string }; caller: { toString(): string }; gasLimit: bigint; isCreate?: boolean };
type RunInterpreter = (this: EVM & GuardedEvm, message: Message, opts?: unknown) => Promise<unknown>;

/**
 * Guards every message that runs code, at every depth, in blocks and reads alike: the
 * EVM's `runInterpreter` is where a call, a delegate call's storage owner or a creation
 * meets code, so one check there covers CALL, STATICCALL, DELEGATECALL, CALLCODE,
 * CREATE, CREATE2 and the transaction's own message. The check is keyed by the storage
 * owner (`message.to`): a DELEGATECALL into a contract's code from elsewhere runs in the
 * caller's storage and reads nothing of the contract (its code is public by rule).
 * EXTCODE*, BALANCE and plain value transfers to accounts without code run no code and
 * stay public by rule. Precompiles run no code and are unaffected. The opcode loop is
 * untouched: the cost is one decision per message.
 */
export function installMessageGuard(): void {
  if (installed) return;
  installed = true;
  const proto = EVM.prototype as unknown as { runInterpreter: RunInterpreter };
  const original = proto.runInterpreter;
  // Not an async function: a message that needs no decision costs one check, no promise.
  proto.runInterpreter = function (this: EVM & GuardedEvm, message: Message, opts?: unknown) {
    const guard = this.messageGuard;
    if (guard === undefined || message.to === undefined) return original.call(this, message, opts);
    const address = message.to.toString();
    const decide = () => (guard.allows(address) ? original.call(this, message, opts) : refuse(guard, message));
    return message.isCreate === true ? guard.created(message.caller.toString(), address).then(decide) : decide();
  };
}

function refuse(guard: MessageGuard, message: Message): Promise<unknown> {
  guard.refused = true;
  return Promise.resolve({
    returnValue: NOT_PERMITTED_REVERT,
    exceptionError: new EVMError(EVMError.errorMessages.REVERT),
    executionGasUsed: 0n,
    gas: message.gasLimit,
    gasRefund: 0n,
    logs: [],
    selfdestruct: new Map(),
    createdAddresses: new Set(),
  });
}
