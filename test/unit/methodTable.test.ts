// The method table declares, for every JSON-RPC method, what its answer may disclose
// (node/rpc/types.ts, MethodDisclosure). This walks the table and holds each
// declaration against the code: a method whose answer is decided per caller must hand
// the caller's credential to the enclave, and the enclave must decide those reads with
// the caller's principal; a public method must ask nothing that is decided per caller.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { methods } from '../../node/rpc/methods/index.ts';
import type { MethodDisclosure } from '../../node/rpc/types.ts';
import { ROOT } from '../helpers/node.ts';

const DISCLOSURES: readonly MethodDisclosure[] = ['public', 'perCaller', 'caller', 'none'];
const METHODS_DIR = path.join(ROOT, 'node/rpc/methods');
const entries = Object.entries(methods);

/** The source of a method's own file (one file per method). */
function sourceOf(name: string): string {
  const file = path.join(METHODS_DIR, `${name}.ts`);
  assert.ok(existsSync(file), `${name}: no file node/rpc/methods/${name}.ts`);
  return readFileSync(file, 'utf8');
}

/** The query kinds a handler asks the enclave to read (`read(ctx, { kind: '…' })`). */
function readKinds(source: string): string[] {
  return [...source.matchAll(/\bread\s*(?:<[^(]*>)?\(\s*ctx\s*,\s*\{\s*kind:\s*'(\w+)'/g)].map((m) => m[1]!);
}

/** Whether a handler hands the caller's credential to the enclave. */
function passesCredential(source: string): boolean {
  return (
    /\bread\s*(?:<[^(]*>)?\(\s*ctx\b/.test(source) ||
    /\bfilter\s*(?:<[^(]*>)?\(\s*ctx\b/.test(source) ||
    /\bsubscribe\s*\(\s*\{\s*\.\.\.ctx\b/.test(source) ||
    /\bcaller:\s*callerOf\(ctx\)/.test(source)
  );
}

/**
 * For each query kind of the enclave's reads (runtime/enclave/reads.ts, `answer`), whether
 * its answer depends on who asks: its branch uses the caller's principal (`who`).
 */
function enclaveReadKinds(): Map<string, boolean> {
  const source = readFileSync(path.join(ROOT, 'runtime/enclave/reads.ts'), 'utf8');
  const start = source.indexOf('async answer(');
  assert.ok(start >= 0, 'runtime/enclave/reads.ts: no answer() to read the query kinds from');
  const body = source.slice(start, source.indexOf('\n  }\n', start));
  const kinds = new Map<string, boolean>();
  const cases = [...body.matchAll(/case '(\w+)':/g)];
  cases.forEach((c, i) => {
    const branch = body.slice(c.index! + c[0].length, cases[i + 1]?.index ?? body.length);
    kinds.set(c[1]!, /\bwho\b/.test(branch));
  });
  assert.ok(kinds.size > 10, `runtime/enclave/reads.ts: found only ${kinds.size} query kinds in answer()`);
  return kinds;
}

test('every method declares what its answer may disclose', () => {
  assert.ok(entries.length > 40);
  for (const [name, entry] of entries) {
    assert.ok(DISCLOSURES.includes(entry.disclosure), `${name}: disclosure ${JSON.stringify(entry.disclosure)} is none of ${DISCLOSURES.join(', ')}`);
    // Nothing is disclosed exactly when nothing runs.
    assert.equal(entry.disclosure === 'none', entry.status === 'unsupported', `${name}: disclosure 'none' is for unsupported methods only`);
    assert.equal(entry.handler === undefined, entry.status === 'unsupported', `${name}: a supported method has a handler, an unsupported one none`);
  }
});

test('each supported method lives in a file of its name', () => {
  for (const [name, entry] of entries) {
    if (entry.status === 'unsupported') continue;
    assert.match(sourceOf(name), new RegExp(`export const ${name}: MethodEntry<Services> = \\{`), `${name}: node/rpc/methods/${name}.ts exports no entry named ${name}`);
  }
});

test("a method decided per caller hands the caller's credential to the enclave, which decides with it", () => {
  const kinds = enclaveReadKinds();
  const perCaller = entries.filter(([, e]) => e.disclosure === 'perCaller');
  assert.ok(perCaller.length > 0);
  for (const [name] of perCaller) {
    const source = sourceOf(name);
    assert.ok(passesCredential(source), `${name}: declared perCaller but its handler does not pass the caller's credential (read, filter or subscribe of services.ts)`);
    for (const kind of readKinds(source)) {
      assert.ok(kinds.has(kind), `${name}: reads '${kind}', which runtime/enclave/reads.ts does not answer`);
      assert.ok(kinds.get(kind), `${name}: declared perCaller but the enclave answers '${kind}' without looking at who asks`);
    }
  }
});

test('a public method asks the enclave nothing that is decided per caller', () => {
  const kinds = enclaveReadKinds();
  for (const [name, entry] of entries) {
    if (entry.disclosure !== 'public') continue;
    const source = sourceOf(name);
    assert.doesNotMatch(source, /\b(?:filter|subscribe)\s*\(/, `${name}: declared public but keeps a filter or subscription, which is decided per caller`);
    for (const kind of readKinds(source)) {
      assert.ok(kinds.has(kind), `${name}: reads '${kind}', which runtime/enclave/reads.ts does not answer`);
      assert.equal(kinds.get(kind), false, `${name}: declared public but the enclave decides '${kind}' per caller: declare it perCaller`);
    }
  }
});

test("methods on the caller's own session, subscriptions or node-held keys are declared so", () => {
  for (const [name, entry] of entries) {
    if (entry.usesNodeKeys && entry.status !== 'unsupported') assert.equal(entry.disclosure, 'caller', `${name}: signs with a node-held key`);
    if (entry.disclosure !== 'caller') continue;
    const source = sourceOf(name);
    // Each acts for the caller it names to the enclave: its session, its connection's subscriptions, a dev key.
    assert.ok(/\bcaller:\s*callerOf\(ctx\)/.test(source), `${name}: declared caller but does not name the caller to the enclave`);
  }
  for (const name of ['conclave_nonce', 'conclave_login', 'conclave_logout']) assert.equal(methods[name]?.disclosure, 'caller', name);
});
