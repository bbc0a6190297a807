/**
 * Encryption at rest, end to end: a real node process, driven by ethers, stores
 * distinctive values (a string, a number, fresh addresses, contract code); then every
 * byte of every file under the data directory is searched for them in every encoding
 * we could think of. Scans happen while the node runs (the -wal and -shm files exist
 * then), after a clean SIGTERM (shutdown snapshot written, WAL checkpointed into the
 * main file) and after a SIGKILL (WAL left behind as a crash leaves it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { ethers } from 'ethers';
import { loadArtifact } from '../../contracts/artifacts.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, spawnNode, tempHome, type NodeProcess } from '../helpers/node.ts';

// ---------------------------------------------------------------------------------------
// The scanner

interface Needle {
  name: string;
  bytes: Buffer;
}

interface Hit {
  needle: string;
  file: string;
  offset: number;
}

/** Every regular file under `dir`, recursively, dotfiles included. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
    else out.push(full); // sockets, symlinks, fifos: read below, and reported if unreadable
  }
  return out.sort();
}

/** All occurrences of every needle in every file under `dir`; also returns what was scanned. */
function scan(dir: string, needles: Needle[]): { hits: Hit[]; files: Map<string, number> } {
  for (const n of needles) {
    // Short needles could match random ciphertext by chance; every needle here is >= 8 bytes.
    assert.ok(n.bytes.length >= 8, `needle "${n.name}" is too short (${n.bytes.length} bytes) to be meaningful`);
  }
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
    for (const n of needles) {
      for (let at = data.indexOf(n.bytes); at !== -1; at = data.indexOf(n.bytes, at + 1)) {
        hits.push({ needle: n.name, file: rel, offset: at });
      }
    }
  }
  return { hits, files };
}

function describeHits(hits: Hit[]): string {
  return hits.map((h) => `  needle "${h.needle}" found in ${h.file} at offset ${h.offset}`).join('\n');
}

/** Scans `dir` and fails with every match listed. Returns the files scanned (relative path -> size). */
function assertNoPlaintext(dir: string, needles: Needle[], when: string): Map<string, number> {
  const { hits, files } = scan(dir, needles);
  assert.ok(files.size > 0, `${when}: nothing to scan in ${dir}`);
  assert.equal(
    hits.length,
    0,
    `${when}: plaintext found on disk (${hits.length} matches; files scanned: ${[...files].map(([f, n]) => `${f} (${n} B)`).join(', ')}):\n${describeHits(hits)}`,
  );
  return files;
}

const hexBytes = (hex: string): Buffer => Buffer.from(hex.replace(/^0x/, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'utf8');

/** A string in every encoding: utf8, and the hex of its utf8 in lower and upper case, plus 32-byte storage chunks. */
function stringNeedles(label: string, s: string): Needle[] {
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
function numberNeedles(label: string, n: bigint): Needle[] {
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
function addressNeedles(label: string, address: string): Needle[] {
  const lower = address.toLowerCase().slice(2);
  return [
    { name: `${label} (raw 20 bytes)`, bytes: hexBytes(lower) },
    { name: `${label} (hex ascii, lower)`, bytes: ascii(lower) },
    { name: `${label} (hex ascii, checksummed)`, bytes: ascii(ethers.getAddress(address).slice(2)) },
    { name: `${label} (hex ascii, upper)`, bytes: ascii(lower.toUpperCase()) },
  ];
}

/** Raw 32 bytes (tx hash, block hash) and its hex ascii. */
function hashNeedles(label: string, hash: string): Needle[] {
  return [
    { name: `${label} (raw 32 bytes)`, bytes: hexBytes(hash) },
    { name: `${label} (hex ascii)`, bytes: ascii(hash.slice(2).toLowerCase()) },
  ];
}

/** Runtime bytecode: the whole blob, and 32-byte windows spread over it (a whole-blob match could be missed). */
function codeNeedles(label: string, code: string): Needle[] {
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

function randomCanaryString(): string {
  return 'CONCLAVE-CANARY-' + randomBytes(12).toString('hex'); // 40 bytes: a long string over two slots
}

/** A random 64-bit value with its top bit set, so its minimal encoding is exactly 8 bytes. */
function randomCanaryNumber(): bigint {
  return BigInt('0x' + randomBytes(8).toString('hex')) | (1n << 63n);
}

// ---------------------------------------------------------------------------------------

test('the scanner finds needles planted in a scratch directory (guards against a vacuous pass)', () => {
  const home = tempHome('conclave-scan-');
  try {
    const nested = path.join(home.dir, 'a', 'b');
    fs.mkdirSync(nested, { recursive: true });
    const s = randomCanaryString();
    const n = randomCanaryNumber();
    const addr = ethers.Wallet.createRandom().address;
    const code = loadArtifact('Canary').deployedBytecode;
    const needles = [...stringNeedles('string', s), ...numberNeedles('number', n), ...addressNeedles('address', addr), ...codeNeedles('code', code)];

    // Noise with needles at known offsets, in a nested dotfile and a plain file.
    const noise = randomBytes(4096);
    const word = hexBytes(n.toString(16).padStart(64, '0'));
    word.copy(noise, 1000);
    hexBytes(addr).copy(noise, 3001);
    fs.writeFileSync(path.join(nested, '.hidden-wal'), noise);
    fs.writeFileSync(path.join(home.dir, 'plain'), Buffer.concat([randomBytes(7), ascii(ethers.getAddress(addr).slice(2)), ascii(s.toUpperCase()), ascii(s)]));
    const mid = hexBytes(code).subarray(500, 700);
    fs.writeFileSync(path.join(home.dir, 'code-part'), Buffer.concat([randomBytes(3), mid]));

    const { hits, files } = scan(home.dir, needles);
    assert.equal(files.size, 3);
    const found = (name: string, file: string, offset?: number) =>
      hits.some((h) => h.needle === name && h.file === file && (offset === undefined || h.offset === offset));
    const hidden = path.join('a', 'b', '.hidden-wal');
    assert.ok(found('number (32-byte big-endian)', hidden, 1000), describeHits(hits));
    assert.ok(found('number (minimal big-endian)', hidden, 1024), describeHits(hits));
    assert.ok(found('address (raw 20 bytes)', hidden, 3001), describeHits(hits));
    assert.ok(found('address (hex ascii, checksummed)', 'plain', 7), describeHits(hits));
    assert.ok(found('string (utf8)', 'plain', 7 + 40 + s.length), describeHits(hits));
    assert.ok(found('string (storage chunk at 0)', 'plain'), describeHits(hits));
    assert.ok(!found('string (utf8)', 'plain', 7 + 40), 'matching is case-sensitive');
    // A 200-byte slice of the code holds at least one 32-byte window only if a window
    // starts in [500, 668]; the windows are at fixed fractions, so check against them.
    const codeLen = hexBytes(code).length;
    const windowInSlice = [0.1, 0.25, 0.5, 0.75, 0.9]
      .map((f) => Math.floor((codeLen - 32) * f))
      .find((at) => at >= 500 && at + 32 <= 700);
    if (windowInSlice !== undefined) assert.ok(found(`code (32-byte window at ${windowInSlice})`, 'code-part', 3 + windowInSlice - 500), describeHits(hits));
    assert.ok(!hits.some((h) => h.needle === 'code (whole runtime bytecode)'), 'a partial blob must not match the whole');

    // And the assertion helper fails, naming needle, file and offset.
    assert.throws(() => assertNoPlaintext(home.dir, needles, 'planted'), /needle "address \(raw 20 bytes\)" found in a\/b\/\.hidden-wal at offset 3001/);
  } finally {
    home.cleanup();
  }
});

test('no plaintext of contract data, addresses, values or code anywhere in the data directory', { timeout: 240_000 }, async () => {
  const home = tempHome('conclave-canary-');
  const args = ['--data', home.dataDir, '--platform-secret-file', home.secretFile];
  const nodes: NodeProcess[] = [];
  const providers: ethers.JsonRpcProvider[] = [];
  const connect = (url: string) => {
    // cacheTimeout -1: ethers otherwise shares identical requests made within 250 ms, so a
    // second send right after a fast receipt would reuse the previous "pending" nonce.
    const p = new ethers.JsonRpcProvider(url, 31337, { staticNetwork: true, pollingInterval: 50, batchMaxCount: 1, cacheTimeout: -1 });
    providers.push(p);
    return p;
  };
  try {
    const canary = loadArtifact('Canary');
    const secret1 = randomCanaryString();
    const number1 = randomCanaryNumber();
    const payee = ethers.Wallet.createRandom().address;
    const transferee = ethers.Wallet.createRandom().address;

    // --- first run: deploy, pay through the contract, plain transfer, reads
    let node = await spawnNode(args);
    nodes.push(node);
    let provider = connect(node.url);
    let wallet = new ethers.Wallet(DEV_KEY_0, provider);

    const factory = new ethers.ContractFactory(canary.abi as ethers.InterfaceAbi, canary.bytecode, wallet);
    const deployed = await factory.deploy(secret1, number1);
    const deployTx = deployed.deploymentTransaction()!;
    const deployReceipt = (await deployTx.wait())!;
    assert.equal(deployReceipt.status, 1);
    const contractAddress = await deployed.getAddress();
    let contract = new ethers.Contract(contractAddress, canary.abi as ethers.InterfaceAbi, wallet);

    const payTx = await contract.getFunction('pay')(payee, { value: 1_234_567_890_123_456_789n });
    const payReceipt = (await payTx.wait())!;
    assert.equal(payReceipt.status, 1);
    const transferTx = await wallet.sendTransaction({ to: transferee, value: 987_654_321_987_654_321n });
    const transferReceipt = (await transferTx.wait())!;
    assert.equal(transferReceipt.status, 1);

    // Reads: the values are really stored (else scanning for them would prove nothing).
    const [s, n] = (await contract.getFunction('read')()) as [string, bigint];
    assert.equal(s, secret1);
    assert.equal(n, number1);
    assert.equal(await contract.getFunction('secret')(), secret1);
    assert.equal(await contract.getFunction('number')(), number1);
    assert.equal(BigInt(await provider.getStorage(contractAddress, 1)), number1);
    assert.equal(await provider.getBalance(payee), 1_234_567_890_123_456_789n);
    assert.equal(await provider.getBalance(transferee), 987_654_321_987_654_321n);
    const code = await provider.getCode(contractAddress);
    assert.equal(code, canary.deployedBytecode, 'deployed code equals the artifact runtime bytecode');

    const needles: Needle[] = [
      ...stringNeedles('canary string', secret1),
      ...numberNeedles('canary number', number1),
      ...addressNeedles('payee (fresh address)', payee),
      ...addressNeedles('transferee (fresh address)', transferee),
      ...addressNeedles('Canary contract address', contractAddress),
      ...addressNeedles('sender (dev account 0)', DEV_ADDRESS_0),
      ...codeNeedles('Canary', canary.deployedBytecode),
      ...numberNeedles('paid amount', 1_234_567_890_123_456_789n),
      ...numberNeedles('transferred amount', 987_654_321_987_654_321n),
    ];
    for (const r of [deployReceipt, payReceipt, transferReceipt]) {
      needles.push(...hashNeedles(`tx hash ${r.hash}`, r.hash), ...hashNeedles(`block hash ${r.blockHash}`, r.blockHash));
    }

    // --- scan while running: the WAL holds everything written so far
    let files = assertNoPlaintext(home.dataDir, needles, 'while running');
    assert.ok(files.has('conclave.db-wal') && files.get('conclave.db-wal')! > 0, `the WAL was scanned: ${[...files.keys()]}`);
    assert.ok(files.has('conclave.db-shm'), `the shared-memory file was scanned: ${[...files.keys()]}`);
    assert.ok(files.has('FORMAT') && files.has('sealed-storage.key') && files.has('conclave.db'));
    // Positive control on the real directory: bytes known to be there in plaintext are found.
    const control = scan(home.dataDir, [
      { name: 'format marker', bytes: ascii('conclave-data 2\n') },
      { name: 'sqlite header', bytes: ascii('SQLite format 3\0') },
    ]).hits;
    assert.ok(control.some((h) => h.needle === 'format marker' && h.file === 'FORMAT' && h.offset === 0), describeHits(control));
    assert.ok(control.some((h) => h.needle === 'sqlite header' && h.file === 'conclave.db' && h.offset === 0), describeHits(control));

    // --- clean stop: writes a snapshot and checkpoints the WAL into conclave.db
    assert.equal(await node.kill('SIGTERM'), 0, node.output());
    files = assertNoPlaintext(home.dataDir, needles, 'after SIGTERM');
    assert.ok(files.get('conclave.db')! > 4096, `conclave.db holds the checkpointed data: ${[...files]}`);
    {
      const db = new Database(path.join(home.dataDir, 'conclave.db'), { readonly: true, fileMustExist: true });
      try {
        const head = Number(BigInt(transferReceipt.blockNumber));
        assert.equal(db.prepare('SELECT max(seq) FROM ledger').pluck().get(), head);
        assert.equal(db.prepare('SELECT max(seq) FROM snapshots').pluck().get(), head, 'SIGTERM wrote a snapshot of the head');
      } finally {
        db.close();
      }
    }
    // Checked again after the readonly open (which may itself create -wal/-shm files).
    assertNoPlaintext(home.dataDir, needles, 'after SIGTERM and inspection');

    // --- second run: the encrypted data reads back; new values; then a crash
    node = await spawnNode(args);
    nodes.push(node);
    provider = connect(node.url);
    wallet = new ethers.Wallet(DEV_KEY_0, provider);
    contract = new ethers.Contract(contractAddress, canary.abi as ethers.InterfaceAbi, wallet);
    const [s1, n1] = (await contract.getFunction('read')()) as [string, bigint];
    assert.equal(s1, secret1, 'the canary string survived the restart');
    assert.equal(n1, number1, 'the canary number survived the restart');

    const secret2 = randomCanaryString();
    const number2 = randomCanaryNumber();
    const payee2 = ethers.Wallet.createRandom().address;
    const storeReceipt = (await (await contract.getFunction('store')(secret2, number2)).wait())!;
    assert.equal(storeReceipt.status, 1);
    const pay2Receipt = (await (await contract.getFunction('pay')(payee2, { value: 555_555_555_555_555_555n })).wait())!;
    assert.equal(pay2Receipt.status, 1);
    const [s2, n2] = (await contract.getFunction('read')()) as [string, bigint];
    assert.equal(s2, secret2);
    assert.equal(n2, number2);
    assert.equal(await provider.getBalance(payee2), 555_555_555_555_555_555n);
    needles.push(
      ...stringNeedles('second canary string', secret2),
      ...numberNeedles('second canary number', number2),
      ...addressNeedles('second payee (fresh address)', payee2),
      ...hashNeedles('store tx hash', storeReceipt.hash),
      ...hashNeedles('second pay tx hash', pay2Receipt.hash),
    );
    assertNoPlaintext(home.dataDir, needles, 'second run, while running');

    // kill -9: no shutdown snapshot, no checkpoint; the WAL stays as a crash leaves it.
    await node.kill('SIGKILL');
    files = assertNoPlaintext(home.dataDir, needles, 'after SIGKILL');
    assert.ok(files.has('conclave.db-wal') && files.get('conclave.db-wal')! > 0, `the WAL left by the crash was scanned: ${[...files.keys()]}`);
  } finally {
    for (const p of providers) p.destroy();
    for (const n of nodes) await n.kill('SIGKILL');
    home.cleanup();
  }
});
