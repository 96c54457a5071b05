/**
 * The extensions of a hub whose last subscriber left during a deploy (see subscription-hub.ts): the calls each had
 * in progress then, and its changes since, kept for the subscriber that takes it back. Each leaves after `parkMs`
 * unless taken back. Knows nothing of Node-RED.
 */
import type { CallEvent } from "./poll-types";

/** Changes kept per hub for lingering extensions; past it the oldest are dropped, with a warning. */
export const MAX_BUFFERED = 10_000;

export interface Lingering {
  since: number;
  /** The calls in progress when the last subscriber left. */
  replay: CallEvent[];
  /** Changes since. */
  buffered: CallEvent[];
}

export interface LingeringOptions {
  parkMs: number;
  now: () => number;
  onWarning?: (message: string) => void;
  /** Some waited `parkMs` (`expired` true) or the timer found none due: the hub updates its polls and position. */
  onExpiry: (expired: boolean) => void;
}

export class LingeringExtensions {
  private readonly map = new Map<string, Lingering>();
  private count = 0;
  private dropWarned = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: LingeringOptions) {}

  get size(): number {
    return this.map.size;
  }

  /** Changes kept that no subscriber has had yet. */
  get buffered(): number {
    return this.count;
  }

  has(extension: string): boolean {
    return this.map.has(extension);
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  /** The last subscriber of `extension` left: it lingers, with `replay` and the changes not yet handed on. */
  leave(extension: string, replay: CallEvent[], buffered: CallEvent[]): void {
    this.map.set(extension, { since: this.options.now(), replay, buffered });
    this.count += buffered.length;
    this.arm();
  }

  /** A subscriber takes the extension back: what it must be handed, if it lingered. */
  take(extension: string): Lingering | undefined {
    const left = this.map.get(extension);
    if (!left) return undefined;
    this.map.delete(extension);
    this.count -= left.buffered.length;
    this.dropWarned = false;
    return left;
  }

  clear(): void {
    this.map.clear();
    this.count = 0;
    this.dropWarned = false;
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.clear();
  }

  /** A change on an extension nobody watches: kept if it lingers. */
  buffer(event: CallEvent): void {
    const left = this.map.get(event.extension);
    if (!left) return;
    left.buffered.push(event);
    this.count += 1;
    if (this.count <= MAX_BUFFERED) return;
    // Drop the oldest change of the longest buffer.
    let longest: Lingering | undefined;
    for (const l of this.map.values()) if (!longest || l.buffered.length > longest.buffered.length) longest = l;
    longest?.buffered.shift();
    this.count -= 1;
    if (this.dropWarned) return;
    this.dropWarned = true;
    this.options.onWarning?.(`more than ${MAX_BUFFERED} changes on extensions no subscribe node listens to: dropping the oldest`);
  }

  private arm(): void {
    if (this.timer !== undefined || this.map.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
    }, this.options.parkMs);
    this.timer.unref?.();
  }

  /** Lingering extensions nobody took back within parkMs leave. */
  private expire(): void {
    let expired = false;
    for (const [extension, left] of this.map) {
      if (this.options.now() - left.since < this.options.parkMs) continue;
      this.map.delete(extension);
      this.count -= left.buffered.length;
      expired = true;
    }
    this.arm();
    this.options.onExpiry(expired);
  }
}
