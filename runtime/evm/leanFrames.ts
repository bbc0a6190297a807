import { Account, createZeroAddress } from '@ethereumjs/util';
import { messageGuardInstalled } from './messageGuard.ts';

type Common = { isActivatedEIP(eip: number): boolean };
type Address = unknown;
type Message = {
  to?: Address;
  caller: Address;
  gasLimit: bigint;
  gasRefund: bigint;
  value?: bigint;
  data?: Uint8Array;
  code?: Uint8Array | ((...args: unknown[]) => unknown);
  codeAddress: Address;
  depth: number;
  isStatic?: boolean;
  isCreate?: boolean;
  isCompiled: boolean;
  delegatecall: boolean;
  selfdestruct?: Map<string, unknown>;
  createdAddresses?: Set<string>;
  blobVersionedHashes?: unknown[];
  chargeCodeAccesses?: boolean;
  accessWitness?: { commit(): void };
};
type ExecResult = { executionGasUsed: bigint; gasRefund?: bigint; [key: string]: unknown };
type InterpreterRun = { runState: { gasLeft: bigint; gasRefund: bigint; stateGasSpilled?: bigint }; exceptionError?: { error: string } };
type InterpreterInstance = { _result: Record<string, unknown>; _env: object; run(code: unknown, opts: unknown): Promise<InterpreterRun> };
type Evm = {
  common: Common;
  DEBUG: boolean;
  stateManager: { getAccount(address: Address): Promise<Account | undefined> };
  blockchain: unknown;
  journal: unknown;
  performanceLogger: unknown;
  _optsCached: { profiler?: { enabled?: boolean } };
  _tx: { gasPrice: bigint; origin?: Address };
  _block?: unknown;
  _reduceSenderBalance(account: Account, message: Message): Promise<void>;
  _addToBalance(account: Account, message: Message): Promise<void>;
  _loadCode(message: Message): Promise<void>;
  postMessageCleanup(): void;
  runPrecompile(code: unknown, data: unknown, gasLimit: bigint): Promise<ExecResult>;
  runInterpreter(message: object, opts?: { initialLogs?: unknown[] }): Promise<ExecResult>;
};
type EvmProto = {
  _executeCall(this: Evm, message: Message): Promise<{ execResult: ExecResult }>;
  runInterpreter(this: Evm, message: Message, opts?: { initialLogs?: unknown[] }): Promise<ExecResult>;
};

let installed = false;

/**
 * EIPs whose code paths in `_executeCall` the lean version leaves out (Verkle and
 * binary-tree witnesses, Amsterdam's EIP-2780/7708/7928): a chain with any of them
 * active runs the original.
 */
const LEFT_OUT_EIPS = [6800, 7864, 2780, 7708, 7928];

/**
 * The ethereumjs EVM builds each call frame's message and result with object spreads
 * into non-empty literals (`{ ...{ codeAddress }, ...message, gasLimit }` in
 * `_executeCall`; `runState: { ...runState, ...result, ...env }` in `runInterpreter`).
 * With 20 to 40 properties V8 (Node 20) takes the slow path for these, 30-120 µs per
 * frame: more than running a whole ERC20 balanceOf. These two methods are the
 * originals line for line, with the same objects (same keys, same order, same values)
 * built by Object.assign, and without the debug, profiler and left-out-EIP branches:
 * when any of those is on, the original runs.
 *
 * The EVM's classes are internal to @ethereumjs/evm (not in its exports map), so they
 * are reached through the module files that the EVM itself loads. Installed before the
 * message guard, which wraps whatever `runInterpreter` it finds.
 */
export async function installLeanFrames(): Promise<void> {
  if (installed) return;
  // Replacing runInterpreter under the guard would drop the guard's check.
  if (messageGuardInstalled()) throw new Error('the lean frames must be installed before the message guard');
  installed = true;
  const base = import.meta.resolve('@ethereumjs/evm');
  const { EVM, defaultBlock } = (await import(new URL('./evm.js', base).href)) as { EVM: { prototype: EvmProto }; defaultBlock(): unknown };
  const { Interpreter } = (await import(new URL('./interpreter.js', base).href)) as {
    Interpreter: new (evm: Evm, stateManager: unknown, blockchain: unknown, env: object, gasLeft: bigint, journal: unknown, logger: unknown, profiler: unknown) => InterpreterInstance;
  };
  const { EVMError } = (await import(new URL('./errors.js', base).href)) as { EVMError: { errorMessages: Record<string, string> } };
  const { REVERT, INVALID_EOF_FORMAT } = EVMError.errorMessages as Record<string, string>;
  const proto = EVM.prototype;
  const originalExecuteCall = proto._executeCall;
  const originalRunInterpreter = proto.runInterpreter;
  const usual = (evm: Evm) => {
    if (evm.DEBUG || evm._optsCached.profiler?.enabled === true) return false;
    for (const eip of LEFT_OUT_EIPS) if (evm.common.isActivatedEIP(eip)) return false;
    return true;
  };

  proto._executeCall = async function (this: Evm, message: Message) {
    if (!usual(this)) return originalExecuteCall.call(this, message);
    const gasLimit = message.gasLimit;
    let account = await this.stateManager.getAccount(message.caller);
    if (!account) account = new Account();
    let errorMessage: unknown;
    // Reduce tx value from sender
    if (!message.delegatecall) {
      try {
        await this._reduceSenderBalance(account, message);
      } catch (e) {
        errorMessage = e;
      }
    }
    // Load `to` account
    let toAccount = await this.stateManager.getAccount(message.to);
    if (!toAccount) toAccount = new Account();
    // Add tx value to the `to` account
    if (!message.delegatecall) {
      try {
        await this._addToBalance(toAccount, message);
      } catch (e) {
        errorMessage = e;
      }
    }
    await this._loadCode(message);
    if (!message.code || (typeof message.code !== 'function' && message.code.length === 0) || errorMessage !== undefined) {
      return {
        execResult: {
          gasRefund: message.gasRefund,
          executionGasUsed: message.gasLimit - gasLimit,
          exceptionError: errorMessage,
          returnValue: new Uint8Array(0),
          logs: undefined,
        },
      };
    }
    let result: ExecResult;
    if (message.isCompiled) {
      result = await this.runPrecompile(message.code, message.data, gasLimit);
      result.gasRefund = message.gasRefund;
    } else {
      // The original: { ...{ codeAddress: message.codeAddress }, ...message, gasLimit }.
      result = await this.runInterpreter(Object.assign({ codeAddress: message.codeAddress }, message, { gasLimit }), { initialLogs: undefined });
    }
    if (message.depth === 0) this.postMessageCleanup();
    result.executionGasUsed += message.gasLimit - gasLimit;
    return { execResult: result };
  };

  proto.runInterpreter = async function (this: Evm, message: Message, opts = {}) {
    if (!usual(this)) return originalRunInterpreter.call(this, message, opts);
    let contract = await this.stateManager.getAccount(message.to ?? createZeroAddress());
    if (!contract) contract = new Account();
    const env = {
      address: message.to ?? createZeroAddress(),
      caller: message.caller ?? createZeroAddress(),
      callData: message.data ?? Uint8Array.from([0]),
      callValue: message.value ?? 0n,
      code: message.code,
      isStatic: message.isStatic ?? false,
      isCreate: message.isCreate ?? false,
      depth: message.depth ?? 0,
      gasPrice: this._tx.gasPrice,
      origin: this._tx.origin ?? message.caller ?? createZeroAddress(),
      block: this._block ?? defaultBlock(),
      contract,
      codeAddress: message.codeAddress,
      gasRefund: message.gasRefund,
      chargeCodeAccesses: message.chargeCodeAccesses,
      blobVersionedHashes: message.blobVersionedHashes ?? [],
      accessWitness: message.accessWitness,
      createdAddresses: message.createdAddresses,
      initialLogs: opts.initialLogs,
    };
    const interpreter = new Interpreter(this, this.stateManager, this.blockchain, env, message.gasLimit, this.journal, this.performanceLogger, this._optsCached.profiler);
    if (message.selfdestruct) interpreter._result.selfdestruct = message.selfdestruct;
    if (message.createdAddresses) interpreter._result.createdAddresses = message.createdAddresses;
    const interpreterRes = await interpreter.run(message.code, opts);
    let result = interpreter._result;
    let gasUsed = message.gasLimit - interpreterRes.runState.gasLeft;
    if (interpreterRes.exceptionError) {
      if (interpreterRes.exceptionError.error !== REVERT && interpreterRes.exceptionError.error !== INVALID_EOF_FORMAT) {
        gasUsed = message.gasLimit;
      }
      // Clear the result on error
      result = Object.assign({}, result, { logs: [], selfdestruct: new Map(), createdAddresses: new Set() });
    }
    message.accessWitness?.commit();
    return Object.assign({}, result, {
      runState: Object.assign({}, interpreterRes.runState, result, interpreter._env),
      exceptionError: interpreterRes.exceptionError,
      gas: interpreterRes.runState?.gasLeft,
      executionGasUsed: gasUsed,
      gasRefund: interpreterRes.runState.gasRefund,
      stateGasSpilled: interpreterRes.runState.stateGasSpilled,
      returnValue: (result.returnValue as Uint8Array | undefined) ?? new Uint8Array(0),
    }) as ExecResult;
  };
}
