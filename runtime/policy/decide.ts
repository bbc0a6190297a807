import { ROLES } from '../system/addresses.ts';
import { inAudience, logAudience, type AudienceContext } from './audience.ts';
import type { Policy } from './Policy.ts';

/**
 * Who a read or a transaction acts for. A transaction's principal is its sender; a
 * read's is the identity its credential proves (or nobody).
 */
export interface Principal {
  /** Lowercase; absent for an unauthenticated reader. */
  address?: string;
  /** Role bits from the identity registry at the head (0: not registered). */
  roles: number;
  /** Proved by a session, a signature, or (dev network) an unlocked dev account. */
  authenticated: boolean;
  /**
   * The contracts a scoped session may read (SIWE `resources`); outside them the
   * principal counts as unauthenticated. Absent: no restriction.
   */
  scope?: ReadonlySet<string>;
}

/** Someone who proved nothing: sees what is public, and nothing else. */
export const ANONYMOUS: Principal = Object.freeze({ roles: 0, authenticated: false });

/** The kinds of data a contract's policy rules over. */
export type DataKind =
  /** Running code in the contract at all (and so reading its state through it). */
  | 'state'
  /** A transaction's input. */
  | 'input'
  /** Return data and revert reasons. */
  | 'output'
  /** One log it emitted. */
  | 'event'
  /** Its raw storage (eth_getStorageAt, proofs, traces). */
  | 'storage';

/**
 * `visible`: answer as is. `filtered`: leave the data out of a well-formed answer (the
 * decision depended on content). `notPermitted`: refuse with the one fixed error (the
 * decision depended only on public facts: the policy and who asks).
 */
export type Decision = 'visible' | 'filtered' | 'notPermitted';

/** Kinds refused outright; the others are filtered. */
const REFUSED: ReadonlySet<DataKind> = new Set(['state', 'storage']);

/**
 * The one policy decision point: given who asks, a contract's policy (undefined: the
 * contract is public), the kind of data and what it is about (the transaction's sender,
 * a log's topics and data), decides. Enforcement points (the EVM's message guard, each
 * read's answer filter) call it and nothing else.
 */
export function decide(
  principal: Principal,
  contract: string,
  policy: Policy | undefined,
  kind: DataKind,
  context: AudienceContext,
  openNetwork: boolean,
): Decision {
  if (policy === undefined) return 'visible';
  const who = principal.scope && !principal.scope.has(contract) ? ANONYMOUS : principal;
  let allowed: boolean;
  switch (kind) {
    case 'storage':
      // Storage slots are hashes: no per-slot rule can work, so raw state goes to auditors only.
      allowed = who.authenticated && (who.roles & ROLES.auditor) !== 0;
      break;
    case 'state':
      allowed = inAudience(policy.state, member(who), context, openNetwork);
      break;
    case 'input':
      allowed = inAudience(policy.input, member(who), context, openNetwork);
      break;
    case 'output':
      allowed = inAudience(policy.output, member(who), context, openNetwork);
      break;
    case 'event': {
      const { audience, event } = logAudience(policy, context.topics ?? []);
      allowed = inAudience(audience, member(who), event ? { ...context, event } : context, openNetwork);
      break;
    }
  }
  if (allowed) return 'visible';
  return REFUSED.has(kind) ? 'notPermitted' : 'filtered';
}

/** Whether a log is public: visible to anyone, whoever asks (block and receipt blooms cover only these). */
export function isPublicLog(policy: Policy | undefined, topics: readonly Uint8Array[]): boolean {
  return policy === undefined || logAudience(policy, topics).audience.public;
}

function member(p: Principal) {
  return { address: p.address, roles: p.roles, authenticated: p.authenticated, registered: p.roles !== 0 };
}
