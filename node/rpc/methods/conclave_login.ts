import type { Login } from '../../../runtime/boundary/messages.ts';
import { MESSAGE_BOUNDS } from '../../../runtime/boundary/validate.ts';
import { InvalidParamsError } from '../errors.ts';
import { atMostParams, param, parseData, toData, toQuantity } from '../params.ts';
import { callerOf, type Services } from '../services.ts';
import type { MethodEntry } from '../types.ts';

/** What conclave_login answers. */
export interface LoginResult {
  /** The session's credential: send it as `Authorization: Bearer <token>`, or use the URL `http://host:port/s/<token>`. */
  token: string;
  /** The signer, lowercase. */
  address: string;
  /** When the session ends, in unix seconds, as a quantity (as a block's timestamp). */
  expiresAt: string;
  /** The contracts the session may reach, when the message's resources named some; absent: any. */
  scope?: string[];
}

/**
 * conclave_login: Opens a session with a signed Sign-In with Ethereum message:
 * conclave_login(message, signature). The message (EIP-4361, at most 4096 characters)
 * names a domain this node serves, this chain's id and a nonce from conclave_nonce,
 * and its resources (`eip155:<chainId>:<address>`) may scope the session to some
 * contracts; the signature is its EIP-191 personal_sign by the message's address.
 * Answers a {@link LoginResult}; a refused login gets 4100 naming why, and too many
 * failed logins from one address -32005.
 * @see https://eips.ethereum.org/EIPS/eip-4361
 */
export const conclave_login: MethodEntry<Services> = {
  status: 'supported',
  disclosure: 'caller',
  async handler(params, ctx): Promise<LoginResult> {
    atMostParams(params, 2);
    const message = param(params, 0, 'message', parseMessage);
    const signature = param(params, 1, 'signature', parseSignature);
    const login = (await ctx.services.enclave.request({
      type: 'session',
      caller: callerOf(ctx),
      request: { kind: 'login', message, signature, ...(ctx.host ? { host: ctx.host } : {}), ...(ctx.source ? { source: ctx.source } : {}) },
    })) as Login;
    const out: LoginResult = { token: login.token, address: login.address, expiresAt: toQuantity(login.expiresAt) };
    if (login.scope) out.scope = login.scope;
    return out;
  },
};

function parseMessage(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new InvalidParamsError(`invalid ${name}: string expected`);
  if (v.length > MESSAGE_BOUNDS.siweMessage) {
    throw new InvalidParamsError(`invalid ${name}: ${v.length} characters, at most ${MESSAGE_BOUNDS.siweMessage} allowed`);
  }
  return v;
}

function parseSignature(v: unknown, name: string): string {
  const bytes = parseData(v, name);
  if (bytes.length !== 65) throw new InvalidParamsError(`invalid ${name}: hex string of 65 bytes expected`);
  return toData(bytes);
}
