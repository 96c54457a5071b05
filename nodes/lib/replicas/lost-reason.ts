/**
 * Why a replica stopped polling, said twice: `status`, what its nodes show after "coordination lost: " (a status
 * holds 40 characters, so at most 21 are left), and `detail`, whole, for the log line. Knows nothing of Node-RED.
 */
import { redisReason, redisStatus } from "./redis-errors";

export interface LostReason {
  status: string;
  detail: string;
}

export const LOST = {
  ranOut: { status: "lease ran out", detail: "the lease ran out before it was renewed" },
  notRenewed: { status: "renewal too late", detail: "the lease was not renewed in time" },
  taken: { status: "lease gone or taken", detail: "the lease is no longer this replica's (its key vanished or another replica took it)" },
  tooLate: { status: "lease came too late", detail: "the lease was taken too late to use" },
  ranOutBeforeWrite: { status: "lease ran out", detail: "the lease ran out before the position was written" },
  // Redis refuses the write whenever the key is not this token's: vanished or taken, it cannot tell which.
  writeRefused: {
    status: "lease gone or taken",
    detail: "the lease is no longer this replica's (its key vanished or another replica took it): the position was not written",
  },
} as const satisfies Record<string, LostReason>;

/** A Redis failure as a reason: short for the status, its message for the log (`what` failed: "renewing the lease"). */
export function redisFailure(err: unknown, what: string): LostReason {
  return { status: redisStatus(err), detail: `${what}: Redis: ${redisReason(err)}` };
}
