import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileOnce } from './atomicFile.ts';
import { LedgerError } from './errors.ts';

const SECRET_BYTES = 32;

/** Default location: outside any data directory, so copying a data dir to another machine does not carry the secret. */
function defaultSecretFile(): string {
  return process.env.CONCLAVE_PLATFORM_SECRET_FILE ?? path.join(os.homedir(), '.conclave', 'platform-secret');
}

/**
 * Loads the simulated platform secret (what a real TEE derives from its fused
 * hardware key), creating 32 random bytes with mode 0600 on first use.
 * Default path: `$CONCLAVE_PLATFORM_SECRET_FILE` or `~/.conclave/platform-secret`.
 * Safe against concurrent first use: exactly one creator wins, the others read its file.
 */
export function loadPlatformSecret(file: string = defaultSecretFile()): Buffer {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileOnce(file, randomBytes(SECRET_BYTES), 0o600); // false = someone else created it first; read theirs
  }
  const secret = fs.readFileSync(file);
  if (secret.length !== SECRET_BYTES) {
    throw new LedgerError(`platform secret ${file} has ${secret.length} bytes, expected ${SECRET_BYTES}`);
  }
  return secret;
}
