/**
 * The host/enclave boundary: (a) the host (node/) reaches runtime/ only through
 * runtime/boundary/; (b) the schema of inbound messages, held to messages.ts; (c) the
 * real enclave worker answers malformed messages of every kind with an error, changes
 * nothing, and keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { Wallet } from 'ethers';
import { isPlainObject } from '../../runtime/boundary/checks.ts';
import { DEFAULT_ENCLAVE_LIMITS } from '../../runtime/boundary/limits.ts';
import { checkInbound, checkOrderedEntry, isHostToEnclave, MESSAGE_BOUNDS, SCHEMA_KINDS } from '../../runtime/boundary/validate.ts';
import { EnclaveReplyError, startEnclave } from '../../runtime/boundary/startEnclave.ts';
import type { CallRequest, EnclaveConfig, LogFilter, Query } from '../../runtime/boundary/messages.ts';
import { DEV_MNEMONIC } from '../../node/startNode.ts';
import { DEV_ADDRESS_0, DEV_KEY_0, ROOT, tempHome, withPlatformSecretFile } from '../helpers/node.ts';

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
// (b) the schema of inbound messages
// ---------------------------------------------------------------------------------------

const NOBODY = new Uint8Array();
const A = '0x' + 'ab'.repeat(20);
const H = '0x' + '12'.repeat(32);
const bytes = (n: number) => new Uint8Array(n).fill(1);
const goodConfig: EnclaveConfig = {
  dataDir: '/tmp/x',
  chainId: 31337n,
  reset: false,
  devMnemonic: DEV_MNEMONIC,
  devAccounts: 1,
  devBalance: 1n,
  blockGasLimit: 30_000_000n,
  limits: DEFAULT_ENCLAVE_LIMITS,
};
const fullFilter: LogFilter = { fromBlock: 1n, toBlock: 'latest', addresses: [A], topics: [[H], null, [H, H]] };
const fullCall: CallRequest = {
  from: A,
  to: A,
  gas: 21_000n,
  gasPrice: 1n,
  maxFeePerGas: 2n ** 256n - 1n,
  maxPriorityFeePerGas: 0n,
  value: 1n,
  data: bytes(68),
  nonce: 2n ** 64n - 1n,
  type: 2,
  accessList: [{ address: A, storageKeys: [H] }],
  chainId: 31337n,
};
const read = (query: Query) => ({ type: 'read', id: 1, caller: NOBODY, query });

/**
 * Well-formed examples: at least one per message type and per kind of every union a
 * message carries (the test below reads messages.ts to hold this table to it).
 */
const VALID: unknown[] = [
  { type: 'init', id: 1, config: goodConfig },
  { type: 'init', id: 1, config: { ...goodConfig, dataDir: 'C:\\conclave\\data' } },
  { type: 'submit', id: 2, raw: bytes(MESSAGE_BOUNDS.rawTransaction) },
  { type: 'sendTransaction', id: 3, caller: NOBODY, request: { from: A } },
  { type: 'sendTransaction', id: 3, caller: NOBODY, request: { ...fullCall, data: bytes(MESSAGE_BOUNDS.rawTransaction) } },
  { type: 'order', id: 4, entries: [] },
  {
    type: 'order',
    id: 5,
    entries: [
      { kind: 'tx', envelope: bytes(MESSAGE_BOUNDS.envelope) },
      { kind: 'cut', timestamp: Date.now(), allowEmpty: false },
      { kind: 'dev', ref: 'a1', timestamp: Date.now(), op: { op: 'mine', blocks: 8201n, interval: 1n } },
      { kind: 'dev', ref: 'a2', timestamp: Date.now(), op: { op: 'setStorageAt', address: A, slot: 2n ** 256n - 1n, value: bytes(32) } },
      { kind: 'dev', ref: 'a3', timestamp: Date.now(), op: { op: 'setCode', address: A, code: bytes(MESSAGE_BOUNDS.devCode) } },
    ],
  },
  { type: 'durable', id: 1, number: 2n ** 64n - 1n },
  { type: 'settled', id: 1, hash: H },
  read({ kind: 'blockNumber' }),
  read({ kind: 'balance', address: A, block: 'latest' }),
  read({ kind: 'balance', address: A, block: { hash: H } }),
  read({ kind: 'balance', address: A, block: { hash: H, requireCanonical: true } }),
  read({ kind: 'code', address: A, block: 0n }),
  read({ kind: 'policy', address: A, block: 'latest' }),
  read({ kind: 'storage', address: A, slot: 2n ** 256n - 1n, block: 'pending' }),
  read({ kind: 'nonce', address: A, block: 'safe' }),
  read({ kind: 'call', request: fullCall, block: 'finalized' }),
  read({ kind: 'call', request: { data: bytes(MESSAGE_BOUNDS.callData) }, block: 'latest' }),
  read({ kind: 'estimateGas', request: {}, block: 'earliest' }),
  read({ kind: 'block', block: 2n ** 64n - 1n, fullTransactions: true }),
  read({ kind: 'blockTxCount', block: { hash: H, requireCanonical: false } }),
  read({ kind: 'transaction', hash: H }),
  read({ kind: 'transactionByBlockAndIndex', block: 'latest', index: 0 }),
  read({ kind: 'receipt', hash: H }),
  read({ kind: 'blockReceipts', block: 1n }),
  read({ kind: 'logs', filter: fullFilter }),
  read({ kind: 'logs', filter: { blockHash: H, addresses: [], topics: [] } }),
  read({ kind: 'feeHistory', count: 1024, newest: 'latest', percentiles: [0, 25.5, 100] }),
  read({ kind: 'gasPrice' }),
  read({ kind: 'maxPriorityFee' }),
  read({ kind: 'accounts' }),
  { type: 'sign', id: 7, caller: NOBODY, request: { kind: 'message', address: A, message: bytes(3) } },
  { type: 'sign', id: 7, caller: NOBODY, request: { kind: 'typedData', address: A, typedData: { types: { EIP712Domain: [] }, message: { a: [1, true, null] } } } },
  { type: 'sign', id: 7, caller: NOBODY, request: { kind: 'typedData', address: A, typedData: '{"types":{}}' } },
  { type: 'filter', id: 8, caller: NOBODY, request: { kind: 'newBlocks' } },
  { type: 'filter', id: 8, caller: NOBODY, connection: 3, request: { kind: 'newPending' } },
  { type: 'filter', id: 8, caller: NOBODY, request: { kind: 'newLogs', filter: fullFilter } },
  { type: 'filter', id: 8, caller: NOBODY, request: { kind: 'changes', filterId: '0x1' } },
  { type: 'filter', id: 8, caller: NOBODY, request: { kind: 'logs', filterId: '0xabc' } },
  { type: 'filter', id: 8, caller: NOBODY, request: { kind: 'uninstall', filterId: '0x' + 'f'.repeat(64) } },
  { type: 'subscribe', id: 9, caller: NOBODY, connection: 1, subscription: { kind: 'newHeads' } },
  { type: 'subscribe', id: 9, caller: NOBODY, connection: 1, subscription: { kind: 'newPendingTransactions' } },
  { type: 'subscribe', id: 9, caller: NOBODY, connection: 1, subscription: { kind: 'logs', filter: fullFilter } },
  { type: 'unsubscribe', id: 10, caller: NOBODY, connection: 1, subscriptionId: '0x1' },
  { type: 'session', id: 12, caller: NOBODY, request: { kind: 'nonce' } },
  { type: 'session', id: 12, caller: NOBODY, request: { kind: 'login', message: 'x'.repeat(MESSAGE_BOUNDS.siweMessage), signature: '0x' + 'aB'.repeat(65) } },
  { type: 'session', id: 12, caller: bytes(43), request: { kind: 'logout' } },
  { type: 'connectionClosed', id: 11, connection: 1 },
  { type: 'shutdown', id: 0 },
];

const show = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `<${x.length} bytes>` : x))?.slice(0, 200);

/**
 * Every discriminated union reachable from HostToEnclave in messages.ts, found with the
 * TypeScript checker: for each, its path (`message(read).query`) and the literal values
 * of its `type` or `kind` field.
 */
function inboundKinds(): Map<string, Set<string>> {
  const file = path.join(ROOT, 'runtime/boundary/messages.ts');
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const alias = source.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === 'HostToEnclave');
  assert.ok(alias, 'messages.ts declares HostToEnclave');
  const found = new Map<string, Set<string>>();
  const walk = (type: ts.Type, at: string, depth: number): void => {
    if (depth > 12) return;
    type = checker.getNonNullableType(type);
    if (checker.isArrayType(type)) return walk(checker.getTypeArguments(type as ts.TypeReference)[0]!, `${at}[]`, depth + 1);
    for (const member of type.isUnion() ? type.types : [type]) {
      if (!(member.flags & ts.TypeFlags.Object)) continue;
      // Library types (Uint8Array) carry no message fields.
      if (member.getSymbol()?.declarations?.some((d) => d.getSourceFile().isDeclarationFile)) continue;
      let here = at;
      for (const tag of ['type', 'kind']) {
        const prop = member.getProperty(tag);
        const t = prop && checker.getTypeOfSymbol(prop);
        if (t?.isStringLiteral()) {
          if (!found.has(at)) found.set(at, new Set());
          found.get(at)!.add(t.value);
          here = `${at}(${t.value})`;
          break;
        }
      }
      for (const prop of member.getProperties()) walk(checker.getTypeOfSymbol(prop), `${here}.${prop.name}`, depth + 1);
    }
  };
  walk(checker.getTypeAtLocation(alias.name), 'message', 0);
  return found;
}

/** The same paths and values, as found in an example message. */
function kindsIn(v: unknown, at: string, into: Map<string, Set<string>>): void {
  if (Array.isArray(v)) return v.forEach((item) => kindsIn(item, `${at}[]`, into));
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return;
  const o = v as Record<string, unknown>;
  let here = at;
  const tag = typeof o.type === 'string' ? o.type : typeof o.kind === 'string' ? o.kind : undefined;
  if (tag !== undefined) {
    if (!into.has(at)) into.set(at, new Set());
    into.get(at)!.add(tag);
    here = `${at}(${tag})`;
  }
  for (const [k, x] of Object.entries(o)) kindsIn(x, `${here}.${k}`, into);
}

test('schema: every message type and every kind of every inbound union in messages.ts has a well-formed example the schema takes', () => {
  for (const m of VALID) {
    assert.equal(checkInbound(m), undefined, show(m));
    assert.equal(isHostToEnclave(m), true);
    const entries = (m as { type: string; entries?: unknown[] }).entries ?? [];
    for (const e of entries) assert.equal(checkOrderedEntry(e), undefined, show(e));
  }
  const declared = inboundKinds();
  assert.ok(declared.get('message')!.size >= 9, `message types found: ${[...declared.get('message')!]}`);
  assert.ok(declared.get('message(read).query')!.size >= 18);
  const covered = new Map<string, Set<string>>();
  for (const m of VALID) kindsIn(m, 'message', covered);
  const missing: string[] = [];
  for (const [at, kinds] of declared) for (const kind of kinds) if (!covered.get(at)?.has(kind)) missing.push(`${at}: ${kind}`);
  assert.deepEqual(missing, [], `kinds in messages.ts without a schema entry and an example here:\n  ${missing.join('\n  ')}`);
  // The schema's tables name exactly the declared kinds and budgets.
  assert.deepEqual([...SCHEMA_KINDS.messages].sort(), [...declared.get('message')!].sort());
  assert.deepEqual([...SCHEMA_KINDS.queries].sort(), [...declared.get('message(read).query')!].sort());
  assert.deepEqual([...SCHEMA_KINDS.limits].sort(), Object.keys(DEFAULT_ENCLAVE_LIMITS).sort());
});

/** [label, message, the reason expected (field and why)]. */
const MALFORMED: [string, unknown, RegExp][] = [
  ['null', null, /^message is not an object$/],
  ['a string', 'read', /not an object/],
  ['an array', [{ type: 'shutdown', id: 1 }], /not an object/],
  ['a class instance', new Date(), /not an object/],
  ['missing id', { type: 'shutdown' }, /id must be an integer/],
  ['string id', { type: 'shutdown', id: '1' }, /id/],
  ['fractional id', { type: 'shutdown', id: 1.5 }, /id/],
  ['unknown type', { type: 'nonsense', id: 1 }, /unknown message type "nonsense"/],
  ['missing type', { id: 1 }, /unknown message type/],
  ['inherited type name', { type: 'toString', id: 1 }, /unknown message type/],
  ['an extra field', { type: 'shutdown', id: 1, now: true }, /^shutdown\.now: unknown field$/],
  // init
  ['init without config', { type: 'init', id: 1 }, /^init\.config: missing$/],
  ['init naming a platform secret file', { type: 'init', id: 1, config: { ...goodConfig, platformSecretFile: '/etc/shadow' } }, /^init\.config\.platformSecretFile: unknown field$/],
  ['init with a relative data dir', { type: 'init', id: 1, config: { ...goodConfig, dataDir: 'data' } }, /^init\.config\.dataDir: absolute path expected$/],
  ['init with a huge data dir', { type: 'init', id: 1, config: { ...goodConfig, dataDir: '/' + 'x'.repeat(5000) } }, /^init\.config\.dataDir: 5001 characters, at most 4096 allowed$/],
  ['init with a number chainId', { type: 'init', id: 1, config: { ...goodConfig, chainId: 31337 } }, /^init\.config\.chainId: bigint expected$/],
  ['init with chainId 0', { type: 'init', id: 1, config: { ...goodConfig, chainId: 0n } }, /^init\.config\.chainId: 0 is out of range 1\.\./],
  ['init with a string reset', { type: 'init', id: 1, config: { ...goodConfig, reset: 'yes' } }, /^init\.config\.reset: boolean expected$/],
  ['init with too many dev accounts', { type: 'init', id: 1, config: { ...goodConfig, devAccounts: 1e6 } }, /^init\.config\.devAccounts: 1000000 is out of range 0\.\.1000$/],
  ['init with a negative balance', { type: 'init', id: 1, config: { ...goodConfig, devBalance: -1n } }, /^init\.config\.devBalance: -1 is out of range/],
  ['init without limits', { type: 'init', id: 1, config: { ...goodConfig, limits: undefined } }, /^init\.config\.limits: object expected$/],
  ['init with a limit missing', { type: 'init', id: 1, config: { ...goodConfig, limits: { ...DEFAULT_ENCLAVE_LIMITS, poolSlots: undefined } } }, /^init\.config\.limits\.poolSlots: integer expected$/],
  ['init with a negative limit', { type: 'init', id: 1, config: { ...goodConfig, limits: { ...DEFAULT_ENCLAVE_LIMITS, logsBlockRange: -1 } } }, /^init\.config\.limits\.logsBlockRange: -1 is out of range/],
  ['init with a limit above the message bound', { type: 'init', id: 1, config: { ...goodConfig, limits: { ...DEFAULT_ENCLAVE_LIMITS, filterMaxCriteria: MESSAGE_BOUNDS.filterCriteria + 1 } } }, /^init\.config\.limits\.filterMaxCriteria: 100001 is out of range 1\.\.100000$/],
  ['init with a number gas cap', { type: 'init', id: 1, config: { ...goodConfig, limits: { ...DEFAULT_ENCLAVE_LIMITS, rpcGasCap: 50_000_000 } } }, /^init\.config\.limits\.rpcGasCap: bigint expected$/],
  // submit
  ['submit without bytes', { type: 'submit', id: 1 }, /^submit\.raw: missing$/],
  ['submit with empty bytes', { type: 'submit', id: 1, raw: new Uint8Array() }, /^submit\.raw: 0 bytes, at least 1 needed$/],
  ['submit with a hex string', { type: 'submit', id: 1, raw: '0x01' }, /^submit\.raw: bytes expected$/],
  ['submit over 128 KiB', { type: 'submit', id: 1, raw: bytes(128 * 1024 + 1) }, /^submit\.raw: 131073 bytes, at most 131072 allowed$/],
  // sendTransaction
  ['sendTransaction without request', { type: 'sendTransaction', id: 1, caller: NOBODY }, /^sendTransaction\.request: missing$/],
  ['sendTransaction with a string caller', { type: 'sendTransaction', id: 1, caller: 'me', request: {} }, /^sendTransaction\.caller: bytes expected$/],
  ['sendTransaction with a checksummed address', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: '0x' + 'AB'.repeat(20) } }, /^sendTransaction\.request\.from: address expected \(0x and 40 lowercase hex digits\)$/],
  ['sendTransaction with a short to', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, to: '0x1234' } }, /^sendTransaction\.request\.to: address expected/],
  ['sendTransaction with a negative value', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, value: -1n } }, /^sendTransaction\.request\.value: -1 is out of range/],
  ['sendTransaction with a value of 2^256', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, value: 2n ** 256n } }, /^sendTransaction\.request\.value: \d+ is out of range/],
  ['sendTransaction with a number gas', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, gas: 21000 } }, /^sendTransaction\.request\.gas: bigint expected$/],
  ['sendTransaction with a nonce of 2^64', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, nonce: 2n ** 64n } }, /^sendTransaction\.request\.nonce: /],
  ['sendTransaction with type 128', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, type: 128 } }, /^sendTransaction\.request\.type: 128 is out of range 0\.\.127$/],
  ['sendTransaction with data over 128 KiB', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, data: bytes(128 * 1024 + 1) } }, /^sendTransaction\.request\.data: 131073 bytes, at most 131072 allowed$/],
  ['sendTransaction with hex data', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, data: '0x00' } }, /^sendTransaction\.request\.data: bytes expected$/],
  ['sendTransaction with a bad access-list key', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, accessList: [{ address: A, storageKeys: [H, '0x1'] }] } }, /^sendTransaction\.request\.accessList\[0\]\.storageKeys\[1\]: hash expected/],
  ['sendTransaction with too long an access list', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, accessList: Array.from({ length: 8193 }, () => ({ address: A, storageKeys: [H] })) } }, /^sendTransaction\.request\.accessList: 16386 entries and storage keys, at most 16384 allowed$/],
  ['sendTransaction with an unknown field', { type: 'sendTransaction', id: 1, caller: NOBODY, request: { from: A, input: '0x' } }, /^sendTransaction\.request\.input: unknown field$/],
  ['sendTransaction with an oversized credential', { type: 'sendTransaction', id: 1, caller: bytes(64 * 1024 + 1), request: {} }, /^sendTransaction\.caller: 65537 bytes, at most 65536 allowed$/],
  // order
  ['order without entries', { type: 'order', id: 1 }, /^order\.entries: missing$/],
  ['order with a non-array', { type: 'order', id: 1, entries: { kind: 'cut' } }, /^order\.entries: array expected$/],
  ['order with too many entries', { type: 'order', id: 1, entries: Array.from({ length: 65_537 }, () => ({ kind: 'cut', timestamp: 1, allowEmpty: false })) }, /^order\.entries: 65537 items, at most 65536 allowed$/],
  // durable
  ['durable with a number', { type: 'durable', id: 1, number: 1 }, /^durable\.number: bigint expected$/],
  ['durable at 2^64', { type: 'durable', id: 1, number: 2n ** 64n }, /^durable\.number: /],
  ['durable below zero', { type: 'durable', id: 1, number: -1n }, /^durable\.number: -1 is out of range/],
  ['settled with a short hash', { type: 'settled', id: 1, hash: '0x12' }, /^settled\.hash: /],
  // read
  ['read with a string caller', { type: 'read', id: 1, caller: 'not bytes', query: { kind: 'blockNumber' } }, /^read\.caller: bytes expected$/],
  ['read without query kind', { type: 'read', id: 1, caller: NOBODY, query: {} }, /^read\.query\.kind: one of blockNumber, balance, /],
  ['read of an unknown kind', read({ kind: 'secrets' } as never), /^read\.query\.kind: one of /],
  ['read with an extra field', read({ kind: 'blockNumber', all: true } as never), /^read\.query\.all: unknown field$/],
  ['balance without block', read({ kind: 'balance', address: A } as never), /^read\.query\.block: missing$/],
  ['balance of a short address', read({ kind: 'balance', address: '0xab', block: 'latest' }), /^read\.query\.address: address expected/],
  ['balance at an unknown tag', read({ kind: 'balance', address: A, block: 'newest' as never }), /^read\.query\.block: block number \(below 2\^64\), tag, or \{ hash, requireCanonical\? \} expected$/],
  ['balance at block 2^64', read({ kind: 'balance', address: A, block: 2n ** 64n }), /^read\.query\.block: block number/],
  ['balance at a negative block', read({ kind: 'balance', address: A, block: -1n }), /^read\.query\.block: /],
  ['balance at a number block', read({ kind: 'balance', address: A, block: 1 as never }), /^read\.query\.block: /],
  ['balance at a bad block hash', read({ kind: 'balance', address: A, block: { hash: '0x12' } }), /^read\.query\.block: /],
  ['balance at a block hash with extras', read({ kind: 'balance', address: A, block: { hash: H, number: 1n } as never }), /^read\.query\.block: /],
  ['code with a number address', read({ kind: 'code', address: 5 as never, block: 'latest' }), /^read\.query\.address: address expected/],
  ['storage at slot 2^256', read({ kind: 'storage', address: A, slot: 2n ** 256n, block: 'latest' }), /^read\.query\.slot: /],
  ['nonce with an uppercase address', read({ kind: 'nonce', address: A.toUpperCase().replace('0X', '0x'), block: 'latest' }), /^read\.query\.address: /],
  ['call with data over the bound', read({ kind: 'call', request: { data: bytes(MESSAGE_BOUNDS.callData + 1) }, block: 'latest' }), /^read\.query\.request\.data: \d+ bytes, at most 2621440 allowed$/],
  ['call with a negative gas', read({ kind: 'call', request: { gas: -5n }, block: 'latest' }), /^read\.query\.request\.gas: -5 is out of range/],
  ['estimateGas with a gas price of 2^256', read({ kind: 'estimateGas', request: { gasPrice: 2n ** 256n }, block: 'latest' }), /^read\.query\.request\.gasPrice: /],
  ['block with a string flag', read({ kind: 'block', block: 'latest', fullTransactions: 'yes' as never }), /^read\.query\.fullTransactions: boolean expected$/],
  ['blockTxCount without block', read({ kind: 'blockTxCount' } as never), /^read\.query\.block: missing$/],
  ['transaction with a short hash', read({ kind: 'transaction', hash: '0x1234' }), /^read\.query\.hash: hash expected \(0x and 64 lowercase hex digits\)$/],
  ['transaction by a fractional index', read({ kind: 'transactionByBlockAndIndex', block: 'latest', index: 1.5 }), /^read\.query\.index: integer expected$/],
  ['transaction by a negative index', read({ kind: 'transactionByBlockAndIndex', block: 'latest', index: -1 }), /^read\.query\.index: -1 is out of range/],
  ['receipt with an uppercase hash', read({ kind: 'receipt', hash: H.replace('12', 'AB') }), /^read\.query\.hash: /],
  ['blockReceipts at a bad block', read({ kind: 'blockReceipts', block: null as never }), /^read\.query\.block: /],
  ['logs without filter', read({ kind: 'logs' } as never), /^read\.query\.filter: missing$/],
  ['logs with too many addresses', read({ kind: 'logs', filter: { addresses: Array(100_001).fill(A), topics: [] } }), /^read\.query\.filter\.addresses: 100001 items, at most 100000 allowed$/],
  ['logs with a bad address', read({ kind: 'logs', filter: { addresses: [A, 'x'], topics: [] } }), /^read\.query\.filter\.addresses\[1\]: address expected/],
  ['logs with five topic positions', read({ kind: 'logs', filter: { addresses: [], topics: [null, null, null, null, null] } }), /^read\.query\.filter\.topics: 5 items, at most 4 allowed$/],
  ['logs with too many topics in one position', read({ kind: 'logs', filter: { addresses: [], topics: [Array(100_001).fill(H)] } }), /^read\.query\.filter\.topics\[0\]: 100001 items, at most 100000 allowed$/],
  ['logs with a bad topic', read({ kind: 'logs', filter: { addresses: [], topics: [null, [H, 7 as never]] } }), /^read\.query\.filter\.topics\[1\]\[1\]: hash expected/],
  ['logs with a hash block range', read({ kind: 'logs', filter: { fromBlock: { hash: H } as never, addresses: [], topics: [] } }), /^read\.query\.filter\.fromBlock: block number/],
  ['logs without topics', read({ kind: 'logs', filter: { addresses: [] } as never }), /^read\.query\.filter\.topics: missing$/],
  ['feeHistory of a bigint count', read({ kind: 'feeHistory', count: 4n as never, newest: 'latest', percentiles: [] }), /^read\.query\.count: integer expected$/],
  ['feeHistory of too many blocks', read({ kind: 'feeHistory', count: 65_537, newest: 'latest', percentiles: [] }), /^read\.query\.count: 65537 is out of range 0\.\.65536$/],
  ['feeHistory with a percentile over 100', read({ kind: 'feeHistory', count: 1, newest: 'latest', percentiles: [50, 101] }), /^read\.query\.percentiles\[1\]: number in 0\.\.100 expected$/],
  ['feeHistory with a NaN percentile', read({ kind: 'feeHistory', count: 1, newest: 'latest', percentiles: [NaN] }), /^read\.query\.percentiles\[0\]: /],
  ['feeHistory with too many percentiles', read({ kind: 'feeHistory', count: 1, newest: 'latest', percentiles: Array(10_001).fill(1) }), /^read\.query\.percentiles: 10001 items, at most 10000 allowed$/],
  ['gasPrice with an extra field', read({ kind: 'gasPrice', block: 'latest' } as never), /^read\.query\.block: unknown field$/],
  // sign
  ['sign without address', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'message', message: bytes(1) } }, /^sign\.request\.address: missing$/],
  ['sign with a numeric caller', { type: 'sign', id: 1, caller: 1, request: { kind: 'message', address: A, message: bytes(1) } }, /^sign\.caller: bytes expected$/],
  ['sign of an oversized message', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'message', address: A, message: bytes(256 * 1024 + 1) } }, /^sign\.request\.message: 262145 bytes, at most 262144 allowed$/],
  ['sign of a string message', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'message', address: A, message: 'hi' } }, /^sign\.request\.message: bytes expected$/],
  ['sign of typed data nested too deep', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'typedData', address: A, typedData: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) } }, /^sign\.request\.typedData: nested deeper than 32 levels$/],
  ['sign of oversized typed data', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'typedData', address: A, typedData: { message: Array(40_000).fill('abcdefgh') } } }, /^sign\.request\.typedData: larger than 262144 bytes$/],
  ['sign of oversized typed-data text', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'typedData', address: A, typedData: 'x'.repeat(256 * 1024 + 1) } }, /^sign\.request\.typedData: larger than 262144 bytes$/],
  ['sign of typed data with bytes in it', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'typedData', address: A, typedData: { a: bytes(1) } } }, /^sign\.request\.typedData: JSON data expected$/],
  ['sign of an unknown kind', { type: 'sign', id: 1, caller: NOBODY, request: { kind: 'transaction', address: A } }, /^sign\.request\.kind: one of message, typedData expected$/],
  // filters and subscriptions
  ['filter of an unknown kind', { type: 'filter', id: 1, caller: NOBODY, request: { kind: 'all' } }, /^filter\.request\.kind: one of /],
  ['filter with a negative connection', { type: 'filter', id: 1, caller: NOBODY, connection: -1, request: { kind: 'newBlocks' } }, /^filter\.connection: -1 is out of range/],
  ['filter changes of a bad id', { type: 'filter', id: 1, caller: NOBODY, request: { kind: 'changes', filterId: 'abc' } }, /^filter\.request\.filterId: /],
  ['filter of too many addresses', { type: 'filter', id: 1, caller: NOBODY, request: { kind: 'newLogs', filter: { addresses: Array(100_001).fill(A), topics: [] } } }, /^filter\.request\.filter\.addresses: 100001 items/],
  ['subscribe without connection', { type: 'subscribe', id: 1, caller: NOBODY, subscription: { kind: 'newHeads' } }, /^subscribe\.connection: missing$/],
  ['subscribe to an unknown kind', { type: 'subscribe', id: 1, caller: NOBODY, connection: 1, subscription: { kind: 'syncing' } }, /^subscribe\.subscription\.kind: /],
  ['unsubscribe with a long id', { type: 'unsubscribe', id: 1, caller: NOBODY, connection: 1, subscriptionId: '0x' + '1'.repeat(65) }, /^unsubscribe\.subscriptionId: 67 characters, at most 66 allowed$/],
  ['session login with a long message', { type: 'session', id: 1, caller: NOBODY, request: { kind: 'login', message: 'x'.repeat(MESSAGE_BOUNDS.siweMessage + 1), signature: '0x' + '1'.repeat(130) } }, /^session\.request\.message: 4097 characters, at most 4096 allowed$/],
  ['session login with a short signature', { type: 'session', id: 1, caller: NOBODY, request: { kind: 'login', message: 'x', signature: '0x' + '1'.repeat(128) } }, /^session\.request\.signature: signature \(0x and 130 hex digits\) expected$/],
  ['session of an unknown kind', { type: 'session', id: 1, caller: NOBODY, request: { kind: 'refresh' } }, /^session\.request\.kind: one of nonce, login, logout expected$/],
  ['connectionClosed with a string connection', { type: 'connectionClosed', id: 1, connection: '1' }, /^connectionClosed\.connection: integer expected$/],
];

/**
 * Ordering-log entries, checked one by one as they execute (a bad entry is skipped and
 * reported, not the whole batch): [label, entry, the reason expected].
 */
const MALFORMED_ENTRIES: [string, unknown, RegExp][] = [
  ['an unknown entry', { kind: 'other' }, /^kind: one of tx, cut, dev expected$/],
  ['an unknown dev operation', { kind: 'dev', ref: 'a', timestamp: 1, op: { op: 'selfdestruct' } }, /^op\.op: one of mine, snapshot, .* expected$/],
  ['a short storage word', { kind: 'dev', ref: 'a', timestamp: 1, op: { op: 'setStorageAt', address: '0x' + '11'.repeat(20), slot: 0n, value: bytes(31) } }, /^op\.value: 31 bytes, at least 32 needed$/],
  ['oversized code', { kind: 'dev', ref: 'a', timestamp: 1, op: { op: 'setCode', address: '0x' + '11'.repeat(20), code: bytes(MESSAGE_BOUNDS.devCode + 1) } }, /^op\.code: \d+ bytes, at most \d+ allowed$/],
  ['a string envelope', { kind: 'tx', envelope: 'abc' }, /^envelope: bytes expected$/],
  ['a short envelope', { kind: 'tx', envelope: bytes(28) }, /^envelope: 28 bytes, at least 29 needed$/],
  ['an oversized envelope', { kind: 'tx', envelope: bytes(MESSAGE_BOUNDS.envelope + 1) }, /^envelope: \d+ bytes, at most \d+ allowed$/],
  ['an infinite cut', { kind: 'cut', timestamp: Infinity, allowEmpty: true }, /^timestamp: integer expected$/],
  ['a negative cut', { kind: 'cut', timestamp: -1, allowEmpty: true }, /^timestamp: -1 is out of range/],
  ['a cut missing allowEmpty', { kind: 'cut', timestamp: 1 }, /^allowEmpty: missing$/],
  ['null', null, /^object expected$/],
];

test('schema: malformed messages of every kind are refused, naming the field', () => {
  const kinds = new Set<string>();
  for (const [label, m, why] of MALFORMED) {
    const reason = checkInbound(m);
    assert.equal(typeof reason, 'string', `${label}: should be refused`);
    assert.match(reason!, why, `${label}: ${reason}`);
    assert.equal(isHostToEnclave(m), false);
    kinds.add(String((m as { type?: unknown })?.type));
  }
  for (const type of SCHEMA_KINDS.messages) assert.ok(kinds.has(type), `no malformed ${type} message in the table`);
  for (const [label, e, why] of MALFORMED_ENTRIES) {
    const reason = checkOrderedEntry(e);
    assert.equal(typeof reason, 'string', `${label}: should be refused`);
    assert.match(reason!, why, `${label}: ${reason}`);
  }
  // A long type name is cut short in the reason.
  assert.ok(checkInbound({ type: 'x'.repeat(500), id: 1 })!.length < 100);
});

test('schema: every count and duration budget of init is at least 1, the gas cap at least 21000', () => {
  for (const key of SCHEMA_KINDS.limits) {
    const zero = key === 'rpcGasCap' ? 20_999n : 0;
    const reason = checkInbound({ type: 'init', id: 1, config: { ...goodConfig, limits: { ...DEFAULT_ENCLAVE_LIMITS, [key]: zero } } });
    const floor = key === 'rpcGasCap' ? '21000' : '1';
    assert.equal(reason?.startsWith(`init.config.limits.${key}: ${zero} is out of range ${floor}..`), true, `${key} = ${zero}: ${reason}`);
    const least = key === 'rpcGasCap' ? 21_000n : 1;
    assert.equal(checkInbound({ type: 'init', id: 1, config: { ...goodConfig, limits: { ...DEFAULT_ENCLAVE_LIMITS, [key]: least } } }), undefined, `${key} = ${least}`);
  }
});

test('schema: checking a typical submit or read costs a few microseconds', (t) => {
  const raw = bytes(110);
  const samples: [string, unknown][] = [
    ['submit', { type: 'submit', id: 1, raw }],
    ['read balance', read({ kind: 'balance', address: A, block: 'latest' })],
    ['read receipt', read({ kind: 'receipt', hash: H })],
    ['read call', read({ kind: 'call', request: { from: A, to: A, data: bytes(68), gas: 100_000n }, block: 'latest' })],
    ['read logs', read({ kind: 'logs', filter: fullFilter })],
  ];
  for (const [label, m] of samples) {
    for (let i = 0; i < 10_000; i++) checkInbound(m); // warm up
    const n = 50_000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (checkInbound(m) !== undefined) assert.fail(label);
    const us = Number(process.hrtime.bigint() - start) / n / 1000;
    t.diagnostic(`${label}: ${us.toFixed(2)} µs per check`);
    // Typically 0.3-3 µs; the bound leaves room for a busy machine.
    assert.ok(us < 25, `${label}: ${us} µs per check`);
  }
});

// ---------------------------------------------------------------------------------------
// (c) the real enclave worker
// ---------------------------------------------------------------------------------------

test('enclave worker: malformed messages of every kind are refused with invalidParams and change nothing', async (t) => {
  const home = tempHome('conclave-boundary-');
  const enclave = withPlatformSecretFile(home.secretFile, () => startEnclave());
  t.after(async () => {
    await enclave.terminate();
    home.cleanup();
  });
  let exitCode: number | undefined;
  enclave.onExit((code) => (exitCode = code));
  const ask = (m: unknown) => enclave.request(m as never) as Promise<any>;

  const refused = async (label: string, message: unknown, reason: RegExp) => {
    const err = await ask(message).then(
      (v) => assert.fail(`${label}: answered ${show(v)}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof EnclaveReplyError, `${label}: ${String(err)}`);
    assert.equal(err.error.kind, 'invalidParams', `${label}: ${JSON.stringify(err.error)}`);
    assert.match(err.error.message, /^malformed message: /, label);
    assert.match(err.error.message.replace(/^malformed message: /, ''), reason, `${label}: ${err.error.message}`);
  };
  /** The host's id goes on the message; the table's own id is replaced. */
  const withoutId = (m: unknown) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return m;
    const { id: _id, ...rest } = m as Record<string, unknown>;
    return rest;
  };
  // The table's messages that startEnclave can send (it sets the id itself).
  const sendable = MALFORMED.filter(([, m]) => isPlainObject(m) && Number.isSafeInteger(m.id));

  // Before init: every kind refused; then a malformed init changes nothing (no data dir).
  const config: EnclaveConfig = { ...goodConfig, dataDir: home.dataDir, devAccounts: 2, devBalance: 10n ** 18n };
  await refused('init naming a platform secret file', { type: 'init', config: { ...config, platformSecretFile: home.secretFile } }, /^init\.config\.platformSecretFile: unknown field$/);
  await refused('init with a negative limit', { type: 'init', config: { ...config, limits: { ...DEFAULT_ENCLAVE_LIMITS, poolSlots: -1 } } }, /poolSlots/);
  await refused('init with a zero budget', { type: 'init', config: { ...config, limits: { ...DEFAULT_ENCLAVE_LIMITS, maxConcurrentCalls: 0 } } }, /^init\.config\.limits\.maxConcurrentCalls: 0 is out of range 1\.\./);
  assert.equal(existsSync(home.dataDir), false, 'a refused init created nothing');
  const early = await ask({ type: 'read', caller: NOBODY, query: { kind: 'blockNumber' } }).catch((e: unknown) => e);
  assert.ok(early instanceof EnclaveReplyError);
  assert.equal(early.error.kind, 'internal', 'well-formed but before init: an internal error, not a crash');

  const init = await ask({ type: 'init', config });
  assert.equal(init.chainId, 31337n);
  assert.equal(init.head, 0n);
  const [alice, bob] = init.accounts as string[];
  assert.equal(alice, DEV_ADDRESS_0);

  // One block with a transfer, so that there is state to keep.
  const wallet = new Wallet(DEV_KEY_0);
  const transfer = async (nonce: number) => {
    const raw = await wallet.signTransaction({ type: 2, chainId: 31337, nonce, to: bob, value: 1000n, gasLimit: 21_000, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
    const admitted = await ask({ type: 'submit', raw: Buffer.from(raw.slice(2), 'hex') });
    const result = await ask({
      type: 'order',
      entries: [...(admitted.envelopes as Uint8Array[]).map((envelope) => ({ kind: 'tx', envelope })), { kind: 'cut', timestamp: Date.now(), allowEmpty: false }],
    });
    await ask({ type: 'durable', number: result.blocks.at(-1).number });
    return admitted.hash as string;
  };
  await transfer(0);
  const state = async () => ({
    head: await ask({ type: 'read', caller: NOBODY, query: { kind: 'blockNumber' } }),
    alice: await ask({ type: 'read', caller: NOBODY, query: { kind: 'balance', address: alice, block: 'latest' } }),
    bob: await ask({ type: 'read', caller: NOBODY, query: { kind: 'balance', address: bob, block: 'latest' } }),
    nonce: await ask({ type: 'read', caller: NOBODY, query: { kind: 'nonce', address: alice, block: 'pending' } }),
  });
  const before = await state();
  assert.deepEqual(before, { head: 1n, alice: before.alice, bob: 10n ** 18n + 1000n, nonce: 1n });

  // Every malformed message of the table that can be sent, on both ports (submit goes to
  // the admission thread), plus ones that would act if the check let them through.
  for (const [label, m, why] of sendable) await refused(label, withoutId(m), why);
  // Malformed log entries are skipped and reported, one by one, and build nothing.
  const skipped = await ask({ type: 'order', entries: MALFORMED_ENTRIES.map(([, e]) => e) });
  assert.deepEqual(skipped.blocks, []);
  assert.deepEqual(
    skipped.skipped.map((s: { position: number }) => s.position),
    MALFORMED_ENTRIES.map((_, i) => i),
  );
  await refused('sendTransaction of a negative value', { type: 'sendTransaction', caller: NOBODY, request: { from: alice, to: bob, value: -1n } }, /^sendTransaction\.request\.value/);
  await refused('shutdown with an extra field', { type: 'shutdown', now: true }, /^shutdown\.now: unknown field$/);
  await refused('init again, malformed', { type: 'init', config: { ...config, reset: 'yes' } }, /^init\.config\.reset/);
  assert.deepEqual(await state(), before, 'head, balances and nonce unchanged');
  assert.equal(exitCode, undefined, 'the worker did not exit');

  // A forged log entry is well-formed but does not authenticate: skipped, no block.
  const forged = await ask({ type: 'order', entries: [{ kind: 'tx', envelope: bytes(64) }] });
  assert.deepEqual(forged.blocks, []);
  assert.match(forged.skipped[0].reason, /failed authentication/);
  assert.deepEqual(await state(), before);

  // Good requests still succeed.
  const hash = await transfer(1);
  const receipt = await ask({ type: 'read', caller: NOBODY, query: { kind: 'receipt', hash } });
  assert.equal(receipt.status, '0x1');
  assert.equal(await ask({ type: 'read', caller: NOBODY, query: { kind: 'balance', address: bob, block: 'latest' } }), 10n ** 18n + 2000n);
  assert.equal(exitCode, undefined, 'the worker did not exit');
  assert.equal(await ask({ type: 'shutdown' }), null);
});
