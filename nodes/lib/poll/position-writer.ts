/**
 * Writing a hub's position somewhere (a file, a Node-RED context store), the same way for every place. Knows
 * nothing of Node-RED.
 *
 * - Throttled: at most one write every `minIntervalMs`, of the position as it is when the write starts; flush() writes
 *   at once (on close).
 * - Bounded: a write takes at most `maxBytes` of JSON (see serialisePosition).
 * - Any failure is one warning and a longer pause, then a retry: never a throw, never a hot loop. A write not answered
 *   within `writeTimeoutMs` is a failure too: a store whose `set` never calls back must not stop every later write.
 *   Should it land after all, over a newer position written since, the latest is written again at once (an older
 *   position may lack what the newer one named, or hold a cursor of a PBX life since gone).
 */
import type { HubPosition, PositionStore } from "./subscription-hub";
import { type PositionOwner, serialisePosition } from "./position-format";
import { monotonicNow } from "../monotonic";

export interface PositionWriterOptions extends PositionOwner {
  onWarning: (message: string) => void;
  /** Least time between two writes. Default 300 ms. */
  minIntervalMs?: number;
  /** Pause after a failed write before the next attempt. Default 30 s. */
  retryMs?: number;
  /** Most bytes a saved position may take. Default 1 MiB. */
  maxBytes?: number;
  /** How long a write may take before it counts as failed. Default 15 s. */
  writeTimeoutMs?: number;
  /** Wall clock: only for `savedAt`, a time read by the next process, and the age of what is read. */
  now?: () => number;
  /** The clock the write throttle and retry pause are measured on. Default monotonic. */
  monotonic?: () => number;
}

export abstract class PositionWriter implements PositionStore {
  /** Where the position is kept, for messages (a file's path, a context store's name and key). */
  abstract readonly where: string;
  protected readonly now: () => number;
  private readonly minIntervalMs: number;
  private readonly retryMs: number;
  private readonly maxBytes: number;
  private readonly writeTimeoutMs: number;
  private readonly monotonic: () => number;
  private capture: (() => HubPosition | undefined) | undefined;
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;
  // On the monotonic clock: a wall-clock step back would otherwise hold every write back for as long as the step.
  private notBefore = -Infinity;
  private failing = false;
  private closed = false;

  constructor(protected readonly options: PositionWriterOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 300;
    this.retryMs = options.retryMs ?? 30_000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 15_000;
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? monotonicNow;
  }

  /** Keeps the saved position (its JSON text, see serialisePosition) where this writer keeps positions. */
  protected abstract persist(text: string): Promise<void>;
  /** Forgets the kept position. */
  protected abstract erase(): Promise<void>;

  /**
   * The position changed (an answer reached the flow): write it soon, at most every minIntervalMs. `capture` is called
   * when the write starts; undefined then means there is nothing safe to write yet (the caller saves again later).
   */
  save(capture: () => HubPosition | undefined): void {
    if (this.closed) return;
    this.capture = capture;
    this.dirty = true;
    this.arm();
  }

  /** Writes the latest position now (after a write in progress), e.g. when the node closes. */
  async flush(): Promise<void> {
    this.clearTimer();
    await this.writing;
    this.clearTimer(); // armed by the write that just ended: this one takes its place
    if (this.dirty && !this.closed) await this.write();
  }

  /** Stops writing and forgets the position: the config node was deleted, or resuming turned off. */
  async remove(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.writing;
    try {
      await this.erase();
    } catch (err) {
      this.options.onWarning(`could not delete the position in ${this.where}: ${reasonOf(err)}`);
    }
  }

  /** Stops writing; what was written stays for the next start. */
  close(): void {
    this.closed = true;
    this.clearTimer();
  }

  private arm(): void {
    if (this.timer !== undefined || this.writing || !this.dirty || this.closed) return;
    const delay = Math.max(0, this.notBefore - this.monotonic());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, delay);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private write(): Promise<void> {
    const capture = this.capture;
    if (!capture || this.writing) return this.writing ?? Promise.resolve();
    this.dirty = false;
    const position = capture();
    if (!position) return Promise.resolve(); // the last position that is safe to resume from stays
    const started = this.monotonic();
    this.writing = this.withDeadline(this.persist(serialisePosition(position, this.options, this.now(), this.maxBytes)))
      .then(() => {
        this.notBefore = started + this.minIntervalMs;
        this.failing = false;
      })
      .catch((err: unknown) => {
        this.notBefore = this.monotonic() + this.retryMs;
        this.dirty = true;
        if (this.failing) return;
        this.failing = true;
        this.options.onWarning(`cannot save the position to ${this.where} (${reasonOf(err)}): retrying every ${this.retryMs / 1000} s`);
      })
      .finally(() => {
        this.writing = undefined;
        this.arm();
      });
    return this.writing;
  }

  private withDeadline(write: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let givenUp = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        givenUp = true;
        reject(new Error(`no answer within ${this.writeTimeoutMs / 1000} s`));
      }, this.writeTimeoutMs);
      timer.unref?.();
    });
    write.then(() => givenUp && this.landedLate(), () => undefined);
    return Promise.race([write, deadline]).finally(() => clearTimeout(timer));
  }

  /** A write given up on has landed after all, maybe over a newer one: the latest position goes again, at once. */
  private landedLate(): void {
    if (this.closed || !this.capture) return;
    this.dirty = true;
    this.notBefore = -Infinity;
    this.clearTimer();
    this.arm();
  }
}

/** A short reason for a failed read or write: the errno code when there is one. */
export function reasonOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
}
