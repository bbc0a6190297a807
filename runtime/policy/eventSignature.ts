/**
 * Canonical event signatures, and the ABI fragments that must agree with them. A policy names
 * its events by signature because a log carries only keccak256(signature) in topic 0: a
 * non-canonical spelling ("uint" for "uint256", a space, a parameter name) hashes to a topic no
 * log ever has, so its rule would silently never apply. Both checks are strict for that reason.
 */
import type { AbiEvent } from 'viem';
import { asObject, PolicyError, rejectUnknown, show } from './PolicyError.ts';

const SIZES = Array.from({ length: 32 }, (_, i) => 8 * (i + 1)).join('|');
const ELEMENTARY = new RegExp(`^(?:address|bool|string|bytes|function|bytes(?:[1-9]|[12]\\d|3[0-2])|u?int(?:${SIZES}))$`);
const ARRAY_SUFFIXES = /^(?:\[(?:[1-9]\d*)?\])*$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Tuples nest recursively; a bound keeps a hostile 16 KiB policy from exhausting the stack. */
const MAX_TUPLE_DEPTH = 16;

/**
 * The top-level parameter types of a canonical signature `Name(type,type,...)` (tuples written
 * `(type,...)`, no spaces, no aliases), or undefined when `key` is not one.
 */
export function signatureParams(key: string): string[] | undefined {
  const open = key.indexOf('(');
  if (open < 0 || !key.endsWith(')') || !IDENTIFIER.test(key.slice(0, open))) return undefined;
  const list = key.slice(open + 1, -1);
  if (list === '') return [];
  const params = splitTopLevel(list);
  return params?.every((t) => isCanonicalType(t, 0)) ? params : undefined;
}

/** Splits `a,(b,c),d` at the commas outside parentheses; undefined if they do not balance. */
function splitTopLevel(list: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return undefined;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return depth === 0 ? parts : undefined;
}

function isCanonicalType(type: string, depth: number): boolean {
  const base = type.replace(/(?:\[(?:[1-9]\d*)?\])+$/, '');
  if (!base.startsWith('(')) return ELEMENTARY.test(base);
  if (depth >= MAX_TUPLE_DEPTH || !base.endsWith(')') || base === '()') return false;
  const members = splitTopLevel(base.slice(1, -1));
  return members !== undefined && members.every((t) => isCanonicalType(t, depth + 1));
}

const EVENT_FIELDS = new Set(['type', 'name', 'inputs', 'anonymous']);
const PARAM_FIELDS = new Set(['name', 'type', 'indexed', 'internalType', 'components']);

/**
 * Checks an event ABI fragment (as solc and viem write it) and returns it with its canonical
 * signature. Anonymous events are refused: they have no topic 0, so no signature can match them.
 */
export function eventFromAbi(abi: unknown, path: string): { event: AbiEvent; signature: string } {
  const event = asObject(abi, path, 'an event ABI fragment');
  rejectUnknown(event, EVENT_FIELDS, path);
  if (event.type !== 'event') throw new PolicyError(`${path}.type: must be "event"`);
  if (typeof event.name !== 'string' || !IDENTIFIER.test(event.name)) throw new PolicyError(`${path}.name: must be an identifier`);
  if (event.anonymous !== undefined && event.anonymous !== false) {
    throw new PolicyError(`${path}.anonymous: anonymous events have no signature topic and cannot be listed`);
  }
  if (!Array.isArray(event.inputs)) throw new PolicyError(`${path}.inputs: must be an array`);
  const types = event.inputs.map((input, i) => paramType(input, `${path}.inputs[${i}]`, 0, true));
  const indexed = event.inputs.filter((input) => (input as { indexed?: boolean }).indexed === true).length;
  if (indexed > 3) throw new PolicyError(`${path}.inputs: ${indexed} indexed inputs, at most 3`);
  return { event: event as unknown as AbiEvent, signature: `${event.name}(${types.join(',')})` };
}

/** The canonical type of one ABI parameter (tuples expanded to `(...)`). */
function paramType(value: unknown, path: string, depth: number, topLevel: boolean): string {
  const param = asObject(value, path, 'an ABI parameter');
  rejectUnknown(param, PARAM_FIELDS, path);
  if (param.name !== undefined && typeof param.name !== 'string') throw new PolicyError(`${path}.name: must be a string`);
  if (param.internalType !== undefined && typeof param.internalType !== 'string') {
    throw new PolicyError(`${path}.internalType: must be a string`);
  }
  if (param.indexed !== undefined && (!topLevel || typeof param.indexed !== 'boolean')) {
    throw new PolicyError(`${path}.indexed: ${topLevel ? 'must be a boolean' : 'only event inputs can be indexed'}`);
  }
  const type = param.type;
  if (typeof type !== 'string') throw new PolicyError(`${path}.type: must be a string`);
  if (type.startsWith('tuple') && ARRAY_SUFFIXES.test(type.slice(5))) {
    if (depth >= MAX_TUPLE_DEPTH) throw new PolicyError(`${path}: tuples nested deeper than ${MAX_TUPLE_DEPTH}`);
    if (!Array.isArray(param.components) || param.components.length === 0) {
      throw new PolicyError(`${path}.components: a tuple needs a non-empty array of components`);
    }
    const members = param.components.map((c, i) => paramType(c, `${path}.components[${i}]`, depth + 1, false));
    return `(${members.join(',')})${type.slice(5)}`;
  }
  if (param.components !== undefined) throw new PolicyError(`${path}.components: only a tuple has components`);
  if (type.startsWith('(') || !isCanonicalType(type, 0)) {
    throw new PolicyError(`${path}.type: ${show(type)} is not a canonical ABI type`);
  }
  return type;
}
