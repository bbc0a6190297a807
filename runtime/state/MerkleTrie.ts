import { KECCAK256_RLP } from '@ethereumjs/util';
import { keccak256 } from '../crypto/ethCrypto.ts';

/**
 * An in-memory Merkle Patricia Trie (Ethereum yellow paper, appendix D) that keeps its
 * nodes decoded and remembers each node's reference (its RLP, or the hash of it) until
 * a write below invalidates it. A state root after a block therefore re-hashes only
 * the paths that block changed, without the serialise / decode round trips of a
 * database-backed trie. It computes roots only: proofs and history are not kept.
 * Tests check its roots against @ethereumjs/mpt.
 */
export class MerkleTrie {
  private rootNode: TrieNode | undefined;

  /** Sets `key` (raw bytes; hash them first for a secure trie) to an RLP-encoded value. */
  put(key: Uint8Array, value: Uint8Array): void {
    if (value.length === 0) return this.del(key);
    this.rootNode = insert(this.rootNode, toNibbles(key), value);
  }

  del(key: Uint8Array): void {
    const next = remove(this.rootNode, toNibbles(key));
    if (next !== UNCHANGED) this.rootNode = next;
  }

  /** The root hash: keccak256 of the root node's RLP (the empty trie's root when empty). */
  root(): Uint8Array {
    if (!this.rootNode) return KECCAK256_RLP;
    // Encode first: the encoding may replace the scratch buffer with a larger one.
    const length = encodeNode(this.rootNode);
    return keccak256(scratch.subarray(0, length));
  }

  get empty(): boolean {
    return this.rootNode === undefined;
  }
}

type TrieNode = Leaf | Extension | Branch;

interface Leaf {
  kind: 0;
  path: Uint8Array;
  value: Uint8Array;
  ref?: Uint8Array;
}

interface Extension {
  kind: 1;
  path: Uint8Array;
  child: TrieNode;
  ref?: Uint8Array;
}

interface Branch {
  kind: 2;
  children: (TrieNode | undefined)[];
  value: Uint8Array | undefined;
  ref?: Uint8Array;
}

const leaf = (path: Uint8Array, value: Uint8Array): Leaf => ({ kind: 0, path, value });
const extension = (path: Uint8Array, child: TrieNode): Extension => ({ kind: 1, path, child });
const branch = (): Branch => ({ kind: 2, children: new Array(16).fill(undefined), value: undefined });

function toNibbles(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 15;
  }
  return out;
}

function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function insert(node: TrieNode | undefined, path: Uint8Array, value: Uint8Array): TrieNode {
  if (!node) return leaf(path, value);
  node.ref = undefined;
  switch (node.kind) {
    case 0: {
      const k = commonPrefix(node.path, path);
      if (k === node.path.length && k === path.length) {
        node.value = value;
        return node;
      }
      const b = branch();
      if (k < node.path.length) b.children[node.path[k]!] = leaf(node.path.subarray(k + 1), node.value);
      else b.value = node.value;
      if (k < path.length) b.children[path[k]!] = leaf(path.subarray(k + 1), value);
      else b.value = value;
      return k > 0 ? extension(path.subarray(0, k), b) : b;
    }
    case 1: {
      const k = commonPrefix(node.path, path);
      if (k === node.path.length) {
        node.child = insert(node.child, path.subarray(k), value);
        return node;
      }
      // Split the extension at the first differing nibble.
      const b = branch();
      const rest = node.path.subarray(k + 1);
      b.children[node.path[k]!] = rest.length > 0 ? extension(rest, node.child) : node.child;
      const inserted = insert(b, path.subarray(k), value);
      return k > 0 ? extension(path.subarray(0, k), inserted) : inserted;
    }
    case 2: {
      if (path.length === 0) node.value = value;
      else node.children[path[0]!] = insert(node.children[path[0]!], path.subarray(1), value);
      return node;
    }
  }
}

/** Returned by remove() when the key was not there: nothing on the path changed. */
const UNCHANGED = Symbol('unchanged');

function remove(node: TrieNode | undefined, path: Uint8Array): TrieNode | undefined | typeof UNCHANGED {
  if (!node) return UNCHANGED;
  switch (node.kind) {
    case 0:
      return commonPrefix(node.path, path) === node.path.length && node.path.length === path.length ? undefined : UNCHANGED;
    case 1: {
      if (commonPrefix(node.path, path) !== node.path.length) return UNCHANGED;
      const child = remove(node.child, path.subarray(node.path.length));
      if (child === UNCHANGED) return UNCHANGED;
      if (!child) return undefined;
      // Merge with what the child collapsed into, keeping the trie canonical.
      if (child.kind === 0) return leaf(concat(node.path, child.path), child.value);
      if (child.kind === 1) return extension(concat(node.path, child.path), child.child);
      node.child = child;
      node.ref = undefined;
      return node;
    }
    case 2: {
      if (path.length === 0) {
        if (node.value === undefined) return UNCHANGED;
        node.value = undefined;
      } else {
        const i = path[0]!;
        const after = remove(node.children[i], path.subarray(1));
        if (after === UNCHANGED) return UNCHANGED;
        node.children[i] = after;
      }
      node.ref = undefined;
      let only = -1;
      let count = node.value === undefined ? 0 : 1;
      for (let i = 0; i < 16; i++) {
        if (node.children[i]) {
          count++;
          only = i;
        }
      }
      if (count >= 2) return node;
      if (count === 0) return undefined;
      if (only < 0) return leaf(new Uint8Array(0), node.value!);
      const c = node.children[only]!;
      const prefix = Uint8Array.of(only);
      if (c.kind === 0) return leaf(concat(prefix, c.path), c.value);
      if (c.kind === 1) return extension(concat(prefix, c.path), c.child);
      return extension(prefix, c);
    }
  }
}

/** The node's reference in its parent: its RLP if shorter than 32 bytes, else the hash of it. */
function refOf(node: TrieNode): Uint8Array {
  if (node.ref) return node.ref;
  const length = encodeNode(node);
  if (length < 32) node.ref = scratch.slice(0, length);
  else {
    node.ref = new Uint8Array(33);
    node.ref[0] = 0x80 + 32;
    node.ref.set(keccak256(scratch.subarray(0, length)), 1);
  }
  return node.ref;
}

/**
 * The buffer every node is encoded into, to be hashed or copied at once: a node's
 * children have their references before the node is written, so one buffer serves the
 * whole walk without an allocation per node.
 */
let scratch = new Uint8Array(4096);

/** RLP of a node, written to the start of `scratch`; returns its length. */
function encodeNode(node: TrieNode): number {
  if (node.kind !== 2) {
    const path = hexPrefix(node.path, node.kind === 0);
    const second = node.kind === 0 ? node.value : refOf(node.child);
    const payload = bytesLength(path) + (node.kind === 0 ? bytesLength(second) : second.length);
    reserve(headerLength(payload) + payload);
    let at = writeHeader(0xc0, payload, 0);
    at = writeBytes(path, at);
    if (node.kind === 0) return writeBytes(second, at);
    scratch.set(second, at);
    return at + second.length;
  }
  // Children first (each may use the scratch buffer); their references stay on them.
  let payload = 0;
  for (let i = 0; i < 16; i++) {
    const c = node.children[i];
    payload += c ? refOf(c).length : 1;
  }
  const value = node.value;
  payload += value ? bytesLength(value) : 1;
  reserve(headerLength(payload) + payload);
  const buf = scratch;
  let at = writeHeader(0xc0, payload, 0);
  for (let i = 0; i < 16; i++) {
    const r = node.children[i]?.ref;
    if (!r) buf[at++] = 0x80;
    else if (r.length === 1) buf[at++] = r[0]!;
    else {
      buf.set(r, at);
      at += r.length;
    }
  }
  if (value) return writeBytes(value, at);
  buf[at] = 0x80;
  return at + 1;
}

function reserve(length: number): void {
  if (scratch.length < length) scratch = new Uint8Array(Math.max(length, scratch.length * 2));
}

/** Length of the RLP of byte string `b`. */
function bytesLength(b: Uint8Array): number {
  return b.length === 1 && b[0]! < 0x80 ? 1 : headerLength(b.length) + b.length;
}

function headerLength(length: number): number {
  if (length < 56) return 1;
  let n = 1;
  for (let l = length; l > 0; l = Math.floor(l / 256)) n++;
  return n;
}

/** Writes an RLP header at `at`; returns where its payload starts. */
function writeHeader(offset: number, length: number, at: number): number {
  if (length < 56) {
    scratch[at] = offset + length;
    return at + 1;
  }
  const bytes = headerLength(length) - 1;
  scratch[at] = offset + 55 + bytes;
  for (let i = bytes, l = length; i > 0; i--, l = Math.floor(l / 256)) scratch[at + i] = l & 255;
  return at + 1 + bytes;
}

/** Writes the RLP of byte string `b` at `at`; returns the end. */
function writeBytes(b: Uint8Array, at: number): number {
  if (b.length === 1 && b[0]! < 0x80) {
    scratch[at] = b[0]!;
    return at + 1;
  }
  at = writeHeader(0x80, b.length, at);
  scratch.set(b, at);
  return at + b.length;
}

/** Compact (hex-prefix) encoding of a nibble path with the leaf flag. */
function hexPrefix(path: Uint8Array, isLeaf: boolean): Uint8Array {
  const odd = path.length & 1;
  const out = new Uint8Array((path.length >> 1) + 1);
  out[0] = ((isLeaf ? 2 : 0) + odd) << 4;
  let p = 0;
  if (odd) out[0]! |= path[p++]!;
  for (let i = 1; i < out.length; i++, p += 2) out[i] = (path[p]! << 4) | path[p + 1]!;
  return out;
}
