import type { Common, StateManagerInterface } from '@ethereumjs/common';
import {
  EVM,
  EVMError,
  MCLBLS,
  NobleBN254,
  RustBN254,
  getActivePrecompiles,
  type CustomPrecompile,
  type EVMBN254Interface,
  type PrecompileFunc,
  type PrecompileInput,
} from '@ethereumjs/evm';
import * as mcl from 'mcl-wasm';
import { initRustBN } from 'rustbn-wasm';
import { EnclaveFailure } from '../enclave/EnclaveFailure.ts';
import { blake2f, blake2fGas } from './blake2f.ts';
import type { BudgetedEvm } from './ExecutionBudget.ts';
import { modexp, modexpGas } from './modexp.ts';
import { checkPolicyInput } from '../policy/policyCheck.ts';
import { POLICY_CHECK } from '../system/addresses.ts';

/** POLICY_CHECK's gas: a base, and a charge per byte of JSON parsed (a 16 KiB policy: ~200k gas). */
const POLICY_CHECK_BASE_GAS = 3_000n;
const POLICY_CHECK_BYTE_GAS = 12n;

/**
 * The POLICY_CHECK precompile: validates a policy for the policy registry, which stores
 * none it refuses. Its revert data is `Error(string)` naming the field at fault.
 */
const policyCheck: PrecompileFunc = (input) => {
  const gas = POLICY_CHECK_BASE_GAS + POLICY_CHECK_BYTE_GAS * BigInt(input.data.length);
  if (gas > input.gasLimit) {
    return { returnValue: new Uint8Array(0), executionGasUsed: input.gasLimit, exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS) };
  }
  const checked = checkPolicyInput(input.data);
  return checked.ok
    ? { returnValue: new Uint8Array(0), executionGasUsed: gas }
    : { returnValue: checked.revertData, executionGasUsed: gas, exceptionError: new EVMError(EVMError.errorMessages.REVERT) };
};

/** What an EVM runs: blocks (everything they hold, deterministically) or calls (within a budget). */
export type EvmUse = 'block' | 'call';

/** A call's precompile invocation that would run longer than a call may hold the thread. */
export class PrecompileCapExceeded extends EnclaveFailure {}

/**
 * Gas one invocation may spend in a call, per precompile whose cost grows with its input:
 * at most ~50-80 ms on the reference machine (2 shared cores; best of repeated runs), at
 * the slowest rate per gas of any input shape of the backends below. Larger invocations
 * are refused with a clear error; blocks have no such cap.
 * - 0x05 MODEXP: ~270 ns/gas with a modulus of 1-2 words and a long exponent (~25 ns/gas
 *   with 256-byte operands), so 200k gas: ~55 ms;
 * - 0x08 BN254 pairing (rustbn): 130-250 ns/gas, so 320k gas (8 pairs): 40-80 ms;
 * - 0x09 BLAKE2F: ~250 ns/gas (a round a gas), so 200k rounds: ~50 ms;
 * - 0x0c, 0x0e BLS12-381 MSM (mcl): 50-160 ns/gas, so 400k gas: 20-64 ms;
 * - 0x0f BLS12-381 pairing (mcl): 70-150 ns/gas, so 500k gas (14 pairs): 35-73 ms.
 */
export const CALL_PRECOMPILE_GAS_CAPS: Readonly<Record<string, bigint>> = {
  '05': 200_000n,
  '08': 320_000n,
  '09': 200_000n,
  '0c': 400_000n,
  '0e': 400_000n,
  '0f': 500_000n,
};

/** Precompiles that take long enough per invocation that a call checks its budget before each. */
const BUDGETED = ['05', '06', '07', '08', '09', '0b', '0c', '0d', '0e', '0f', '10', '11'];

type Backends = { bls: MCLBLS; bn254: EVMBN254Interface; msmGas: MsmGas };
type MsmGas = (input: PrecompileInput, pairLength: number, mulGas: 'bls12381G1MulGas' | 'bls12381G2MulGas') => bigint;
let loading: Promise<Backends> | undefined;

/**
 * An EVM for `use` on the chain. Every EVM of the node computes precompiles the same way,
 * so a call answers what a block would. ethereumjs's defaults are pure JS and slow (per
 * gas, on the reference machine): noble's BLS12-381 at 250-1,100 ns (its additions at
 * 8-10 us, as they check subgroup membership), noble's BN254 at 250-650 ns, MODEXP
 * quadratic in the exponent's length (a 64 KiB exponent: 4.8 s for 175k gas), BLAKE2F at
 * ~700 ns. Here BLS12-381 runs on mcl (WebAssembly: 50-220 ns), BN254 on rustbn
 * (WebAssembly: 130-250 ns), MODEXP and BLAKE2F on our own implementations (./modexp.ts:
 * linear, at most ~300 ns; ./blake2f.ts: ~250 ns). Each gives ethereumjs's results, gas
 * and errors (test/unit/precompiles.test.ts).
 *
 * An EVM for calls also awaits the call's budget before each invocation of an expensive
 * precompile (a loop of them yields and ends at the deadline, as a loop of opcodes does),
 * and refuses an invocation over its cap (CALL_PRECOMPILE_GAS_CAPS): a WebAssembly or
 * BigInt computation cannot be interrupted, so it must be small enough not to matter.
 */
export async function createChainEvm(
  opts: { common: Common; stateManager: StateManagerInterface; blockchain: unknown },
  use: EvmUse,
): Promise<EVM> {
  const { bls, bn254, msmGas } = await (loading ??= loadBackends());
  const own: Record<string, PrecompileFunc> = { '05': modexp, '09': blake2f };
  const costs: Record<string, (input: PrecompileInput) => bigint> = {
    '05': modexpGas,
    '08': (input) => pairingGas(input, 192, 'bn254PairingGas', 'bn254PairingWordGas'),
    '09': (input) => (input.data.length === 213 ? blake2fGas(input) : 0n),
    '0c': (input) => msmGas(input, 160, 'bls12381G1MulGas'),
    '0e': (input) => msmGas(input, 288, 'bls12381G2MulGas'),
    '0f': (input) => pairingGas(input, 384, 'bls12381PairingBaseGas', 'bls12381PairingPerPairGas'),
  };
  const customPrecompiles: CustomPrecompile[] = [];
  for (const [address, builtIn] of getActivePrecompiles(opts.common)) {
    const id = address.slice(38);
    let fn = own[id] ?? builtIn;
    if (use === 'call' && BUDGETED.includes(id)) fn = budgeted(id, fn, costs[id], CALL_PRECOMPILE_GAS_CAPS[id]);
    if (fn !== builtIn) customPrecompiles.push({ address: `0x${address}`, function: fn });
  }
  customPrecompiles.push({ address: POLICY_CHECK, function: policyCheck } as unknown as CustomPrecompile);
  // The constructor, not createEVM: createEVM (10.1.3) replaces any `bn254` given with noble's.
  return new EVM({
    common: opts.common,
    stateManager: opts.stateManager,
    blockchain: opts.blockchain as never,
    bls,
    bn254,
    customPrecompiles,
  });
}

/** Within a call: wait for the call's budget (yield, or end at its deadline), refuse an invocation over its cap. */
function budgeted(id: string, fn: PrecompileFunc, cost?: (input: PrecompileInput) => bigint, cap?: bigint): PrecompileFunc {
  return async (input) => {
    const budget = (input._EVM as unknown as BudgetedEvm).executionBudget;
    if (budget !== undefined) await budget.tick();
    if (cost !== undefined && cap !== undefined) {
      const gas = cost(input);
      // An invocation short of gas fails at once without computing: only one that would run is refused.
      if (gas > cap && gas <= input.gasLimit) {
        throw new PrecompileCapExceeded('invalidInput', `precompile 0x${id}: ${gas} gas in one invocation exceeds the cap for calls (${cap})`);
      }
    }
    return fn(input);
  };
}

/** A pairing check's gas, or 0 for an input of the wrong length (refused before any computation). */
function pairingGas(input: PrecompileInput, pairLength: number, base: string, perPair: string): bigint {
  const n = input.data.length;
  if (n === 0 || n % pairLength !== 0) return 0n;
  return input.common.param(base) + BigInt(n / pairLength) * input.common.param(perPair);
}

async function loadBackends(): Promise<Backends> {
  await mcl.init(mcl.BLS12_381);
  const rustbn = await initRustBN();
  // EIP-2537's MSM discount tables live in an internal module of @ethereumjs/evm (not in its
  // exports map), reached through the module file that the EVM itself loads.
  const url = new URL('./precompiles/bls12_381/index.js', import.meta.resolve('@ethereumjs/evm'));
  const internal = (await import(url.href)) as {
    msmGasUsed(pairs: number, perPair: bigint, table: [number, number][]): bigint;
    BLS_GAS_DISCOUNT_PAIRS_G1: [number, number][];
    BLS_GAS_DISCOUNT_PAIRS_G2: [number, number][];
  };
  const msmGas: MsmGas = (input, pairLength, mulGas) => {
    const n = input.data.length;
    if (n === 0 || n % pairLength !== 0) return 0n;
    const table = pairLength === 160 ? internal.BLS_GAS_DISCOUNT_PAIRS_G1 : internal.BLS_GAS_DISCOUNT_PAIRS_G2;
    return internal.msmGasUsed(n / pairLength, input.common.param(mulGas), table);
  };
  return { bls: new MCLBLS(mcl), bn254: new RustBn254NamingErrors(new RustBN254(rustbn)), msmGas };
}

/**
 * rustbn answers an input it refuses with no output, which ethereumjs reports as "out of
 * gas"; noble throws, reported as "revert" or "fp point not in field". Either way the frame
 * halts with all its gas, but the error's name reaches eth_call's answer: so an input rustbn
 * refuses goes to noble, which names the error exactly as ethereumjs's default does.
 */
class RustBn254NamingErrors implements EVMBN254Interface {
  private readonly noble = new NobleBN254();

  constructor(private readonly rust: RustBN254) {}

  add(input: Uint8Array): Uint8Array {
    const out = this.rust.add(input);
    return out.length === 64 ? out : this.noble.add(input);
  }

  mul(input: Uint8Array): Uint8Array {
    const out = this.rust.mul(input);
    return out.length === 64 ? out : this.noble.mul(input);
  }

  pairing(input: Uint8Array): Uint8Array {
    const out = this.rust.pairing(input);
    return out.length === 32 ? out : this.noble.pairing(input);
  }
}
