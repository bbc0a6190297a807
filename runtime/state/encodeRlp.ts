/**
 * RLP from parts that are already encoded, without the re-encoding a general encoder
 * does: trie nodes (MerkleTrie) and blocks whose transactions are kept encoded (codec).
 */

/** RLP of a byte string. */
export function encodeBytes(b: Uint8Array): Uint8Array {
  if (b.length === 1 && b[0]! < 0x80) return b;
  return withHeader(0x80, b.length, [b]);
}

/** RLP of a list whose items are already encoded. */
export function encodeList(items: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const item of items) length += item.length;
  return withHeader(0xc0, length, items);
}

function withHeader(offset: number, length: number, parts: Uint8Array[]): Uint8Array {
  let lengthBytes = 0;
  for (let l = length; l > 0 && length >= 56; l = Math.floor(l / 256)) lengthBytes++;
  const headerLength = 1 + lengthBytes;
  const out = new Uint8Array(headerLength + length);
  if (length < 56) out[0] = offset + length;
  else {
    out[0] = offset + 55 + lengthBytes;
    for (let i = lengthBytes, l = length; i > 0; i--, l = Math.floor(l / 256)) out[i] = l & 255;
  }
  let at = headerLength;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
