/** Checks on JSON read back (a saved position, a subscriber's saved state, settings.js values). */

/** A plain object: not null, not an array. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Refuses what was read: throws `invalid <what>`. */
export function invalid(what: string): never {
  throw new Error(`invalid ${what}`);
}
