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
 * fails with EEXIST) and all-or-nothing contents.
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
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
