import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdirDurable, writeFileOnce } from './atomicFile.ts';
import { LedgerError } from './errors.ts';

const SECRET_BYTES = 32;

/**
 * Where the simulated platform keeps its secret: `$CONCLAVE_PLATFORM_SECRET_FILE`, else
 * `~/.conclave/platform-secret`. The enclave finds it itself, as a real TEE derives its
 * key from the hardware: the path never travels in a message from the host. The
 * environment stands in for the platform (a worker thread sees a copy of the process's
 * environment taken when it starts). The default lies outside any data directory, so
 * copying a data directory to another machine does not carry the secret.
 */
export function platformSecretFile(): string {
  return process.env.CONCLAVE_PLATFORM_SECRET_FILE || path.join(os.homedir(), '.conclave', 'platform-secret');
}

/**
 * Loads the simulated platform secret (what a real TEE derives from its fused
 * hardware key), creating 32 random bytes with mode 0600 on first use.
 * Safe against concurrent first use: exactly one creator wins, the others read its file.
 * @throws LedgerError if the file is readable or writable by group or others (as ssh
 *   refuses an unprotected private key), is not a regular file, or has the wrong size.
 */
export function loadPlatformSecret(file: string = platformSecretFile()): Buffer {
  if (!fs.existsSync(file)) {
    mkdirDurable(path.dirname(file), 0o700);
    writeFileOnce(file, randomBytes(SECRET_BYTES), 0o600); // false = someone else created it first; read theirs
  }
  // Mode and contents from one open file, so the file checked is the file read.
  const fd = fs.openSync(file, 'r');
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new LedgerError(`platform secret ${file} is not a regular file`);
    const mode = stat.mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new LedgerError(
        `UNPROTECTED PLATFORM SECRET FILE: permissions 0${mode.toString(8)} for '${file}' are too open; ` +
          `it must not be accessible by group or others. Run: chmod 600 '${file}'`,
      );
    }
    const secret = Buffer.alloc(SECRET_BYTES + 1);
    const n = fs.readSync(fd, secret, 0, secret.length, 0);
    if (n !== SECRET_BYTES) throw new LedgerError(`platform secret ${file} has ${stat.size} bytes, expected ${SECRET_BYTES}`);
    return secret.subarray(0, SECRET_BYTES);
  } finally {
    fs.closeSync(fd);
  }
}
