/**
 * Per-contract confidentiality policies: who may execute a contract (its state audience), who
 * sees its transaction input, its return data and revert reasons, and each of its events. The
 * JSON is public (stored in the policy registry); this module turns it into the form the
 * decision point evaluates per caller, and refuses anything it does not understand, naming the
 * field, because a policy that silently means less than its author wrote leaks.
 */
import { type AbiEvent, type AbiParameter, bytesToHex, type Hex } from 'viem';
import { keccak256 } from '../crypto/ethCrypto.ts';
import { ROLES } from '../system/addresses.ts';
import { eventFromAbi, signatureParams } from './eventSignature.ts';
import { asObject, PolicyError, rejectUnknown, show } from './PolicyError.ts';

export { PolicyError } from './PolicyError.ts';

/** Largest policy JSON, in UTF-8 bytes: it is stored on chain and parsed at every read. */
export const MAX_POLICY_BYTES = 16 * 1024;

// A Map, not the object: `role:constructor` must not find Object.prototype.constructor.
const ROLE_BITS = new Map<string, number>(Object.entries(ROLES));

/** An audience list, compiled so that a check is a few field tests (see audience.ts). */
export interface Audience {
  /** Anyone, even without a session. */
  readonly public: boolean;
  /** Registered identities (any authenticated caller on the open dev network). */
  readonly everyone: boolean;
  /** The transaction's sender, or the caller of a read. */
  readonly sender: boolean;
  /** `topic:N`: the address in indexed topic N (1..3). */
  readonly topics: readonly number[];
  /** `arg:NAME`: the address in the named event argument. */
  readonly args: readonly string[];
  /** `role:ROLE`, as a bitmask of {@link ROLES}. */
  readonly roles: number;
  /** Explicit addresses, lowercase. */
  readonly addresses: ReadonlySet<string>;
}

/** Where the address named by `arg:NAME` sits in a log: a topic index, or a position among the data's inputs. */
export type ArgSlot = { readonly topic: number } | { readonly data: number; readonly inputs: readonly AbiParameter[] };

/** A listed event: its audience and what is needed to match and decode its logs. */
export interface ParsedEvent {
  /** Canonical signature, as the policy's key. */
  readonly signature: string;
  /** keccak256(signature), lowercase hex: the topic 0 of this event's logs. */
  readonly topic0: Hex;
  readonly audience: Audience;
  readonly abi?: AbiEvent;
  /** The slot of each name in `audience.args`, resolved once here so matching needs no ABI lookup. */
  readonly argSlots: ReadonlyMap<string, ArgSlot>;
}

/** A parsed policy. */
export interface Policy {
  /** Who may execute the contract at all: every message into it from anyone else reverts. */
  readonly state: Audience;
  /** Who sees the input of transactions to it. */
  readonly input: Audience;
  /** Who sees return data and revert reasons of calls into it. */
  readonly output: Audience;
  /** Listed events, by {@link ParsedEvent.topic0}. */
  readonly events: ReadonlyMap<Hex, ParsedEvent>;
  /** Audience of the contract's other logs (default: nobody). */
  readonly otherEvents: Audience;
}

const TOP_FIELDS = new Set(['state', 'input', 'output', 'events', 'otherEvents']);
const REQUIRED_FIELDS = ['state', 'input', 'output', 'events'] as const;
const EVENT_RULE_FIELDS = new Set(['audience', 'abi']);
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const NOBODY: Audience = { public: false, everyone: false, sender: false, topics: [], args: [], roles: 0, addresses: new Set() };

const utf8 = new TextEncoder();
// fatal: a policy in invalid UTF-8 is refused rather than repaired, so that the bytes hashed and
// stored are exactly the text that was checked; ignoreBOM keeps a BOM, which JSON then refuses.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses and validates a policy; throws {@link PolicyError} naming the first bad field or value. */
export function parsePolicy(text: string): Policy {
  const size = utf8.encode(text).length;
  if (size > MAX_POLICY_BYTES) throw new PolicyError(`policy: ${size} bytes, more than the ${MAX_POLICY_BYTES}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(`policy: not valid JSON (${(e as Error).message})`);
  }
  const root = asObject(json, 'policy', 'a policy');
  rejectUnknown(root, TOP_FIELDS, 'policy');
  for (const field of REQUIRED_FIELDS) {
    if (!Object.hasOwn(root, field)) throw new PolicyError(`policy: missing field "${field}"`);
  }
  return {
    state: parseAudience(root.state, 'policy.state', MESSAGE),
    input: parseAudience(root.input, 'policy.input', MESSAGE),
    output: parseAudience(root.output, 'policy.output', MESSAGE),
    events: parseEvents(root.events),
    otherEvents: Object.hasOwn(root, 'otherEvents') ? parseAudience(root.otherEvents, 'policy.otherEvents', OTHER_EVENTS) : NOBODY,
  };
}

/** {@link parsePolicy} for raw bytes (calldata, registry storage), which must be UTF-8. */
export function parsePolicyBytes(bytes: Uint8Array): Policy {
  // Checked before decoding so that an oversized input costs nothing more.
  if (bytes.length > MAX_POLICY_BYTES) {
    throw new PolicyError(`policy: ${bytes.length} bytes, more than the ${MAX_POLICY_BYTES}-byte limit`);
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new PolicyError('policy: not valid UTF-8');
  }
  return parsePolicy(text);
}

/** keccak256 of the policy's UTF-8 bytes: its key in the policy registry. */
export function policyHash(text: string | Uint8Array): Hex {
  return bytesToHex(keccak256(typeof text === 'string' ? utf8.encode(text) : text));
}

// --- audiences ---------------------------------------------------------------------------

/** Where an audience list appears, which decides the entries it may hold. */
type Scope =
  | { readonly kind: 'message' }
  | { readonly kind: 'otherEvents' }
  | { readonly kind: 'event'; readonly signature: string; readonly params: readonly string[]; readonly abi?: AbiEvent };
const MESSAGE: Scope = { kind: 'message' };
const OTHER_EVENTS: Scope = { kind: 'otherEvents' };

function parseEvents(value: unknown): ReadonlyMap<Hex, ParsedEvent> {
  const rules = asObject(value, 'policy.events', 'a map from event signature to rule');
  const events = new Map<Hex, ParsedEvent>();
  for (const [signature, rule] of Object.entries(rules)) {
    const path = `policy.events[${show(signature)}]`;
    const params = signatureParams(signature);
    if (!params) throw new PolicyError(`${path}: not a canonical event signature such as "Transfer(address,address,uint256)"`);
    const body = asObject(rule, path, 'an event rule');
    rejectUnknown(body, EVENT_RULE_FIELDS, path);
    if (!Object.hasOwn(body, 'audience')) throw new PolicyError(`${path}: missing field "audience"`);
    let abi: AbiEvent | undefined;
    if (Object.hasOwn(body, 'abi')) {
      const described = eventFromAbi(body.abi, `${path}.abi`);
      if (described.signature !== signature) {
        throw new PolicyError(`${path}.abi: describes ${show(described.signature)}, not the event of its key`);
      }
      abi = described.event;
    }
    const audience = parseAudience(body.audience, `${path}.audience`, { kind: 'event', signature, params, abi });
    const topic0 = bytesToHex(keccak256(utf8.encode(signature)));
    events.set(topic0, { signature, topic0, audience, abi, argSlots: argSlots(audience.args, abi) });
  }
  return events;
}

function parseAudience(value: unknown, path: string, scope: Scope): Audience {
  if (!Array.isArray(value)) throw new PolicyError(`${path}: must be an array of audience strings, got ${show(value)}`);
  const audience = { public: false, everyone: false, sender: false, roles: 0, addresses: new Set<string>() };
  const topics = new Set<number>();
  const args = new Set<string>();
  value.forEach((entry: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof entry !== 'string') throw new PolicyError(`${at}: an audience must be a string, got ${show(entry)}`);
    if (entry === 'public' || entry === 'everyone' || entry === 'sender') audience[entry] = true;
    else if (ADDRESS.test(entry)) audience.addresses.add(entry.toLowerCase());
    else if (entry.startsWith('role:')) {
      const bit = ROLE_BITS.get(entry.slice(5));
      if (bit === undefined) throw new PolicyError(`${at}: unknown audience ${show(entry)} (roles are member, user, auditor)`);
      audience.roles |= bit;
    } else if (/^topic:\d+$/.test(entry)) topics.add(topicIndex(entry, at, scope));
    else if (entry.startsWith('arg:') && IDENTIFIER.test(entry.slice(4))) args.add(argName(entry, at, scope));
    else throw new PolicyError(`${at}: unknown audience ${show(entry)}`);
  });
  return { ...audience, topics: [...topics], args: [...args] };
}

/** N of `topic:N`, checked against the event when the policy gives its signature or ABI. */
function topicIndex(entry: string, at: string, scope: Scope): number {
  const n = Number(entry.slice(6));
  // Exactly one digit, so "topic:01" is not a second spelling of topic:1.
  if (n < 1 || n > 3 || entry.length !== 7) throw new PolicyError(`${at}: unknown audience ${show(entry)} (topic:N takes N from 1 to 3)`);
  if (scope.kind === 'message') throw new PolicyError(`${at}: ${show(entry)} is allowed only in an event's audience`);
  if (scope.kind === 'event') {
    if (scope.abi) {
      const indexed = scope.abi.inputs.filter((input) => input.indexed);
      const input = indexed[n - 1];
      if (!input) throw new PolicyError(`${at}: ${show(entry)} but ${scope.signature} has ${indexed.length} indexed inputs`);
      if (input.type !== 'address') {
        throw new PolicyError(`${at}: ${show(entry)} is the indexed input ${show(input.name ?? '')} of type ${input.type}, not address`);
      }
    } else if (n > scope.params.length) {
      throw new PolicyError(`${at}: ${show(entry)} but ${scope.signature} has ${scope.params.length} parameters`);
    }
  }
  return n;
}

/** NAME of `arg:NAME`, which must be an address input of the event's ABI. */
function argName(entry: string, at: string, scope: Scope): string {
  const name = entry.slice(4);
  if (scope.kind === 'message') throw new PolicyError(`${at}: ${show(entry)} is allowed only in an event's audience`);
  if (scope.kind === 'otherEvents') {
    throw new PolicyError(`${at}: ${show(entry)} cannot apply to unlisted events: list the event with its "abi"`);
  }
  if (!scope.abi) throw new PolicyError(`${at}: ${show(entry)} needs the event's "abi" to decode the argument`);
  const input = scope.abi.inputs.find((i) => i.name === name);
  if (!input) throw new PolicyError(`${at}: ${show(entry)} names no input of ${scope.signature}`);
  if (input.type !== 'address') throw new PolicyError(`${at}: ${show(entry)} names an input of type ${input.type}, not address`);
  return name;
}

function argSlots(names: readonly string[], abi: AbiEvent | undefined): ReadonlyMap<string, ArgSlot> {
  const slots = new Map<string, ArgSlot>();
  if (!abi) return slots;
  const dataInputs = abi.inputs.filter((input) => !input.indexed);
  for (const name of names) {
    const index = abi.inputs.findIndex((input) => input.name === name);
    const input = abi.inputs[index];
    slots.set(
      name,
      input.indexed
        ? { topic: 1 + abi.inputs.slice(0, index).filter((i) => i.indexed).length }
        : { data: dataInputs.indexOf(input), inputs: dataInputs },
    );
  }
  return slots;
}

/** The policy of a contract without one on a network whose default is public: everything visible to anyone. */
export const PUBLIC_POLICY_JSON = '{"state":["public"],"input":["public"],"output":["public"],"events":{},"otherEvents":["public"]}';
/** {@link PUBLIC_POLICY_JSON}, parsed. */
export const PUBLIC_POLICY: Policy = Object.freeze(parsePolicy(PUBLIC_POLICY_JSON));
