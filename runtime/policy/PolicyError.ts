/**
 * A policy that fails validation. The message starts with the JSON path of the bad field
 * (`policy.events["Transfer(address,address,uint256)"].audience[1]: ...`) because it travels
 * back unchanged as the revert reason of `PolicyRegistry.setPolicy`, where it is all the
 * deployer sees.
 */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** A bad value as JSON, cut short so one huge string cannot swamp the message. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `value` as a JSON object, or a PolicyError saying what was expected at `path`. */
export function asObject(value: unknown, path: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PolicyError(`${path}: must be ${what} (a JSON object), got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Strictness by name: a misspelt field would otherwise be ignored and its intent lost. */
export function rejectUnknown(object: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(object)) {
    if (!known.has(key)) throw new PolicyError(`${path}: unknown field ${show(key)}`);
  }
}
