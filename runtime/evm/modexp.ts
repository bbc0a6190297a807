import { EVMError, type ExecResult, type PrecompileInput } from '@ethereumjs/evm';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Before EIP-7823 no length is refused outright; this bound only keeps lengths within a JS array's reach. */
const MAX_LENGTH_BEFORE_7823 = 2n ** 31n - 1n;

/**
 * The MODEXP precompile (0x05; EIP-198, gas of EIP-2565 and, once active, EIP-7823 and
 * EIP-7883), with the results and gas of ethereumjs's own. Its exponentiation is what
 * differs: ethereumjs shifts the whole exponent right once per bit, so time grows with the
 * square of the exponent's length while gas grows linearly (a 64 KiB exponent with an
 * 8-byte modulus, 174,762 gas, took 5 s). This one reads the exponent's bytes in place,
 * four bits at a time, so time is linear in the exponent.
 */
export function modexp(input: PrecompileInput): ExecResult {
  const { common, gasLimit } = input;
  const data = input.data;
  const bLen = word(data, 0);
  const eLen = word(data, 32);
  const mLen = word(data, 64);
  const gas = modexpGas(input);
  if (gasLimit < gas) return outOfGas(gasLimit);
  const eip7823 = common.isActivatedEIP(7823);
  if (!eip7823 && bLen === 0n && mLen === 0n) return { executionGasUsed: gas, returnValue: new Uint8Array(0) };
  const maxLength = eip7823 ? 1024n : MAX_LENGTH_BEFORE_7823;
  if (bLen > maxLength || eLen > maxLength || mLen > maxLength) return outOfGas(gasLimit);
  if (96n + bLen + eLen + mLen > MAX_SAFE) return outOfGas(gasLimit);
  const b = Number(bLen);
  const e = Number(eLen);
  const m = Number(mLen);
  const modulus = toBigInt(slice(data, 96 + b + e, m));
  const out = new Uint8Array(m);
  if (modulus !== 0n) {
    const result = expMod(toBigInt(slice(data, 96, b)), slice(data, 96 + b, e), modulus);
    for (let i = m - 1, r = result; i >= 0 && r > 0n; i--, r >>= 8n) out[i] = Number(r & 0xffn);
  }
  return { executionGasUsed: gas, returnValue: out };
}

/** The gas of one MODEXP invocation, as its EIPs define it. */
export function modexpGas(input: PrecompileInput): bigint {
  const { common, data } = input;
  const bLen = word(data, 0);
  const eLen = word(data, 32);
  const mLen = word(data, 64);
  const eip7883 = common.isActivatedEIP(7883);
  // The exponent's length in bits beyond its first word, plus the index of the highest set bit of its first word.
  const expStart = 96 + Math.min(Number(bLen), Number.MAX_SAFE_INTEGER);
  const head = eLen < 32n ? Number(eLen) : 32;
  let first = toBigInt(slice(data, expStart, head));
  let highBit = -1;
  while (first > 0n) {
    highBit++;
    first >>= 1n;
  }
  let adjusted = (eLen > 32n ? eLen - 32n : 0n) * (eip7883 ? 16n : 8n) + (highBit > 0 ? BigInt(highBit) : 0n);
  if (adjusted < 1n) adjusted = 1n;
  const maxLen = bLen > mLen ? bLen : mLen;
  if (!common.isActivatedEIP(2565)) return (adjusted * multiplicationComplexity(maxLen)) / common.param('modexpGquaddivisorGas');
  const words = (maxLen + 7n) / 8n;
  if (eip7883) {
    const gas = adjusted * (maxLen > 32n ? 2n * words * words : 16n);
    return gas < 500n ? 500n : gas;
  }
  const gas = (adjusted * words * words) / common.param('modexpGquaddivisorGas');
  return gas < 200n ? 200n : gas;
}

/** EIP-198's multiplication complexity (before EIP-2565). */
function multiplicationComplexity(x: bigint): bigint {
  if (x <= 64n) return x * x;
  if (x <= 1024n) return (x * x) / 4n + 96n * x - 3072n;
  return (x * x) / 16n + 480n * x - 199680n;
}

/** base ** exponent % modulus, the exponent in big-endian bytes: a fixed 4-bit window, left to right. */
export function expMod(base: bigint, exponent: Uint8Array, modulus: bigint): bigint {
  if (modulus === 1n) return 0n;
  const powers: bigint[] = [1n, base % modulus];
  for (let i = 2; i < 16; i++) powers.push((powers[i - 1]! * powers[1]!) % modulus);
  let r = 1n;
  let started = false;
  for (let i = 0; i < exponent.length; i++) {
    const byte = exponent[i]!;
    for (let shift = 4; shift >= 0; shift -= 4) {
      const nibble = (byte >> shift) & 15;
      if (started) {
        r = (r * r) % modulus;
        r = (r * r) % modulus;
        r = (r * r) % modulus;
        r = (r * r) % modulus;
        if (nibble !== 0) r = (r * powers[nibble]!) % modulus;
      } else if (nibble !== 0) {
        r = powers[nibble]!;
        started = true;
      }
    }
  }
  return r;
}

/** The 32-byte big-endian word at `offset`, reading zeros past the end. */
function word(data: Uint8Array, offset: number): bigint {
  return toBigInt(slice(data, offset, 32));
}

/** `length` bytes from `offset`, reading zeros past the end (as EIP-198 says). */
function slice(data: Uint8Array, offset: number, length: number): Uint8Array {
  if (offset + length <= data.length) return data.subarray(offset, offset + length);
  const out = new Uint8Array(length);
  if (offset < data.length) out.set(data.subarray(offset));
  return out;
}

function toBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);
}

function outOfGas(gasLimit: bigint): ExecResult {
  return { returnValue: new Uint8Array(0), executionGasUsed: gasLimit, exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS) };
}
