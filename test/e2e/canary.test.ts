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
import {
  addressNeedles,
  ascii,
  assertNoPlaintext,
  codeNeedles,
  describeHits,
  hashNeedles,
  hexBytes,
  numberNeedles,
  randomCanaryNumber,
  randomCanaryString,
  scan,
  stringNeedles,
  type Needle,
} from '../helpers/canaryScan.ts';

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
      { name: 'format marker', bytes: ascii('conclave-data 3\n') },
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
