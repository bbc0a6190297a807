/**
 * The host/enclave boundary: (a) the host (node/) reaches runtime/ only through
 * runtime/boundary/; (b) the enclave's check of inbound messages; (c) the real enclave
 * worker answers malformed requests with an error and keeps serving.
 */
import { test } from 'node:test';
import { DEFAULT_ENCLAVE_LIMITS } from '../../runtime/boundary/limits.ts';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { checkInbound, isHostToEnclave } from '../../runtime/boundary/validate.ts';
import { EnclaveReplyError, startEnclave } from '../../runtime/boundary/startEnclave.ts';
import type { EnclaveConfig } from '../../runtime/boundary/messages.ts';
import { ROOT, tempHome } from '../helpers/node.ts';

// ---------------------------------------------------------------------------------------
// (a) node/ imports runtime/ only through runtime/boundary/
// ---------------------------------------------------------------------------------------

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(full));
    else if (entry.isFile() && /\.(c|m)?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/**
 * Every module specifier a file refers to: static imports, `export … from`, `import type`,
 * dynamic `import()`, `require()`, and `new URL('…', import.meta.url)` (how a worker entry
 * is named). Comments and strings elsewhere are ignored (TypeScript's own pre-processor).
 */
function specifiersOf(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  const specs = info.importedFiles.map((f) => f.fileName);
  for (const m of text.matchAll(/new\s+URL\(\s*(['"`])([^'"`]+)\1\s*,\s*import\.meta\.url\s*\)/g)) specs.push(m[2]!);
  return specs;
}

/** The repo-relative path a specifier in `fromFile` resolves to, or undefined for packages. */
function resolveSpecifier(fromFile: string, spec: string): string | undefined {
  let target: string;
  if (spec.startsWith('file://')) target = new URL(spec).pathname;
  else if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') target = path.resolve(path.dirname(fromFile), spec);
  else if (path.isAbsolute(spec)) target = spec;
  else return undefined; // a package
  return path.relative(ROOT, target).split(path.sep).join('/');
}

/** Why importing `spec` from `fromFile` crosses the boundary, or undefined if it does not. */
function violation(fromFile: string, spec: string): string | undefined {
  const target = resolveSpecifier(fromFile, spec);
  if (target === undefined) return undefined;
  if (target !== 'runtime' && !target.startsWith('runtime/')) return undefined;
  if (target.startsWith('runtime/boundary/')) return undefined;
  return `${path.relative(ROOT, fromFile)} imports ${spec} (${target})`;
}

test('boundary scan: the resolver sees through relative paths', () => {
  const rpcFile = path.join(ROOT, 'node/rpc/methods/eth_call.ts');
  const top = path.join(ROOT, 'node/startNode.ts');
  assert.ok(violation(rpcFile, '../../../runtime/enclave/Enclave.ts'));
  assert.ok(violation(top, '../runtime/state/WorldState.ts'));
  assert.ok(violation(top, '../runtime/chain/../ledger/Ledger.ts'));
  assert.ok(violation(top, '../runtime/boundary/../enclave/reads.ts'), 'a path through boundary/ that leaves it');
  assert.ok(violation(top, '../runtime'));
  assert.ok(violation(top, path.join(ROOT, 'runtime/enclave/worker.ts')));
  assert.equal(violation(rpcFile, '../../../runtime/boundary/messages.ts'), undefined);
  assert.equal(violation(top, '../runtime/boundary/startEnclave.ts'), undefined);
  assert.equal(violation(top, './rpc/server.ts'), undefined);
  assert.equal(violation(top, 'ethers'), undefined);
  assert.equal(violation(top, '../package.json'), undefined);
  // The specifier extraction covers every import form and ignores comments.
  const sample = [
    "import { a } from '../x/a.ts';",
    "import type { B } from \"../x/b.ts\";",
    "export { c } from '../x/c.ts';",
    "export * from '../x/d.ts';",
    "const e = await import('../x/e.ts');",
    "import '../x/f.ts';",
    "const g = new URL('../x/g.ts', import.meta.url);",
    "// import { no } from '../x/commented.ts';",
    "const s = 'not an import from ../x/string.ts';",
  ].join('\n');
  assert.deepEqual(specifiersOf(sample).sort(), ['../x/a.ts', '../x/b.ts', '../x/c.ts', '../x/d.ts', '../x/e.ts', '../x/f.ts', '../x/g.ts']);
});

test('boundary scan: no file under node/ imports runtime/ except runtime/boundary/', () => {
  const files = tsFiles(path.join(ROOT, 'node'));
  assert.ok(files.length > 40, `only ${files.length} files found under node/`);
  const violations: string[] = [];
  let boundaryImports = 0;
  for (const file of files) {
    for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
      const why = violation(file, spec);
      if (why) violations.push(why);
      else if (resolveSpecifier(file, spec)?.startsWith('runtime/boundary/')) boundaryImports++;
    }
  }
  assert.deepEqual(violations, [], `node/ must reach runtime/ only through runtime/boundary/:\n  ${violations.join('\n  ')}`);
  // The scan did see the host's legitimate imports of the boundary.
  assert.ok(boundaryImports >= 3, `only ${boundaryImports} imports of runtime/boundary/ seen`);
});

// ---------------------------------------------------------------------------------------
// (b) checkInbound
// ---------------------------------------------------------------------------------------

const bytes = (n: number) => new Uint8Array(n).fill(1);
const goodConfig: EnclaveConfig = {
  dataDir: '/tmp/x',
  chainId: 31337n,
  reset: false,
  devMnemonic: 'test test test test test test test test test test test junk',
  devAccounts: 1,
  devBalance: 1n,
  blockGasLimit: 30_000_000n,
  limits: DEFAULT_ENCLAVE_LIMITS,
};

test('checkInbound: well-formed messages pass', () => {
  const good: unknown[] = [
    { type: 'init', id: 1, config: goodConfig },
    { type: 'submit', id: 2, raw: bytes(10) },
    { type: 'sendTransaction', id: 3, caller: new Uint8Array(), request: { from: '0x' + '00'.repeat(20) } },
    { type: 'order', id: 4, entries: [] },
    {
      type: 'order',
      id: 5,
      entries: [
        { kind: 'tx', envelope: bytes(60) },
        { kind: 'cut', timestamp: Date.now(), allowEmpty: false },
      ],
    },
    { type: 'read', id: 6, caller: new Uint8Array(), query: { kind: 'blockNumber' } },
    { type: 'sign', id: 7, caller: new Uint8Array(), request: { kind: 'message', address: '0x' + '00'.repeat(20), message: bytes(3) } },
    { type: 'shutdown', id: 0 },
  ];
  for (const m of good) {
    assert.equal(checkInbound(m), undefined, JSON.stringify(m, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    assert.equal(isHostToEnclave(m), true);
  }
});

test('checkInbound: malformed messages get a reason', () => {
  const bad: [string, unknown, RegExp][] = [
    ['null', null, /not an object/],
    ['a string', 'read', /not an object/],
    ['a number', 42, /not an object/],
    ['an array', [{ type: 'shutdown', id: 1 }], /not an object/],
    ['missing id', { type: 'shutdown' }, /id/],
    ['string id', { type: 'shutdown', id: '1' }, /id/],
    ['fractional id', { type: 'shutdown', id: 1.5 }, /id/],
    ['NaN id', { type: 'shutdown', id: NaN }, /id/],
    ['unknown type', { type: 'nonsense', id: 1 }, /unknown message type/],
    ['missing type', { id: 1 }, /unknown message type/],
    ['init without config', { type: 'init', id: 1 }, /init/],
    ['init with a number chainId', { type: 'init', id: 1, config: { ...goodConfig, chainId: 31337 } }, /init/],
    ['submit without bytes', { type: 'submit', id: 1 }, /submit/],
    ['submit with empty bytes', { type: 'submit', id: 1, raw: new Uint8Array() }, /submit/],
    ['submit with a hex string', { type: 'submit', id: 1, raw: '0x01' }, /submit/],
    ['sendTransaction without request', { type: 'sendTransaction', id: 1, caller: new Uint8Array() }, /sendTransaction/],
    ['order without entries', { type: 'order', id: 1 }, /order/],
    ['order with a non-array', { type: 'order', id: 1, entries: { kind: 'cut' } }, /order/],
    ['order with an unknown entry', { type: 'order', id: 1, entries: [{ kind: 'other' }] }, /order/],
    ['order with a bad envelope', { type: 'order', id: 1, entries: [{ kind: 'tx', envelope: 'abc' }] }, /order/],
    ['order with a short envelope', { type: 'order', id: 1, entries: [{ kind: 'tx', envelope: bytes(28) }] }, /order/],
    ['order with a bad cut', { type: 'order', id: 1, entries: [{ kind: 'cut', timestamp: Infinity, allowEmpty: true }] }, /order/],
    ['order with a cut missing allowEmpty', { type: 'order', id: 1, entries: [{ kind: 'cut', timestamp: 1 }] }, /order/],
    ['order with one bad entry among good ones', { type: 'order', id: 1, entries: [{ kind: 'cut', timestamp: 1, allowEmpty: true }, null] }, /order/],
    ['read with a string caller', { type: 'read', id: 1, caller: 'not bytes', query: { kind: 'blockNumber' } }, /read/],
    ['read without query kind', { type: 'read', id: 1, caller: new Uint8Array(), query: {} }, /read/],
    ['sign without address', { type: 'sign', id: 1, caller: new Uint8Array(), request: { kind: 'message' } }, /sign/],
  ];
  for (const [label, m, why] of bad) {
    const reason = checkInbound(m);
    assert.equal(typeof reason, 'string', `${label}: should be refused`);
    assert.match(reason!, why, `${label}: ${reason}`);
    assert.equal(isHostToEnclave(m), false);
  }
  // A long type name is cut short in the reason.
  assert.ok(checkInbound({ type: 'x'.repeat(500), id: 1 })!.length < 100);
});

// ---------------------------------------------------------------------------------------
// (c) the real enclave worker
// ---------------------------------------------------------------------------------------

test('enclave worker: malformed requests are refused with invalidParams, and it keeps serving', async (t) => {
  const home = tempHome('conclave-boundary-');
  const enclave = startEnclave();
  t.after(async () => {
    await enclave.terminate();
    home.cleanup();
  });
  let exitCode: number | undefined;
  enclave.onExit((code) => (exitCode = code));

  const refused = async (label: string, message: unknown, reason: RegExp) => {
    const err = await enclave.request(message as never).then(
      (v) => assert.fail(`${label}: answered ${String(v)}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof EnclaveReplyError, `${label}: ${String(err)}`);
    assert.equal(err.error.kind, 'invalidParams', `${label}: ${JSON.stringify(err.error)}`);
    assert.match(err.error.message, reason, label);
  };

  // Before init.
  await refused('read with a string caller', { type: 'read', caller: 'not bytes', query: {} }, /read needs caller and query/);
  await refused('unknown type', { type: 'nonsense' }, /unknown message type/);
  await refused('init without config', { type: 'init' }, /init/);
  // A read that is well-formed but comes before init: an internal error, not a crash.
  const early = await enclave.request({ type: 'read', caller: new Uint8Array(), query: { kind: 'blockNumber' } }).catch((e: unknown) => e);
  assert.ok(early instanceof EnclaveReplyError);
  assert.equal(early.error.kind, 'internal');

  const init = await enclave.request({
    type: 'init',
    config: {
      dataDir: home.dataDir,
      chainId: 31337n,
      reset: false,
      platformSecretFile: home.secretFile,
      devMnemonic: 'test test test test test test test test test test test junk',
      devAccounts: 2,
      devBalance: 10n ** 18n,
      blockGasLimit: 30_000_000n,
      limits: DEFAULT_ENCLAVE_LIMITS,
    },
  });
  assert.equal(init.chainId, 31337n);
  assert.equal(init.head, 0n);
  assert.deepEqual(init.accounts, ['0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', '0x70997970c51812dc3a010c7d01b50e0d17dc79c8']);

  // After init, more malformed requests, interleaved with good ones.
  await refused('submit without bytes', { type: 'submit' }, /submit needs raw bytes/);
  await refused('submit with a string', { type: 'submit', raw: '0x02' }, /submit needs raw bytes/);
  await refused('order with a bad entry', { type: 'order', entries: [{ kind: 'tx', envelope: 7 }] }, /order needs log entries/);
  await refused('sign with a numeric caller', { type: 'sign', caller: 1, request: { kind: 'message', address: init.accounts[0] } }, /sign/);
  await refused('sendTransaction without request', { type: 'sendTransaction', caller: new Uint8Array() }, /sendTransaction/);

  const n = await enclave.request({ type: 'read', caller: new Uint8Array(), query: { kind: 'blockNumber' } });
  assert.equal(n, 0n);
  const balance = await enclave.request({
    type: 'read',
    caller: new Uint8Array(),
    query: { kind: 'balance', address: init.accounts[1]!, block: 'latest' },
  });
  assert.equal(balance, 10n ** 18n);
  // A forged log entry is refused too (it does not authenticate), and the worker lives on.
  const forged = await enclave.request({ type: 'order', entries: [{ kind: 'tx', envelope: bytes(64) }] }).catch((e: unknown) => e);
  assert.ok(forged instanceof EnclaveReplyError);
  assert.equal(forged.error.kind, 'invalidInput');
  assert.equal(await enclave.request({ type: 'read', caller: new Uint8Array(), query: { kind: 'blockNumber' } }), 0n);

  assert.equal(exitCode, undefined, 'the worker did not exit');
  assert.equal(await enclave.request({ type: 'shutdown' }), null);
});
