/**
 * Evaluates a compiled {@link Audience} for one caller. The decision point calls this for every
 * answer it shapes (each log of each receipt, filter and subscription), so the cheap tests run
 * first and an argument is decoded from the log at most once per context.
 */
import { type AbiParameter, bytesToHex, decodeAbiParameters } from 'viem';
import type { Audience, ArgSlot, ParsedEvent, Policy } from './Policy.ts';

/** The caller, as far as audiences care. `address` is the session's (or dev account's) address. */
export interface AudienceMember {
  address?: string;
  /** Role bits from the identity registry (0: unregistered). */
  roles: number;
  /** Holds a live session (or, on the dev network, names an unlocked dev account). */
  authenticated: boolean;
  /** Listed in the identity registry. */
  registered: boolean;
}

/**
 * What the answer is about. Treated as immutable: the decoded arguments of a log are cached per
 * context object, so a context reused for several callers decodes once.
 */
export interface AudienceContext {
  /** The transaction's sender, or the caller of a read. */
  sender?: string;
  /** A log's topics (topic 0 first) and data. */
  topics?: readonly Uint8Array[];
  data?: Uint8Array;
  /** The policy's rule for this log, when it lists the log's event. */
  event?: ParsedEvent;
}

/**
 * True when `who` belongs to `audience` in `context`. `openNetwork` is the dev network, where
 * `everyone` means any authenticated caller since nobody is registered there.
 */
export function inAudience(audience: Audience, who: AudienceMember, context: AudienceContext, openNetwork: boolean): boolean {
  if (audience.public) return true;
  // Every other entry is about an identity, and only a session proves one.
  if (!who.authenticated) return false;
  if (audience.everyone && (who.registered || openNetwork)) return true;
  if ((audience.roles & who.roles) !== 0) return true;
  if (who.address === undefined) return false;
  const address = who.address.toLowerCase();
  if (audience.sender && context.sender !== undefined && context.sender.toLowerCase() === address) return true;
  if (audience.addresses.has(address)) return true;
  for (const n of audience.topics) {
    if (topicHolds(context.topics?.[n], address)) return true;
  }
  for (const name of audience.args) {
    const slot = context.event?.argSlots.get(name);
    if (slot && argHolds(slot, context, address)) return true;
  }
  return false;
}

/**
 * The audience of a log emitted by a contract under `policy`, and the rule that lists its event
 * (pass it as `context.event`). Logs without topics (LOG0) can only fall under `otherEvents`.
 */
export function logAudience(policy: Policy, topics: readonly Uint8Array[]): { audience: Audience; event?: ParsedEvent } {
  const event = topics.length > 0 ? policy.events.get(bytesToHex(topics[0])) : undefined;
  return event ? { audience: event.audience, event } : { audience: policy.otherEvents };
}

/**
 * A topic names an address only as a left-padded word: requiring the upper 12 bytes to be zero
 * keeps a hash or number whose low bytes happen to equal someone's address from matching them.
 */
function topicHolds(topic: Uint8Array | undefined, address: string): boolean {
  if (topic === undefined || topic.length !== 32) return false;
  for (let i = 0; i < 12; i++) if (topic[i] !== 0) return false;
  return bytesToHex(topic.subarray(12)) === address;
}

function argHolds(slot: ArgSlot, context: AudienceContext, address: string): boolean {
  if ('topic' in slot) return topicHolds(context.topics?.[slot.topic], address);
  const values = decodedData(context, slot.inputs);
  const value = values?.[slot.data];
  return typeof value === 'string' && value.toLowerCase() === address;
}

const decoded = new WeakMap<AudienceContext, readonly unknown[] | null>();

/** The log's data decoded with the event's non-indexed inputs; null when it does not decode (it then matches nobody). */
function decodedData(context: AudienceContext, inputs: readonly AbiParameter[]): readonly unknown[] | null {
  let values = decoded.get(context);
  if (values === undefined) {
    try {
      values = context.data === undefined ? null : decodeAbiParameters(inputs, bytesToHex(context.data));
    } catch {
      values = null;
    }
    decoded.set(context, values);
  }
  return values;
}
