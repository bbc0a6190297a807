import { format } from 'node:util';
import { AbiCoder, ParamType } from 'ethers';
import { keccak256 } from '../crypto/ethCrypto.ts';

/**
 * The address Hardhat's console.sol (and forge-std's copy of it) sends its STATICCALLs
 * to: the ASCII of "console.log", left-padded. No code lives there, so on any other node
 * the call does nothing.
 */
export const CONSOLE_ADDRESS = '0x000000000000000000636f6e736f6c652e6c6f67';

/** Calldata above this is not a log line anyone meant to read: it is not decoded. */
const MAX_CALLDATA_BYTES = 64 * 1024;
/** A string or bytes argument longer than this is cut here, so one call prints at most a few tens of KiB. */
const MAX_ARGUMENT_BYTES = 8 * 1024;

/** console.sol's `logInt`, `logUint`, `logString`, ..., `logBytes32`: one argument each. */
const SINGLE_TYPES = ['int256', 'uint256', 'string', 'bool', 'address', 'bytes', ...Array.from({ length: 32 }, (_, i) => `bytes${i + 1}`)];
/** console.sol's `log(...)` overloads take every combination of 1 to 4 of these. */
const LOG_TYPES = ['uint256', 'string', 'bool', 'address'];
/** forge-std's console.sol adds this overload to Hardhat's (Anvil prints it). */
const FORGE_STD_EXTRA = [['string', 'int256']];

type Signature = { types: readonly string[]; coder: readonly ParamType[] };

let signatures: Map<number, Signature> | undefined;

/**
 * Selector to argument types, built once from the type lists above as console.sol's
 * generator does. Every signature is also keyed under its old selector: early console.sol
 * hashed `log(uint)` and `log(string,int)` rather than the canonical `uint256`/`int256`,
 * contracts compiled against it still emit those, and Anvil still prints them (Hardhat
 * stopped in 2.22.13).
 */
function signatureTable(): Map<number, Signature> {
  if (signatures !== undefined) return signatures;
  const lists: string[][] = [[], ...SINGLE_TYPES.map((type) => [type]), ...FORGE_STD_EXTRA];
  for (let count = 1; count <= 4; count++) {
    for (let n = 0; n < LOG_TYPES.length ** count; n++) {
      const types: string[] = [];
      for (let i = count - 1, rest = n; i >= 0; i--, rest = Math.floor(rest / LOG_TYPES.length)) types[i] = LOG_TYPES[rest % LOG_TYPES.length];
      lists.push(types);
    }
  }
  // Strings are decoded as bytes, then as UTF-8 without failing on invalid sequences
  // (ethers would throw): Solidity lets a contract log any bytes cast to string.
  // Addresses are decoded as numbers and checksummed with the runtime's keccak: ethers'
  // own checksum (JS keccak) would take most of the time of a line.
  const coderType: Record<string, string> = { string: 'bytes', address: 'uint160' };
  const coders = new Map(SINGLE_TYPES.map((type) => [type, ParamType.from(coderType[type] ?? type)]));
  const table = new Map<number, Signature>();
  for (const types of lists) {
    const signature = { types, coder: types.map((type) => coders.get(type)!) };
    table.set(selector(`log(${types.join(',')})`), signature);
    const old = types.map((type) => type.replace(/int256$/, 'int'));
    if (old.some((type, i) => type !== types[i])) table.set(selector(`log(${old.join(',')})`), signature);
  }
  return (signatures = table);
}

function selector(text: string): number {
  const hash = keccak256(new TextEncoder().encode(text));
  return ((hash[0] << 24) | (hash[1] << 16) | (hash[2] << 8) | hash[3]) >>> 0;
}

/**
 * The line Hardhat's node prints for a call to {@link CONSOLE_ADDRESS} with `data`, or
 * undefined when the selector is not one of console.sol's or the arguments are malformed
 * (never throws). As Hardhat: every argument becomes a string, then the first one is the
 * format string of Node's `util.format` (`%s`, `%o`, `%%`, ...), with `%d` and `%i` read
 * as `%s` so that 256-bit numbers print whole; integers are decimal, booleans `true` or
 * `false`, bytes 0x-hex. As Anvil, addresses are checksummed. Unlike both, the work is
 * bounded (calldata over 64 KiB is refused, string and bytes arguments are cut at 8 KiB
 * with a marker) and control characters are escaped, so a contract can neither flood
 * the node's output nor move its terminal's cursor or colour it.
 */
export function formatConsoleLog(data: Uint8Array): string | undefined {
  if (data.length < 4 || data.length > MAX_CALLDATA_BYTES) return undefined;
  const signature = signatureTable().get(((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0);
  if (signature === undefined) return undefined;
  let values: unknown[];
  try {
    // Loose: accept a last dynamic argument without its zero padding, as Hardhat does.
    values = AbiCoder.defaultAbiCoder().decode(signature.coder, data.subarray(4), true).toArray();
  } catch {
    return undefined;
  }
  const args = signature.types.map((type, i) => argumentText(type, values[i]));
  if (args.length > 0) args[0] = args[0].replace(/((?<!%)(?:%%)*)(%[di])/g, '$1%s');
  return escapeControls(format(...args));
}

function argumentText(type: string, value: unknown): string {
  if (type === 'string') {
    const bytes = Buffer.from((value as string).slice(2), 'hex');
    if (bytes.length <= MAX_ARGUMENT_BYTES) return bytes.toString('utf8');
    // Streaming holds back a character cut in half rather than printing U+FFFD for it.
    return new TextDecoder().decode(bytes.subarray(0, MAX_ARGUMENT_BYTES), { stream: true }) + cutMarker(bytes.length);
  }
  if (type === 'bytes') {
    const hex = value as string;
    const length = (hex.length - 2) / 2;
    return length <= MAX_ARGUMENT_BYTES ? hex : hex.slice(0, 2 + 2 * MAX_ARGUMENT_BYTES) + cutMarker(length);
  }
  if (type === 'address') return checksummed((value as bigint).toString(16).padStart(40, '0'));
  // bigint, boolean, or 0x-hex bytesN from ethers.
  return String(value);
}

/** EIP-55: a letter is upper case where the matching nibble of the hash of the lower-case hex is 8 or more. */
function checksummed(hex: string): string {
  const hash = keccak256(Buffer.from(hex, 'latin1'));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    out += nibble >= 8 ? hex[i].toUpperCase() : hex[i];
  }
  return out;
}

function cutMarker(length: number): string {
  return `...[${length - MAX_ARGUMENT_BYTES} more bytes]`;
}

/** C0 controls but tab and newline, DEL, C1 controls, line separators and bidi overrides. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeControls(line: string): string {
  return line.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
