import type { DevOp } from '../../runtime/boundary/messages.ts';
import { InvalidParamsError, MethodNotSupportedError } from './errors.ts';
import { param, parseAddress, parseData, parseHash } from './params.ts';
import type { Ctx, Services } from './services.ts';
import type { MethodEntry } from './types.ts';

/**
 * The dev methods (evm_*, hardhat_*, anvil_*) that Hardhat, Foundry and web3.js test
 * suites call. Most exist under Hardhat's and Anvil's names with the same parameters;
 * each name has its file in ./methods, made here. What changes the chain goes on the
 * ordering log (the enclave refuses it on a network started from a genesis file).
 */

/** Puts a dev operation on the ordering log and answers its outcome. */
export function devOp(ctx: Ctx, op: DevOp): Promise<unknown> {
  return ctx.services.dev(op);
}

/** Refuses a host-side dev method (block production settings) on a network started from a genesis file. */
export function requireDevNetwork(ctx: Ctx): void {
  if (!ctx.services.devNetwork) {
    throw new MethodNotSupportedError('dev methods exist on the dev network only; this node runs a network started from a genesis file');
  }
}

/**
 * A number as test tools send it: a hex quantity (leading zeros allowed, as Anvil
 * accepts) or a non-negative JSON integer, of at most `bits` bits.
 */
export function parseDevNumber(v: unknown, name: string, bits = 256): bigint {
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
  else if (typeof v === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(v)) n = BigInt(v);
  if (n === undefined) throw new InvalidParamsError(`invalid ${name}: hex quantity or non-negative integer expected`);
  if (n >= 1n << BigInt(bits)) throw new InvalidParamsError(`invalid ${name}: more than ${bits} bits`);
  return n;
}

/** A 32-byte storage value (hardhat_setStorageAt takes exactly 32 bytes, as Hardhat does). */
function parseWord(v: unknown, name: string): Uint8Array {
  const word = parseData(v, name);
  if (word.length !== 32) throw new InvalidParamsError(`invalid ${name}: exactly 32 bytes expected, got ${word.length}`);
  return word;
}

type Flavour = 'hardhat' | 'anvil';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Hardhat answers `true` where Anvil answers `null`. */
const done = (flavour: Flavour) => (flavour === 'hardhat' ? true : null);

function entry(description: string, handler: MethodEntry<Services>['handler']): MethodEntry<Services> {
  return { status: 'supported', disclosure: 'public', description, handler };
}

export const setBalance = (flavour: Flavour) =>
  entry('Sets an account balance (dev network; not a contract with a policy).', async (params, ctx) => {
    const address = param(params, 0, 'address', parseAddress);
    const balance = param(params, 1, 'balance', (v, n) => parseDevNumber(v, n));
    await devOp(ctx, { op: 'setBalance', address, balance });
    return done(flavour);
  });

export const setCode = (flavour: Flavour) =>
  entry('Sets an account code (dev network; not a contract with a policy).', async (params, ctx) => {
    const address = param(params, 0, 'address', parseAddress);
    const code = param(params, 1, 'code', parseData);
    await devOp(ctx, { op: 'setCode', address, code });
    return done(flavour);
  });

export const setNonce = (flavour: Flavour) =>
  entry('Sets an account nonce (dev network; not a contract with a policy).', async (params, ctx) => {
    const address = param(params, 0, 'address', parseAddress);
    const nonce = param(params, 1, 'nonce', (v, n) => parseDevNumber(v, n, 64));
    await devOp(ctx, { op: 'setNonce', address, nonce });
    return done(flavour);
  });

export const setStorageAt = (flavour: Flavour) =>
  entry('Sets a storage slot (dev network; not a contract with a policy).', async (params, ctx) => {
    const address = param(params, 0, 'address', parseAddress);
    const slot = param(params, 1, 'slot', (v, n) => parseDevNumber(v, n));
    const value = param(params, 2, 'value', parseWord);
    await devOp(ctx, { op: 'setStorageAt', address, slot, value });
    return done(flavour);
  });

export const impersonateAccount = (flavour: Flavour, on: boolean) =>
  entry(
    on
      ? 'Lets eth_sendTransaction send as an address without its key (dev network). It never authenticates a read.'
      : 'Ends hardhat_impersonateAccount for an address.',
    async (params, ctx) => {
      const address = param(params, 0, 'address', parseAddress);
      await devOp(ctx, { op: 'impersonate', address, on });
      return done(flavour);
    },
  );

export const mine = (flavour: Flavour) =>
  entry('Mines blocks (default 1), `interval` seconds apart (default 1), as one ledger entry.', async (params, ctx) => {
    const blocks = param(params, 0, 'blocks', (v, n) => parseDevNumber(v, n, 64), true) ?? 1n;
    const interval = param(params, 1, 'interval', (v, n) => parseDevNumber(v, n, 64), true) ?? 1n;
    await devOp(ctx, { op: 'mine', blocks, interval });
    return done(flavour);
  });

export const dropTransaction = (flavour: Flavour) =>
  entry('Drops a transaction that waits (in the pool or on the log); answers whether it was there.', async (params, ctx) => {
    const hash = param(params, 0, 'hash', parseHash);
    const dropped = (await devOp(ctx, { op: 'dropTransaction', hash })) as boolean;
    return flavour === 'hardhat' ? dropped : dropped ? hash : null;
  });

export const setNextBlockBaseFeePerGas = (flavour: Flavour) =>
  entry("Sets the next block's base fee.", async (params, ctx) => {
    const baseFee = param(params, 0, 'baseFeePerGas', (v, n) => parseDevNumber(v, n));
    await devOp(ctx, { op: 'setNextBlockBaseFee', baseFee });
    return done(flavour);
  });

export const setAutomine = (flavour: Flavour | 'evm') =>
  entry('Turns cutting a block as soon as a transaction arrives on or off.', (params, ctx) => {
    requireDevNetwork(ctx);
    const on = param(params, 0, 'enabled', (v, n) => {
      if (typeof v !== 'boolean') throw new InvalidParamsError(`invalid ${n}: boolean expected`);
      return v;
    });
    ctx.services.mining.setAutomine(on);
    return flavour === 'anvil' ? null : true;
  });

export const setIntervalMining = (flavour: Flavour | 'evm') =>
  entry('Mines a block every so many milliseconds (Anvil: seconds); 0 stops.', (params, ctx) => {
    requireDevNetwork(ctx);
    const every = Number(param(params, 0, 'interval', (v, n) => parseDevNumber(v, n, 32)));
    const ms = flavour === 'anvil' ? every * 1000 : every;
    // Node's timers take at most 2^31 - 1 ms (and fire at once beyond it).
    if (ms > MAX_TIMER_MS) throw new InvalidParamsError(`invalid interval: at most ${MAX_TIMER_MS} ms`);
    ctx.services.mining.setIntervalMining(ms);
    return flavour === 'anvil' ? null : true;
  });

export const getAutomine = () =>
  entry('Whether a block is cut as soon as a transaction arrives.', (_params, ctx) => {
    requireDevNetwork(ctx);
    return ctx.services.mining.automine;
  });

/** An evm_mine / evm_setNextBlockTimestamp timestamp: seconds as a number or hex quantity. */
export function parseTimestamp(v: unknown, name: string): bigint {
  return parseDevNumber(v, name, 64);
}

