/**
 * When a hub may settle a start or a deploy: at flows:started the saved positions of extensions nobody watches are
 * dropped and lingering extensions leave (SubscriptionHub.releaseLingering). A subscriber that learns its extensions
 * later (its kept list read from an asynchronous context store) announces itself first (`expect`): the release then
 * waits until it has registered or left, at most `waitMs`, so that its extensions still carry on from the saved
 * position instead of being read afresh. Knows nothing of Node-RED.
 */
import { READ_FOR_MS, READ_TIMEOUT_MS } from "./retried-read";

/** As long as a kept list is tried (retried-read.ts), and its last read's time on top. */
export const START_WAIT_MS = READ_FOR_MS + READ_TIMEOUT_MS;

export class StartGate {
  private readonly expected = new Set<string>();
  private due = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Those it stopped waiting for, told to `release`. */
  private gaveUp: string[] = [];
  /** Told after each release (SubscriptionHub.onStarted). */
  readonly listeners = new Set<() => void>();

  constructor(private readonly release: (gaveUp: readonly string[]) => void, private readonly waitMs = START_WAIT_MS) {}

  /** A subscriber with this id will register (or leave) soon. */
  expect(id: string): void {
    this.expected.add(id);
  }

  isExpected(id: string): boolean {
    return this.expected.has(id);
  }

  /** The subscriber registered, or left without registering. */
  settled(id: string): void {
    if (this.expected.delete(id)) this.check();
  }

  /** flows:started: release now, or once the expected subscribers are in. */
  flowsStarted(): void {
    this.due = true;
    this.check();
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.expected.clear();
    this.due = false;
  }

  private check(): void {
    if (!this.due) return;
    if (this.expected.size > 0) {
      // A subscriber that never comes (its store never answers) must not keep stale positions and lingering
      // extensions for ever: past the wait, those it would have taken are read afresh.
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.gaveUp = [...this.expected];
        this.expected.clear();
        this.check();
      }, this.waitMs);
      this.timer.unref?.();
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.due = false;
    const gaveUp = this.gaveUp;
    this.gaveUp = [];
    this.release(gaveUp);
    for (const listener of [...this.listeners]) listener();
  }
}
