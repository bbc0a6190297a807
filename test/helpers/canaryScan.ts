/**
 * The canary scanner: searches bytes (files under a directory, a process's output, any
 * buffer) for distinctive values in every encoding they could take on the way out:
 * UTF-8 and hex of strings, ABI words and minimal big/little-endian bytes of numbers,
 * raw and hex addresses, hashes, code. Shared by the encryption-at-rest scan and the
 * confidentiality scan.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ethers } from 'ethers';

/** A value to look for, in one encoding. */
export interface Needle {
  name: string;
  bytes: Buffer;
}

/** Where a needle was found: `file` is a path relative to the scanned directory, or a label. */
export interface Hit {
  needle: string;
  file: string;
  offset: number;
}

/** Every regular file under `dir`, recursively, dotfiles included. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
    else out.push(full); // sockets, symlinks, fifos: read below, and reported if unreadable
  }
  return out.sort();
}

/** Every occurrence of every needle in `data`, reported as found in `where`. */
export function findIn(data: Buffer, needles: Needle[], where: string): Hit[] {
  for (const n of needles) {
    // Short needles could match random ciphertext by chance; every needle here is >= 8 bytes.
    assert.ok(n.bytes.length >= 8, `needle "${n.name}" is too short (${n.bytes.length} bytes) to be meaningful`);
  }
  const hits: Hit[] = [];
  for (const n of needles) {
    for (let at = data.indexOf(n.bytes); at !== -1; at = data.indexOf(n.bytes, at + 1)) {
      hits.push({ needle: n.name, file: where, offset: at });
    }
  }
  return hits;
}

/** All occurrences of every needle in every file under `dir`; also returns what was scanned. */
export function scan(dir: string, needles: Needle[]): { hits: Hit[]; files: Map<string, number> } {
  const hits: Hit[] = [];
  const files = new Map<string, number>();
  for (const file of listFiles(dir)) {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed between listing and reading
      throw err;
    }
    const rel = path.relative(dir, file);
    files.set(rel, data.length);
    hits.push(...findIn(data, needles, rel));
  }
  return { hits, files };
}

/** One line per hit, naming needle, place and offset. */
export function describeHits(hits: Hit[]): string {
  return hits.map((h) => `  needle "${h.needle}" found in ${h.file} at offset ${h.offset}`).join('\n');
}

/** Scans `dir` and fails with every match listed. Returns the files scanned (relative path -> size). */
export function assertNoPlaintext(dir: string, needles: Needle[], when: string): Map<string, number> {
  const { hits, files } = scan(dir, needles);
  assert.ok(files.size > 0, `${when}: nothing to scan in ${dir}`);
  assert.equal(
    hits.length,
    0,
    `${when}: plaintext found on disk (${hits.length} matches; files scanned: ${[...files].map(([f, n]) => `${f} (${n} B)`).join(', ')}):\n${describeHits(hits)}`,
  );
  return files;
}

export const hexBytes = (hex: string): Buffer => Buffer.from(hex.replace(/^0x/, ''), 'hex');
export const ascii = (s: string): Buffer => Buffer.from(s, 'utf8');

/** A string in every encoding: utf8, and the hex of its utf8 in lower and upper case, plus 32-byte storage chunks. */
export function stringNeedles(label: string, s: string): Needle[] {
  const utf8 = ascii(s);
  const needles: Needle[] = [
    { name: `${label} (utf8)`, bytes: utf8 },
    { name: `${label} (hex ascii, lower)`, bytes: ascii(utf8.toString('hex')) },
    { name: `${label} (hex ascii, upper)`, bytes: ascii(utf8.toString('hex').toUpperCase()) },
  ];
  // Solidity stores a long string in 32-byte slots: a chunk could be on disk without the whole.
  for (let i = 0; i < utf8.length; i += 32) {
    const chunk = utf8.subarray(i, i + 32);
    if (chunk.length < utf8.length && chunk.length >= 8) needles.push({ name: `${label} (storage chunk at ${i})`, bytes: chunk });
  }
  return needles;
}

/** A uint256 in every encoding: 32-byte big-endian, minimal big-endian, decimal ascii, hex ascii. */
export function numberNeedles(label: string, n: bigint): Needle[] {
  const hex = n.toString(16);
  const minimal = hexBytes(hex.length % 2 ? '0' + hex : hex);
  return [
    { name: `${label} (32-byte big-endian)`, bytes: hexBytes(hex.padStart(64, '0')) },
    { name: `${label} (minimal big-endian)`, bytes: minimal },
    { name: `${label} (minimal little-endian)`, bytes: Buffer.from(minimal).reverse() },
    { name: `${label} (decimal ascii)`, bytes: ascii(n.toString(10)) },
    { name: `${label} (hex ascii, lower)`, bytes: ascii(hex) },
    { name: `${label} (hex ascii, upper)`, bytes: ascii(hex.toUpperCase()) },
  ];
}

/** An address as raw 20 bytes, as a 32-byte word (log topic, ABI argument), and as lower/checksummed/upper hex ascii. */
export function addressNeedles(label: string, address: string): Needle[] {
  const lower = address.toLowerCase().slice(2);
  return [
    { name: `${label} (raw 20 bytes)`, bytes: hexBytes(lower) },
    { name: `${label} (hex ascii, lower)`, bytes: ascii(lower) },
    { name: `${label} (hex ascii, checksummed)`, bytes: ascii(ethers.getAddress(address).slice(2)) },
    { name: `${label} (hex ascii, upper)`, bytes: ascii(lower.toUpperCase()) },
  ];
}

/** Raw 32 bytes (tx hash, block hash) and its hex ascii. */
export function hashNeedles(label: string, hash: string): Needle[] {
  return [
    { name: `${label} (raw 32 bytes)`, bytes: hexBytes(hash) },
    { name: `${label} (hex ascii)`, bytes: ascii(hash.slice(2).toLowerCase()) },
  ];
}

/** Runtime bytecode: the whole blob, and 32-byte windows spread over it (a whole-blob match could be missed). */
export function codeNeedles(label: string, code: string): Needle[] {
  const bytes = hexBytes(code);
  const needles: Needle[] = [
    { name: `${label} (whole runtime bytecode)`, bytes },
    { name: `${label} (whole runtime bytecode, hex ascii)`, bytes: ascii(bytes.toString('hex')) },
  ];
  for (const frac of [0.1, 0.25, 0.5, 0.75, 0.9]) {
    const at = Math.floor((bytes.length - 32) * frac);
    const window = bytes.subarray(at, at + 32);
    needles.push({ name: `${label} (32-byte window at ${at})`, bytes: window });
    needles.push({ name: `${label} (32-byte window at ${at}, hex ascii)`, bytes: ascii(window.toString('hex')) });
  }
  return needles;
}

/** A distinctive 40-byte string (long enough to span two storage slots). */
export function randomCanaryString(): string {
  return 'CONCLAVE-CANARY-' + randomBytes(12).toString('hex'); // 40 bytes: a long string over two slots
}

/** A random 64-bit value with its top bit set, so its minimal encoding is exactly 8 bytes. */
export function randomCanaryNumber(): bigint {
  return BigInt('0x' + randomBytes(8).toString('hex')) | (1n << 63n);
}
