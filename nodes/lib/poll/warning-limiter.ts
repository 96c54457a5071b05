/**
 * Rate limits warnings per kind, so that a PBX sending the same malformed entry in every answer gives one log line
 * a minute instead of one a poll. Knows nothing of Node-RED.
 *
 * For each kind: the first warning is passed on at once and opens a window of `intervalMs`. Warnings of that kind
 * inside the window are held back and counted. When the window ends (a timer), a held-back count is passed on as
 * one line, the latest held-back warning plus the count ("... (and 37 more like it in the last minute)"), and a
 * new window opens; a window that held nothing closes, and the next warning of that kind passes at once again. So
 * there is at most one line per kind per interval, and a count is never kept for longer than one interval.
 *
 * Windows are measured on a monotonic clock (`performance.now()`, injectable), so a step of the system clock
 * neither freezes nor floods them. One timer runs while any window is open; it is unref'd (it never keeps the
 * process alive) and close() clears it after passing on what is still held. close() is not final: a warning after it
 * starts afresh (passes at once, opens a window), so an owner that is stopped and started again (a poll loop) keeps
 * one limiter and calls close() at each stop.
 *
 * Kinds should be a small fixed set (e.g. "malformed-entry"): each open window is kept until it closes.
 */

export interface WarningLimiterOptions {
  /** Where the lines go. */
  emit: (line: string) => void;
  /** Length of a window; default 60 s. */
  intervalMs?: number;
  /** Monotonic milliseconds; default performance.now(). */
  now?: () => number;
  /** Builds the line for `held` warnings held back (`latest` is the last of them); English by default. */
  summarise?: (latest: string, held: number, intervalMs: number) => string;
}

interface Window {
  endsAt: number;
  held: number;
  latest: string;
}

export const DEFAULT_WARNING_INTERVAL_MS = 60_000;

/** "ignored a malformed entry (and 37 more like it in the last minute)"; one held back is shown as it was. */
export function defaultSummary(latest: string, held: number, intervalMs: number): string {
  if (held <= 1) return latest;
  const others = held - 1;
  return `${latest} (and ${others} more like it in the last ${describeInterval(intervalMs)})`;
}

function describeInterval(ms: number): string {
  if (ms === 60_000) return "minute";
  if (ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  return `${Math.round(ms / 1000)} s`;
}

export class WarningLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly summarise: (latest: string, held: number, intervalMs: number) => string;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WarningLimiterOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_WARNING_INTERVAL_MS;
    this.now = options.now ?? (() => performance.now());
    this.summarise = options.summarise ?? defaultSummary;
  }

  /** Passes `message` on now, or holds it back and counts it when a line of this kind went out within the interval. */
  warn(kind: string, message: string): void {
    // A timer that fired late (a busy event loop) must not let a window outlive its interval.
    this.closeEndedWindows();
    const window = this.windows.get(kind);
    if (window) {
      window.held++;
      window.latest = message;
      return;
    }
    this.windows.set(kind, { endsAt: this.now() + this.intervalMs, held: 0, latest: message });
    this.options.emit(message);
    this.arm();
  }

  /** Passes on every count still held back and clears the timer; a later warning starts afresh. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const window of this.windows.values()) {
      if (window.held > 0) this.options.emit(this.summarise(window.latest, window.held, this.intervalMs));
    }
    this.windows.clear();
  }

  /** Ends the windows whose interval is over: a held-back count goes out and opens the next window. */
  private closeEndedWindows(): void {
    const now = this.now();
    for (const [kind, window] of this.windows) {
      if (now < window.endsAt) continue;
      if (window.held === 0) {
        this.windows.delete(kind);
        continue;
      }
      this.options.emit(this.summarise(window.latest, window.held, this.intervalMs));
      this.windows.set(kind, { endsAt: now + this.intervalMs, held: 0, latest: window.latest });
    }
  }

  /** One timer, for the window that ends first. */
  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.windows.size === 0) return;
    let first = Infinity;
    for (const window of this.windows.values()) first = Math.min(first, window.endsAt);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.closeEndedWindows();
      this.arm();
    }, Math.max(0, first - this.now()));
    this.timer.unref();
  }
}
