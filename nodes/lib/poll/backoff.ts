/**
 * Exponential backoff with "full jitter" around the upper half: attempt 1 waits about 1 s, doubling up to the cap.
 * Jitter keeps many Node-RED instances from hammering a recovering PBX in step.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Fraction of the delay that is randomised (0 = none). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, jitter: 0.2 };

/** Delay before retry number `attempt` (1-based). `random` is injectable for tests. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const base = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  // Spread within [base * (1 - jitter), base]: never longer than the cap, never near zero.
  return Math.round(base * (1 - options.jitter * random()));
}
