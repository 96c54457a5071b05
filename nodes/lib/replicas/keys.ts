/**
 * The Redis keys of one config node's replicas (by its id, so two config nodes never share a lease), and what a
 * replica is called. Knows nothing of Node-RED.
 */

export interface ReplicaKeys {
  /** The lease: `<name>|<fence>|<random>` of the replica that polls, with a TTL. */
  lease: string;
  /** The shared position (position-format.ts), written only with the lease's token (fenced-position.ts). */
  position: string;
  /** A counter: each acquisition takes the next value, so a token names its term. */
  fence: string;
  /** The token of the last lease released by its holder (after stopping its polls), for a TTL. */
  released: string;
  /**
   * The token of the last term granted; while none is known (a new or emptied Redis), a mark left by a replica that
   * found the lease missing. Unchanged through a replica's wait, it shows that no term began meanwhile.
   */
  term: string;
  /**
   * A copy of the lease set and renewed with it, with the same TTL. A DEL of the lease key by hand leaves it, and a
   * Redis that lost its data has no `term` either: a missing lease with the term kept and no shadow ran out, as far
   * as Redis knows. A standby that saw the holder lately must agree (scripts.ts): Redis too can lose both together.
   */
  shadow: string;
  /** Told after each write of the position, for standbys that mirror the calls in progress. */
  changed: string;
}

export const DEFAULT_KEY_PREFIX = "noojee";

export function replicaKeys(prefix: string | undefined, configId: string): ReplicaKeys {
  const base = `${prefix?.trim() || DEFAULT_KEY_PREFIX}:${configId}`;
  return { lease: `${base}:lease`, position: `${base}:position`, fence: `${base}:fence`, changed: `${base}:changed`, released: `${base}:released`, term: `${base}:term`, shadow: `${base}:shadow` };
}

/**
 * A replica's name as standbys show it: NODE_RED_REPLICA when set, else host name and process id. `|` separates a
 * token's parts and control characters would garble a status: both are replaced.
 */
export function replicaName(env: NodeJS.ProcessEnv, hostname: string, pid: number): string {
  const given = env.NODE_RED_REPLICA?.trim();
  return cleanName(given || `${hostname}:${pid}`);
}

export function cleanName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[|\u0000-\u001f\u007f]/g, "_").slice(0, 100) || "replica";
}

/** The holder's name in a lease value (`<name>|<fence>|<random>`), undefined when it is not one of ours. */
export function holderOf(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const parts = value.split("|");
  return parts.length === 3 && parts[0] !== "" ? parts[0] : undefined;
}
