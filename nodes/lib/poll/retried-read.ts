/**
 * A read from a Node-RED context store, tried again while it fails or stays silent: a store still connecting at boot
 * (a database, Redis, a slow default store) must not cost what it holds. Whichever read answers first counts, a late
 * one too; past `forMs` the caller carries on without it. Shared by the position read (context-position.ts) and the
 * kept extension lists (kept-extensions.ts), so that both wait as long. Knows nothing of Node-RED.
 */
import { backoffDelay, type BackoffOptions } from "./backoff";
import { reasonOf } from "./position-writer";

/** How long a start tries to read from a store, by default. */
export const READ_FOR_MS = 180_000;
/** How long one read may take before another is tried, by default. */
export const READ_TIMEOUT_MS = 10_000;
export const READ_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 15_000, jitter: 0.2 };

/** Why a read has not answered yet, and when the next one goes (for the log). */
export type ReadRetry = (problem: string, attempt: number, retryInMs: number) => void;

export interface RetriedReadOptions {
  /** Default READ_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Default READ_FOR_MS. */
  forMs?: number;
  /** The pauses between reads. Default 1 s doubling to 15 s. */
  backoff?: BackoffOptions;
  onRetry?: ReadRetry;
}

/** The value read, or why none was after `triedMs`. */
export type ReadOutcome = { value: unknown } | { value?: undefined; gaveUp: true; problem: string; triedMs: number };

/** Reads with `get` (a context get taking a callback) until one answers, or `forMs` has passed. */
export function retriedRead(get: (callback: (err: unknown, value?: unknown) => void) => void, options: RetriedReadOptions = {}): Promise<ReadOutcome> {
  const timeoutMs = options.timeoutMs ?? READ_TIMEOUT_MS;
  const forMs = options.forMs ?? READ_FOR_MS;
  return new Promise<ReadOutcome>((resolve) => {
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const after = (ms: number, run: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        run();
      }, ms);
      timer.unref?.();
      timers.add(timer);
    };
    let settled = false;
    let attempt = 0;
    let problem = "";
    const finish = (outcome: ReadOutcome): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      resolve(outcome);
    };
    // Only the latest read's failure or silence leads to the next; any read's answer is the value.
    const failed = (id: number, why: string): void => {
      if (settled || id !== attempt) return;
      problem = why;
      const retryInMs = backoffDelay(attempt, options.backoff ?? READ_BACKOFF);
      options.onRetry?.(why, attempt, retryInMs);
      after(retryInMs, read);
    };
    const read = (): void => {
      const id = ++attempt;
      let answered = false;
      after(timeoutMs, () => answered || failed(id, `no answer in ${timeoutMs / 1000} s`));
      try {
        get((err, value) => {
          if (answered) return;
          answered = true;
          if (err) failed(id, reasonOf(err));
          else finish({ value });
        });
      } catch (err) {
        answered = true;
        failed(id, reasonOf(err));
      }
    };
    // A store that never answers (a database down) must not hold the caller back for ever.
    after(forMs, () => finish({ gaveUp: true, problem, triedMs: forMs }));
    read();
  });
}
