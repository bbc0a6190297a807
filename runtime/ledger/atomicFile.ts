import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Creates `file` with `data` only if it does not exist yet, atomically: readers never
 * see a half-written file, and of two racing creators exactly one wins.
 * Returns false (and leaves the existing file alone) if `file` already existed.
 *
 * Why not just open with 'wx': that makes creation exclusive, but a concurrent reader
 * can still observe the empty file before the bytes land. Writing a private temp
 * file, fsyncing it, then hard-linking it into place gives both exclusivity (link
 * fails with EEXIST) and all-or-nothing contents; an fsync of the directory then
 * makes the new name itself durable.
 */
export function writeFileOnce(file: string, data: Uint8Array | string, mode: number): boolean {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    if (typeof data === 'string') fs.writeSync(fd, data);
    else fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  let linked = false;
  try {
    fs.linkSync(tmp, file);
    linked = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  // The new name is durable only once its directory is: without this, a crash can lose
  // a key file whose data reached the disk, and the data sealed under it with it.
  if (linked) fsyncDir(path.dirname(file));
  return linked;
}

/** Flushes a directory's entries (names created, linked or removed) to disk. */
export function fsyncDir(dir: string): void {
  // Windows cannot open a directory for fsync; NTFS journals its metadata.
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `dir` and any missing parents with `mode`, and makes their names durable:
 * the parent of each directory created is fsynced (as writeFileOnce does for a file), so
 * that a crash cannot lose the directory and the key files already synced inside it.
 * Returns whether anything was created.
 */
export function mkdirDurable(dir: string, mode: number): boolean {
  const first = fs.mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return false;
  const top = path.resolve(first);
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    fsyncDir(path.dirname(d));
    if (d === top || d === path.dirname(d)) break;
  }
  return true;
}

/**
 * Replaces `file` with `data` atomically: written to a temp file, fsynced, renamed over
 * the old one, and the directory fsynced, so a crash leaves the old contents or the
 * new, never a mix or nothing.
 */
export function replaceFile(file: string, data: Uint8Array, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(path.dirname(file));
}
