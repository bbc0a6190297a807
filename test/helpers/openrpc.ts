/**
 * JSON-Schema validation of JSON-RPC params/results against the Ethereum
 * execution-apis OpenRPC document (shared/spec/execution-apis.openrpc.json,
 * which lives *beside* the repo clone: <repoRoot>/../shared/spec/...).
 *
 *   import { validateResult, validateParams } from "../helpers/openrpc.ts";
 *   assert.deepEqual(validateResult("eth_getBlockByNumber", block), []);
 *   assert.deepEqual(validateParams("eth_getLogs", [{ fromBlock: "0x0" }]), []);
 *
 * Both return a list of human-readable problems; an empty list means valid.
 * Unknown method names throw (a typo in a test must not pass silently).
 *
 * ## Notes on the spec document
 * - The shipped document is fully dereferenced: `components` is `{schemas: {}}`
 *   and there is no `$ref` anywhere. Refs are nevertheless supported: schema
 *   refs `#/components/schemas/X` resolve against the spec's components
 *   (registered with ajv under COMPONENTS_ID), and content-descriptor refs
 *   (`{"$ref": "#/components/contentDescriptors/X"}` as a param/result) are
 *   followed by hand.
 *
 * ## oneOf handling (deliberate, read this)
 * JSON Schema `oneOf` means "exactly one branch matches". The spec uses oneOf
 * as a *union of shapes* and a few of its unions overlap, so valid geth
 * answers can fail a literal reading. The one that matters for a node:
 *   - eth_getLogs / eth_getFilterLogs / eth_getFilterChanges result: `[]`
 *     matches both "new block or transaction hashes" and "new logs", so the
 *     most common answer of all (no logs) is "invalid" under strict oneOf.
 * Others: eth_fillTransaction (a 4844 tx with sidecar also matches the plain
 * 4844 shape), engine_getPayloadV2 (a V1 payload also matches V2).
 * (Most unions are disjoint: transactions by the `type` pattern, eth_simulateV1
 * calls by `status`, eth_getLogs filters by `not: {required: [blockHash]}`.)
 * By default every `oneOf` whose branches are *shapes* (at least one branch
 * declares a `type`) is therefore compiled as `anyOf`: each branch is still
 * checked completely and a value must still match at least one declared
 * shape; the only thing given up is rejecting a value for matching two shapes
 * at once, which for the disjoint unions above cannot happen anyway.
 * A `oneOf` whose branches are pure constraint sets without `type` (e.g.
 * eth_simulateV1 state overrides: `required: ["state"]` XOR
 * `required: ["stateDiff"]`) is an intentional mutual exclusion and is kept.
 * Pass `{ strictOneOf: true }` to get the literal spec semantics.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, "../..");
/** Override with OPENRPC_SPEC=/path/to/execution-apis.openrpc.json */
export const SPEC_PATH = process.env.OPENRPC_SPEC ?? path.resolve(REPO_ROOT, "../shared/spec/execution-apis.openrpc.json");

/** Ajv id under which the spec's `components` are registered. */
export const COMPONENTS_ID = "https://conclave.invalid/openrpc-components.json";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

export interface ContentDescriptor {
  name: string;
  required?: boolean;
  schema: Schema;
  description?: string;
}

export interface OpenRpcMethod {
  name: string;
  params: (ContentDescriptor | { $ref: string })[];
  result?: ContentDescriptor | { $ref: string };
  examples?: unknown[];
}

export interface OpenRpcDocument {
  openrpc: string;
  methods: OpenRpcMethod[];
  components?: { schemas?: Record<string, Schema>; contentDescriptors?: Record<string, ContentDescriptor> };
}

export interface ValidateOptions {
  /** Keep the spec's `oneOf` literally (exactly one branch must match). Default false; see the header comment. */
  strictOneOf?: boolean;
}

export interface OpenRpcValidator {
  readonly spec: OpenRpcDocument;
  hasMethod(method: string): boolean;
  methodNames(): string[];
  /** The resolved result schema of a method (after $ref resolution, before any oneOf rewriting). */
  resultSchema(method: string): Schema;
  validateResult(method: string, result: unknown, opts?: ValidateOptions): string[];
  validateParams(method: string, params: unknown[] | Record<string, unknown> | undefined, opts?: ValidateOptions): string[];
}

function isSchemaObject(x: unknown): x is Schema {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** RFC 6901 pointer lookup inside the document (for content-descriptor refs). */
function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`Unsupported external $ref ${ref}`);
  let cur: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isSchemaObject(cur) || !(key in cur)) throw new Error(`Unresolvable $ref ${ref}`);
    cur = cur[key];
  }
  return cur;
}

function derefDescriptor(doc: OpenRpcDocument, d: ContentDescriptor | { $ref: string }): ContentDescriptor {
  let cur: unknown = d;
  for (let i = 0; i < 16 && isSchemaObject(cur) && typeof cur.$ref === "string"; i++) cur = resolvePointer(doc, cur.$ref);
  if (!isSchemaObject(cur) || !isSchemaObject(cur.schema)) throw new Error(`Bad content descriptor ${JSON.stringify(d).slice(0, 200)}`);
  return cur as unknown as ContentDescriptor;
}

const SCHEMA_MAPS = new Set(["properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "schemas"]);

/**
 * Deep copy of a schema with (a) local `#/components/...` refs pointed at the
 * registered components document, and (b) unless strict, shape-union `oneOf`
 * rewritten to `anyOf` (see header comment).
 */
function prepare(node: Json, strictOneOf: boolean): Json {
  if (Array.isArray(node)) return node.map((n) => prepare(n, strictOneOf));
  if (!isSchemaObject(node)) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/components/")) {
      out[k] = COMPONENTS_ID + v;
    } else if (k === "oneOf" && !strictOneOf && Array.isArray(v) && v.some((b) => isSchemaObject(b) && "type" in b)) {
      out.anyOf = prepare(v, strictOneOf);
    } else if (k === "enum" || k === "const" || k === "examples" || k === "default") {
      out[k] = v; // literal data, not sub-schemas
    } else if (SCHEMA_MAPS.has(k) && isSchemaObject(v)) {
      // name -> schema maps: the names are data (a property may be called "enum" or "oneOf").
      out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, prepare(sub, strictOneOf)]));
    } else {
      out[k] = prepare(v, strictOneOf);
    }
  }
  return out;
}

function short(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Turns ajv errors into readable lines. For a failed anyOf (rewritten oneOf),
 * branches that failed on the value's basic type or on the `type` field
 * discriminator (e.g. "0x2" vs the 7702 branch's ^0x4$) are hidden when some
 * other branch got further, so the messages talk about the intended shape.
 */
function formatErrors(errors: ErrorObject[]): string[] {
  const dropped: string[] = [];
  const isDropped = (e: ErrorObject) => dropped.some((p) => e.schemaPath.startsWith(p));
  const unions = errors
    .filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf")
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const notes = new Map<ErrorObject, string>();
  for (const u of unions) {
    if (isDropped(u)) continue;
    const prefix = `${u.schemaPath}/`;
    const branches = new Map<number, ErrorObject[]>();
    for (const e of errors) {
      if (e === u || !e.schemaPath.startsWith(prefix)) continue;
      const idx = Number(e.schemaPath.slice(prefix.length).split("/")[0]);
      if (!branches.has(idx)) branches.set(idx, []);
      branches.get(idx)!.push(e);
    }
    let keep = [...branches.keys()];
    const wrongType = (i: number) => branches.get(i)!.some((e) => e.keyword === "type" && e.instancePath === u.instancePath);
    const wrongDiscriminator = (i: number) => branches.get(i)!.some((e) => e.instancePath === `${u.instancePath}/type`);
    for (const reject of [wrongType, wrongDiscriminator]) {
      const rest = keep.filter((i) => !reject(i));
      if (rest.length > 0) keep = rest;
    }
    for (const i of branches.keys()) if (!keep.includes(i)) dropped.push(`${prefix}${i}/`);
    const alts = Array.isArray(u.schema) ? (u.schema as Schema[]) : [];
    const titles = keep.map((i) => (typeof alts[i]?.title === "string" ? `"${alts[i]!.title}"` : `#${i}`));
    if (u.keyword === "oneOf" && isSchemaObject(u.params) && Array.isArray(u.params.passingSchemas)) {
      notes.set(u, `matches several oneOf branches ${short(u.params.passingSchemas)} (spec ambiguity)`);
    } else if (titles.length > 0) {
      notes.set(u, `matches none of the allowed shapes; closest: ${titles.join(", ")}`);
    }
  }
  const lines: string[] = [];
  for (const e of errors) {
    if (isDropped(e)) continue;
    const where = e.instancePath || "(root)";
    let msg = notes.get(e) ?? e.message ?? e.keyword;
    if (e.keyword === "additionalProperties") msg += ` (${short(e.params.additionalProperty)})`;
    if (e.keyword === "pattern" || e.keyword === "type" || e.keyword === "enum" || e.keyword === "minimum" || e.keyword === "maximum") {
      msg += `, got ${short(e.data)}`;
    }
    lines.push(`${where}: ${msg}`);
  }
  return [...new Set(lines)];
}

export function createValidator(spec: OpenRpcDocument): OpenRpcValidator {
  const methods = new Map(spec.methods.map((m) => [m.name, m]));
  const ajvs = new Map<boolean, Ajv>();
  const compiled = new Map<string, ValidateFunction>();

  const ajvFor = (strictOneOf: boolean): Ajv => {
    let ajv = ajvs.get(strictOneOf);
    if (!ajv) {
      // strict: false -- the spec uses non-validation keywords (title, description, ...) freely.
      ajv = new Ajv({ strict: false, allErrors: true, verbose: true });
      ajv.addSchema(prepare({ $id: COMPONENTS_ID, components: { schemas: (spec.components?.schemas ?? {}) as Json } }, strictOneOf) as Schema);
      ajvs.set(strictOneOf, ajv);
    }
    return ajv;
  };

  const method = (name: string): OpenRpcMethod => {
    const m = methods.get(name);
    if (!m) throw new Error(`Method ${name} is not in the OpenRPC spec (${SPEC_PATH})`);
    return m;
  };

  const compile = (key: string, schema: Schema, strictOneOf: boolean): ValidateFunction => {
    const cacheKey = `${strictOneOf ? "strict" : "union"}:${key}`;
    let fn = compiled.get(cacheKey);
    if (!fn) {
      fn = ajvFor(strictOneOf).compile(prepare(schema, strictOneOf) as Schema);
      compiled.set(cacheKey, fn);
    }
    return fn;
  };

  const run = (fn: ValidateFunction, value: unknown, prefix: string): string[] => {
    if (fn(value)) return [];
    return formatErrors(fn.errors ?? []).map((l) => prefix + l);
  };

  const resultSchema = (name: string): Schema => {
    const m = method(name);
    if (!m.result) throw new Error(`Method ${name} declares no result`);
    return derefDescriptor(spec, m.result).schema;
  };

  return {
    spec,
    hasMethod: (name) => methods.has(name),
    methodNames: () => [...methods.keys()],
    resultSchema,
    validateResult(name, result, opts = {}) {
      const strict = opts.strictOneOf ?? false;
      return run(compile(`${name}:result`, resultSchema(name), strict), result, "");
    },
    validateParams(name, params, opts = {}) {
      const strict = opts.strictOneOf ?? false;
      const descriptors = method(name).params.map((p) => derefDescriptor(spec, p));
      const problems: string[] = [];
      let values: unknown[];
      if (params === undefined) {
        values = [];
      } else if (Array.isArray(params)) {
        values = params;
        if (values.length > descriptors.length) {
          problems.push(`${name} takes at most ${descriptors.length} param(s), got ${values.length}`);
        }
      } else {
        const known = new Set(descriptors.map((d) => d.name));
        for (const k of Object.keys(params)) if (!known.has(k)) problems.push(`unknown by-name param "${k}"`);
        values = descriptors.map((d) => (params as Record<string, unknown>)[d.name]);
      }
      descriptors.forEach((d, i) => {
        const v = values[i];
        if (v === undefined) {
          if (d.required) problems.push(`param ${i} (${d.name}): required but missing`);
          return;
        }
        problems.push(...run(compile(`${name}:param:${i}`, d.schema, strict), v, `param ${i} (${d.name}) `));
      });
      return problems;
    },
  };
}

let defaultValidator: OpenRpcValidator | undefined;

/** Loads (once) the spec from SPEC_PATH. */
export function getValidator(): OpenRpcValidator {
  if (!defaultValidator) {
    let text: string;
    try {
      text = fs.readFileSync(SPEC_PATH, "utf8");
    } catch (err) {
      throw new Error(`Cannot read the OpenRPC spec at ${SPEC_PATH} (expected shared/spec beside the repo clone): ${(err as Error).message}`);
    }
    defaultValidator = createValidator(JSON.parse(text) as OpenRpcDocument);
  }
  return defaultValidator;
}

/** Problems with `result` as the result of `method`; [] when valid. Throws for methods not in the spec. */
export function validateResult(method: string, result: unknown, opts?: ValidateOptions): string[] {
  return getValidator().validateResult(method, result, opts);
}

/** Problems with positional (array) or by-name (object) `params` for `method`; [] when valid. */
export function validateParams(method: string, params: unknown[] | Record<string, unknown> | undefined, opts?: ValidateOptions): string[] {
  return getValidator().validateParams(method, params, opts);
}

/** Throws an Error listing all problems if `result` does not conform. */
export function assertValidResult(method: string, result: unknown, opts?: ValidateOptions): void {
  const problems = validateResult(method, result, opts);
  if (problems.length > 0) {
    throw new Error(`${method} result does not match the OpenRPC spec:\n  ${problems.join("\n  ")}\nresult: ${short(result)}`);
  }
}

/** Throws an Error listing all problems if `params` do not conform. */
export function assertValidParams(method: string, params: unknown[] | Record<string, unknown> | undefined, opts?: ValidateOptions): void {
  const problems = validateParams(method, params, opts);
  if (problems.length > 0) throw new Error(`${method} params do not match the OpenRPC spec:\n  ${problems.join("\n  ")}`);
}

export function specAvailable(): boolean {
  return fs.existsSync(SPEC_PATH);
}
