/**
 * Why a replica stopped polling, said twice: `status`, what its nodes show after "coordination lost: " (a status
 * holds 40 characters, so at most 21 are left), and `detail`, whole, for the log line. Knows nothing of Node-RED.
 */
import { redisReason, tlsReason } from "./redis-errors";

export interface LostReason {
  status: string;
  detail: string;
}

/** The room a status leaves after "coordination lost: ". */
export const STATUS_ROOM = 21;

export const LOST = {
  ranOut: { status: "lease ran out", detail: "the lease ran out before it was renewed" },
  notRenewed: { status: "renewal too late", detail: "the lease was not renewed in time" },
  taken: { status: "lease gone or taken", detail: "the lease is no longer this replica's (its key vanished or another replica took it)" },
  tooLate: { status: "lease came too late", detail: "the lease was taken too late to use" },
  ranOutBeforeWrite: { status: "lease ran out", detail: "the lease ran out before the position was written" },
  writeRefused: { status: "lease gone or taken", detail: "another replica holds the lease: the position was not written" },
} as const satisfies Record<string, LostReason>;

/**
 * A Redis failure in a status's room: a TLS failure's own short text, an errno code (ECONNREFUSED), "Redis not
 * reachable", "Redis too slow", or the first word of Redis's error reply (`Redis LOADING`, `Redis NOAUTH`).
 */
export function redisStatus(err: unknown): string {
  const tls = tlsReason(err);
  if (tls !== undefined) return tls;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code.slice(0, STATUS_ROOM);
  if (err instanceof Error && err.name === "MaxRetriesPerRequestError") return "Redis not reachable";
  if (err instanceof Error && err.name === "LateAnswer") return "Redis too slow";
  const word = /^[A-Z][A-Z_]+(?=\s|$)/.exec(err instanceof Error ? err.message : "")?.[0];
  return word === undefined ? "Redis failed" : `Redis ${word}`.slice(0, STATUS_ROOM);
}

/** A Redis failure as a reason: short for the status, its message for the log (`what` failed: "renewing the lease"). */
export function redisFailure(err: unknown, what: string): LostReason {
  return { status: redisStatus(err), detail: `${what}: Redis: ${redisReason(err)}` };
}
