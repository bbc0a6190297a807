/**
 * Small combinators that check untrusted values against a shape, for the inbound
 * messages of the enclave (./validate.ts). Payloads carry bigints and Uint8Arrays
 * (structured clone), which JSON-schema validators do not know, and the checks run on
 * every submit and read, so they are plain functions: no allocation unless a value is
 * refused, and then one problem naming the field.
 */

/** Why a value was refused, and where: `at` is the path of the field (`query.filter.addresses[3]`). */
export interface Problem {
  at: string;
  why: string;
}

/** Checks one value: undefined when it fits, else the problem. */
export type Check = (v: unknown) => Problem | undefined;

const problem = (why: string): Problem => ({ at: '', why });

/** `problem` seen inside field (or index) `key`: its path gets `key` in front. */
function inside(key: string, p: Problem): Problem {
  const at = p.at === '' ? key : p.at.charCodeAt(0) === 91 /* [ */ ? key + p.at : `${key}.${p.at}`;
  return { at, why: p.why };
}

/** Where a problem is reported: `path: why`, or just `why` at the top. */
export function describe(p: Problem): string {
  return p.at === '' ? p.why : `${p.at}: ${p.why}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Bytes (a Uint8Array, Buffer included) of `min`..`max` length. */
export function bytes(max: number, min = 0): Check {
  return (v) => {
    if (!(v instanceof Uint8Array)) return problem('bytes expected');
    if (v.length > max) return problem(`${v.length} bytes, at most ${max} allowed`);
    if (v.length < min) return problem(`${v.length} bytes, at least ${min} needed`);
    return undefined;
  };
}

/** A string of at most `max` characters matching `re` (described as `what`). */
export function text(max: number, re?: RegExp, what = 'string'): Check {
  return (v) => {
    if (typeof v !== 'string') return problem(`${what} expected`);
    if (v.length > max) return problem(`${v.length} characters, at most ${max} allowed`);
    if (re && !re.test(v)) return problem(`${what} expected`);
    return undefined;
  };
}

const ADDRESS_RE = /^0x[0-9a-f]{40}$/;
const HASH_RE = /^0x[0-9a-f]{64}$/;
/** A 20-byte address as the host sends it: 0x and 40 lowercase hex digits. */
export const address: Check = (v) =>
  typeof v === 'string' && v.length === 42 && ADDRESS_RE.test(v) ? undefined : problem('address expected (0x and 40 lowercase hex digits)');
/** A 32-byte hash: 0x and 64 lowercase hex digits. */
export const hash: Check = (v) =>
  typeof v === 'string' && v.length === 66 && HASH_RE.test(v) ? undefined : problem('hash expected (0x and 64 lowercase hex digits)');

/** One of the given strings. */
export function oneOf(...values: string[]): Check {
  const set = new Set(values);
  return (v) => (typeof v === 'string' && set.has(v) ? undefined : problem(`one of ${values.join(', ')} expected`));
}

/** A bigint in `min`..`max`. */
export function bigint(max: bigint, min = 0n): Check {
  return (v) => {
    if (typeof v !== 'bigint') return problem('bigint expected');
    if (v < min || v > max) return problem(`${v} is out of range ${min}..${max}`);
    return undefined;
  };
}

export const UINT64_MAX = 2n ** 64n - 1n;
export const UINT256_MAX = 2n ** 256n - 1n;
/** A non-negative bigint below 2^64 (block numbers, gas, nonces). */
export const uint64 = bigint(UINT64_MAX);
/** A non-negative bigint below 2^256 (values, fees). */
export const uint256 = bigint(UINT256_MAX);

/** A safe integer in `min`..`max`. */
export function integer(max: number, min = 0): Check {
  return (v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return problem('integer expected');
    if (v < min || v > max) return problem(`${v} is out of range ${min}..${max}`);
    return undefined;
  };
}

/** A finite number in `min`..`max`. */
export function finite(max: number, min: number): Check {
  return (v) => (typeof v === 'number' && v >= min && v <= max ? undefined : problem(`number in ${min}..${max} expected`));
}

export const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : problem('boolean expected'));

/** An array of at most `max` items, each fitting `item`. */
export function array(item: Check, max: number): Check {
  return (v) => {
    if (!Array.isArray(v)) return problem('array expected');
    if (v.length > max) return problem(`${v.length} items, at most ${max} allowed`);
    for (let i = 0; i < v.length; i++) {
      const p = item(v[i]);
      if (p) return inside(`[${i}]`, p);
    }
    return undefined;
  };
}

/** `check`, or null. */
export function nullable(check: Check): Check {
  return (v) => (v === null ? undefined : check(v));
}

/** The first of `checks` that the value fits; else the problem `why`. */
export function either(why: string, ...checks: Check[]): Check {
  return (v) => {
    for (const c of checks) if (c(v) === undefined) return undefined;
    return problem(why);
  };
}

/** Marks a field of {@link object} as optional: absent or undefined is fine. */
export function optional(check: Check): Check & { optional: true } {
  return Object.assign((v: unknown) => (v === undefined ? undefined : check(v)), { optional: true as const });
}

/** The fields of an object, each with its check; fields wrapped in {@link optional} may be absent. */
export type Shape = Record<string, Check & { optional?: true }>;

/**
 * A plain object with exactly these fields: a required one missing, or a field the
 * shape does not name, is refused (so nothing travels that the enclave does not expect).
 */
export function object(shape: Shape): Check {
  const keys = Object.keys(shape);
  const checks = keys.map((k) => shape[k]!);
  const required = keys.filter((k) => !shape[k]!.optional);
  return (v) => {
    if (!isPlainObject(v)) return problem('object expected');
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const p = checks[i]!(v[k]);
      if (p) return inside(k, !(k in v) && required.includes(k) ? problem('missing') : p);
    }
    for (const k in v) if (!Object.hasOwn(shape, k)) return inside(k.slice(0, 40), problem('unknown field'));
    return undefined;
  };
}

/**
 * A plain object told apart by its `tag` field: one shape per tag value, each a full
 * {@link Shape} (the tag field itself is added).
 */
export function tagged(tag: string, shapes: Record<string, Shape>): Check {
  const byTag = new Map<string, Check>();
  for (const [name, shape] of Object.entries(shapes)) byTag.set(name, object({ ...shape, [tag]: oneOf(name) }));
  const names = [...byTag.keys()].join(', ');
  return (v) => {
    if (!isPlainObject(v)) return problem('object expected');
    const name = v[tag];
    const check = typeof name === 'string' ? byTag.get(name) : undefined;
    if (!check) return inside(tag, problem(`one of ${names} expected`));
    return check(v);
  };
}

/**
 * JSON-like data (strings, finite numbers, booleans, null, arrays, plain objects) of at
 * most `maxDepth` levels and about `maxBytes` in size (strings and keys by length,
 * other values as 8 bytes), or a string of at most `maxBytes` characters.
 */
export function json(maxBytes: number, maxDepth: number): Check {
  return (v) => {
    let budget = maxBytes;
    const walk = (x: unknown, depth: number): string | undefined => {
      if (depth > maxDepth) return `nested deeper than ${maxDepth} levels`;
      if (typeof x === 'string') budget -= x.length;
      else if (typeof x === 'number') {
        if (!Number.isFinite(x)) return 'finite numbers expected';
        budget -= 8;
      } else if (typeof x === 'boolean' || x === null) budget -= 8;
      else if (Array.isArray(x)) {
        budget -= 8;
        for (const item of x) {
          if (budget < 0) break;
          const why = walk(item, depth + 1);
          if (why) return why;
        }
      } else if (isPlainObject(x)) {
        budget -= 8;
        for (const k in x) {
          budget -= k.length + 8;
          if (budget < 0) break;
          const why = walk(x[k], depth + 1);
          if (why) return why;
        }
      } else return 'JSON data expected';
      return budget < 0 ? `larger than ${maxBytes} bytes` : undefined;
    };
    const why = walk(v, 0);
    return why ? problem(why) : undefined;
  };
}
