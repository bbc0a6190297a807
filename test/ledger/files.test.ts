/**
 * The node's files at rest: owner-only modes (files 0600, data directory 0700), the
 * platform secret refused when others can read it, and `reset` removing only the
 * node's own files.
 */
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger } from '../../runtime/ledger/Ledger.ts';
import { loadPlatformSecret } from '../../runtime/ledger/platformSecret.ts';
import { DEFAULT_ENCLAVE_LIMITS } from '../../runtime/boundary/limits.ts';
import { EnclaveReplyError, startEnclave } from '../../runtime/boundary/startEnclave.ts';
import type { EnclaveConfig } from '../../runtime/boundary/messages.ts';
import { DEV_MNEMONIC } from '../../node/startNode.ts';
import { withPlatformSecretFile } from '../helpers/node.ts';

const skip = process.platform === 'win32' ? 'POSIX file modes' : false;

const tmpDirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'conclave-files-'));
  tmpDirs.push(d);
  return d;
}
afterEach(() => {
  while (tmpDirs.length) fs.rmSync(tmpDirs.pop()!, { recursive: true, force: true });
});

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;
const block = (seq: number) => ({ firstBlock: seq, lastBlock: seq, payload: Buffer.from(`block ${seq}`), blocks: [{ number: seq, hash: Buffer.alloc(32, seq), txHashes: [], logKeys: [] }] });

/** Opens a ledger in `dir` and writes a block, so that the -wal and -shm files exist. */
function writeLedger(dir: string, secret: Buffer): void {
  const l = Ledger.open(dir, { platformSecret: secret, create: true });
  l.bind({ genesis: '0x00', params: {}, committed: true });
  l.append(block(0));
  assert.ok(fs.existsSync(path.join(dir, 'conclave.db-wal')), 'the WAL exists while open');
  assert.ok(fs.existsSync(path.join(dir, 'conclave.db-shm')), 'the shared memory file exists while open');
  checkModes(dir);
  l.close();
}

function checkModes(dir: string): void {
  assert.equal(modeOf(dir), 0o700, 'data directory');
  const files = fs.readdirSync(dir);
  for (const name of ['conclave.db', 'sealed-storage.key', 'FORMAT']) assert.ok(files.includes(name), name);
  for (const name of files.filter((n) => n !== 'notes.txt')) assert.equal(modeOf(path.join(dir, name)), 0o600, `${name}: 0${modeOf(path.join(dir, name)).toString(8)}`);
}

describe('file modes', { skip }, () => {
  test('a new data directory is 0700 and every file in it 0600, under a permissive umask too', () => {
    const root = tmp();
    const secret = loadPlatformSecret(path.join(root, 'platform-secret'));
    assert.equal(modeOf(path.join(root, 'platform-secret')), 0o600);
    const saved = process.umask(0o022);
    try {
      writeLedger(path.join(root, 'data'), secret);
      writeLedger(path.join(root, 'nested', 'deeper', 'data'), secret);
    } finally {
      process.umask(saved);
    }
    assert.equal(modeOf(path.join(root, 'nested', 'deeper')), 0o700);
  });

  test('files an older version wrote 0644 are tightened at open', () => {
    const root = tmp();
    const dir = path.join(root, 'data');
    const secret = loadPlatformSecret(path.join(root, 'platform-secret'));
    writeLedger(dir, secret);
    for (const name of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, name), 0o644);
    fs.chmodSync(dir, 0o755);
    Ledger.open(dir, { platformSecret: secret, create: false }).close();
    checkModes(dir);
  });

  test('an existing empty directory with a looser mode is tightened to 0700', () => {
    const root = tmp();
    const dir = path.join(root, 'data');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    writeLedger(dir, loadPlatformSecret(path.join(root, 'platform-secret')));
  });

  test('a looser directory holding files that are not the node\'s is refused, and left as it was', () => {
    const root = tmp();
    const dir = path.join(root, 'shared');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const secret = loadPlatformSecret(path.join(root, 'platform-secret'));
    assert.throws(
      () => Ledger.open(dir, { platformSecret: secret, create: true }),
      (err: Error) => {
        assert.match(err.message, /has permissions 0755 and holds files that are not Conclave's \(notes\.txt\)/);
        assert.match(err.message, /chmod 700/);
        return true;
      },
    );
    assert.equal(modeOf(dir), 0o755);
    assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
    // Made private by its owner, it is used as it is.
    fs.chmodSync(dir, 0o700);
    writeLedger(dir, secret);
    assert.ok(fs.existsSync(path.join(dir, 'notes.txt')));
  });
});

describe('platform secret file', { skip }, () => {
  test('readable or writable by group or others: refused, naming the file, its mode and chmod 600', () => {
    const file = path.join(tmp(), 'platform-secret');
    const secret = loadPlatformSecret(file);
    for (const mode of [0o640, 0o604, 0o620, 0o602, 0o644, 0o660, 0o666]) {
      fs.chmodSync(file, mode);
      assert.throws(
        () => loadPlatformSecret(file),
        (err: Error) => {
          assert.match(err.message, /UNPROTECTED PLATFORM SECRET FILE/);
          assert.ok(err.message.includes(`0${mode.toString(8)}`), err.message);
          assert.ok(err.message.includes(file), err.message);
          assert.ok(err.message.includes(`chmod 600 '${file}'`), err.message);
          return true;
        },
      );
    }
    for (const mode of [0o600, 0o400]) {
      fs.chmodSync(file, mode);
      assert.deepEqual(loadPlatformSecret(file), secret);
    }
  });

  test('not a regular file, or the wrong size: refused', () => {
    const root = tmp();
    const dir = path.join(root, 'a-directory');
    fs.mkdirSync(dir, { mode: 0o700 });
    assert.throws(() => loadPlatformSecret(dir), /is not a regular file/);
    const short = path.join(root, 'short');
    fs.writeFileSync(short, Buffer.alloc(31), { mode: 0o600 });
    assert.throws(() => loadPlatformSecret(short), /has 31 bytes, expected 32/);
  });
});

describe('reset', () => {
  test('Ledger.remove takes the node\'s own files and temp files, nothing else, and follows no link', () => {
    const root = tmp();
    const dir = path.join(root, 'data');
    writeLedger(dir, loadPlatformSecret(path.join(root, 'platform-secret')));
    const outside = path.join(root, 'outside.txt');
    fs.writeFileSync(outside, 'keep');
    fs.writeFileSync(path.join(dir, '.FORMAT.0123456789ab.tmp'), 'left by a crash');
    fs.writeFileSync(path.join(dir, 'conclave.db-wal'), 'stale');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not ours');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'conclave.db'), 'not ours either');
    fs.symlinkSync(outside, path.join(dir, 'conclave.db-shm'));
    Ledger.remove(dir);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['notes.txt', 'sub']);
    assert.equal(fs.readFileSync(outside, 'utf8'), 'keep');
    assert.equal(fs.readFileSync(path.join(dir, 'sub', 'conclave.db'), 'utf8'), 'not ours either');
    Ledger.remove(path.join(root, 'missing')); // nothing to do
  });

  test('init with reset through the enclave: a new chain, the other files kept', async (t) => {
    const root = tmp();
    const dataDir = path.join(root, 'data');
    const config: EnclaveConfig = {
      dataDir,
      chainId: 31337n,
      reset: false,
      devMnemonic: DEV_MNEMONIC,
      devAccounts: 1,
      devBalance: 10n ** 18n,
      blockGasLimit: 30_000_000n,
      limits: DEFAULT_ENCLAVE_LIMITS,
    };
    const secretFile = path.join(root, 'platform-secret');
    const run = async (c: EnclaveConfig) => {
      const enclave = withPlatformSecretFile(secretFile, () => startEnclave());
      t.after(() => enclave.terminate());
      try {
        return await enclave.request({ type: 'init', config: c });
      } finally {
        await enclave.request({ type: 'shutdown' }).catch(() => {});
        await enclave.terminate(5_000);
      }
    };
    await run(config);
    fs.writeFileSync(path.join(dataDir, 'notes.txt'), 'not ours');
    // Started under another chain id, the data is refused; with reset, it starts over.
    await assert.rejects(run({ ...config, chainId: 5n }), (err: unknown) => err instanceof EnclaveReplyError && /holds chain 31337/.test(err.message));
    const again = await run({ ...config, chainId: 5n, reset: true });
    assert.equal(again.chainId, 5n);
    assert.equal(again.head, 0n);
    assert.equal(fs.readFileSync(path.join(dataDir, 'notes.txt'), 'utf8'), 'not ours');
    assert.ok(fs.existsSync(secretFile), 'the platform secret is not the data directory\'s to remove');
  });

  test('the enclave finds its platform secret from its environment, and refuses an unprotected one', { skip }, async (t) => {
    const root = tmp();
    const secretFile = path.join(root, 'platform-secret');
    loadPlatformSecret(secretFile);
    fs.chmodSync(secretFile, 0o644);
    const enclave = withPlatformSecretFile(secretFile, () => startEnclave());
    t.after(() => enclave.terminate());
    const err = await enclave
      .request({
        type: 'init',
        config: {
          dataDir: path.join(root, 'data'),
          chainId: 31337n,
          reset: false,
          devMnemonic: DEV_MNEMONIC,
          devAccounts: 1,
          devBalance: 1n,
          blockGasLimit: 30_000_000n,
          limits: DEFAULT_ENCLAVE_LIMITS,
        },
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof EnclaveReplyError, String(err));
    assert.match(err.message, /UNPROTECTED PLATFORM SECRET FILE: permissions 0644/);
    assert.ok(err.message.includes(`chmod 600 '${secretFile}'`));
    assert.equal(fs.existsSync(path.join(root, 'data')), false, 'nothing was created');
  });
});

describe('directory durability', { skip: process.platform === 'linux' ? false : 'names fsynced descriptors through /proc/self/fd' }, () => {
  /** The directories (and files) `fn` fsyncs through node:fs, by their paths. */
  function fsynced(fn: () => void): string[] {
    const synced: string[] = [];
    const real = fs.fsyncSync;
    fs.fsyncSync = (fd: number) => {
      synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
      real(fd);
    };
    try {
      fn();
    } finally {
      fs.fsyncSync = real;
    }
    return synced;
  }

  test('the parent of every directory created for the platform secret or the data is fsynced', () => {
    const root = fs.realpathSync(tmp());
    let secret: Buffer = Buffer.alloc(0);
    const synced = fsynced(() => {
      secret = loadPlatformSecret(path.join(root, 'home', '.conclave', 'platform-secret'));
      Ledger.open(path.join(root, 'a', 'b', 'data'), { platformSecret: secret, create: true }).close();
    });
    for (const dir of [root, path.join(root, 'home'), path.join(root, 'a'), path.join(root, 'a', 'b')]) {
      assert.ok(synced.includes(dir), `${dir} fsynced after a directory was created in it (${synced.join(', ')})`);
    }
    assert.ok(synced.includes(path.join(root, 'home', '.conclave')), 'and the key file\'s directory after it was linked');

    // Nothing new to create: no parent is synced again.
    const again = fsynced(() => loadPlatformSecret(path.join(root, 'home', '.conclave', 'platform-secret')));
    assert.deepEqual(again, []);
  });
});
