import { randomBytes } from 'node:crypto';

/**
 * A random 128-bit id for a filter or subscription, so that nobody can guess another's.
 * Shaped as a QUANTITY (no leading zeros), as the spec types filter ids and geth makes them.
 */
export function randomId(): string {
  return '0x' + BigInt('0x' + randomBytes(16).toString('hex')).toString(16);
}
