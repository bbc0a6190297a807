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
  let header: Uint8Array;
  if (length < 56) header = Uint8Array.of(offset + length);
  else {
    const lengthBytes: number[] = [];
    for (let l = length; l > 0; l = Math.floor(l / 256)) lengthBytes.unshift(l & 255);
    header = Uint8Array.from([offset + 55 + lengthBytes.length, ...lengthBytes]);
  }
  const out = new Uint8Array(header.length + length);
  out.set(header);
  let at = header.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
