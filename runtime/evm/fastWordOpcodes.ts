type Stack = { pop(): bigint; popN(n: number): bigint[]; push(v: bigint): void };
type Memory = { read(offset: number, size: number, avoidCopy?: boolean): Uint8Array; write(offset: number, size: number, value: Uint8Array): void };
type RunState = { stack: Stack; memory: Memory; interpreter: { storageLoad(key: Uint8Array): Promise<Uint8Array> } };
type Handler = (runState: RunState) => void | Promise<void>;

let installed = false;

/**
 * MLOAD, MSTORE and SLOAD convert between stack words and 32-byte arrays on every use;
 * ethereumjs does it through hex strings (format, regex check, parse), ~2 us a word,
 * about 6% of an ERC20 transfer. These handlers do the same conversions directly and
 * are otherwise the originals line for line. The opcode table is internal to
 * @ethereumjs/evm (not in its exports map), so it is reached through the module file
 * the EVM itself loads; every EVM created afterwards copies the patched table.
 */
export async function installFastWordOpcodes(): Promise<void> {
  if (installed) return;
  installed = true;
  const url = new URL('./opcodes/functions.js', import.meta.resolve('@ethereumjs/evm'));
  const { handlers } = (await import(url.href)) as { handlers: Map<number, Handler> };
  handlers.set(0x51, (runState) => {
    const pos = runState.stack.pop();
    runState.stack.push(wordToBigInt(runState.memory.read(Number(pos), 32, true)));
  });
  handlers.set(0x52, (runState) => {
    const [offset, word] = runState.stack.popN(2) as [bigint, bigint];
    runState.memory.write(Number(offset), 32, bigIntToWord(word));
  });
  handlers.set(0x54, async (runState) => {
    const key = runState.stack.pop();
    const value = await runState.interpreter.storageLoad(bigIntToWord(key));
    runState.stack.push(value.length ? bytesToBigInt(value) : 0n);
  });
}

const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const SAFE = 2n ** 53n;

/** A uint256 as 32 big-endian bytes. */
export function bigIntToWord(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  if (n < SAFE) {
    // Offsets, lengths, counters and booleans: plain number arithmetic.
    let x = Number(n);
    for (let j = 31; x > 0; j--) {
      out[j] = x % 256;
      x = Math.floor(x / 256);
    }
    return out;
  }
  const hex = n.toString(16);
  let i = hex.length;
  let j = 31;
  while (i > 1) {
    const lo = HEX_VALUE[hex.charCodeAt(--i)]!;
    const hi = HEX_VALUE[hex.charCodeAt(--i)]!;
    out[j--] = (hi << 4) | lo;
  }
  if (i === 1) out[j] = HEX_VALUE[hex.charCodeAt(0)]!;
  return out;
}

/** 32 big-endian bytes as a uint256. */
export function wordToBigInt(w: Uint8Array): bigint {
  const v = new DataView(w.buffer, w.byteOffset, 32);
  return (v.getBigUint64(0) << 192n) | (v.getBigUint64(8) << 128n) | (v.getBigUint64(16) << 64n) | v.getBigUint64(24);
}

/** Up to 32 big-endian bytes (a stored value, leading zeros stripped) as a uint256. */
function bytesToBigInt(b: Uint8Array): bigint {
  if (b.length === 32) return wordToBigInt(b);
  const w = new Uint8Array(32);
  w.set(b, 32 - b.length);
  return wordToBigInt(w);
}
