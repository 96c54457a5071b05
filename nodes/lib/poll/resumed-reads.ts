/**
 * Extensions carried on from their own saved cursor after a restart whose read has not answered yet, and the
 * subscribers that joined them meanwhile. Knows nothing of Node-RED.
 *
 * Until that read answers, the hub's table holds the states restored from the saved position: what had been sent when
 * it was written. With a store that lags (localfilesystem flushes every 30 s) a flow may have got newer states before
 * the crash, so handing the table to a subscriber that joins meanwhile (the second subscribe node of the restart, one
 * added while the read hangs) could send an older state after a newer one. Such a subscriber is held instead: it gets
 * the changes the polls pass on like the others, and once the read has answered, the calls in progress it was not
 * sent meanwhile (the first subscriber gets neither: it carries on from the cursor, as the flow did before the crash).
 * Until then the hub's position does not store those calls as sent: after a crash they go out as calls in progress.
 */
import type { ActiveLeg, SavedLeg } from "./call-state-table";
import type { CallEvent } from "./poll-types";
import type { ResumePoint } from "./resume-points";

export class ResumedReads<S extends { onEvent(event: CallEvent): void }> {
  private readonly unread = new Set<string>();
  /** Held subscriber → extension → the legs it was sent while held. */
  private readonly held = new Map<S, Map<string, Set<string>>>();

  /** A saved position was restored: its extensions wait for their read. */
  restored(points: readonly ResumePoint[]): void {
    for (const point of points) for (const extension of point.extensions) this.unread.add(extension);
  }

  /** True while `extension`'s table holds restored states that no read has checked. */
  has(extension: string): boolean {
    return this.unread.has(extension);
  }

  /**
   * The legs (the table's, for the position) as sent to every subscriber: not those of an extension a subscriber is
   * held for, which has not had them (after a crash they go out as calls in progress).
   */
  sentLegs(legs: SavedLeg[]): SavedLeg[] {
    const held = new Set([...this.held.values()].flatMap((extensions) => [...extensions.keys()]));
    return held.size === 0 ? legs : legs.filter((leg) => !held.has(leg.extension));
  }

  hold(subscriber: S, extension: string): void {
    let extensions = this.held.get(subscriber);
    if (!extensions) this.held.set(subscriber, (extensions = new Map()));
    if (!extensions.has(extension)) extensions.set(extension, new Set());
  }

  /** An event reached `subscriber`: a leg it has now (its latest state: every change goes to it too). */
  sent(subscriber: S, event: CallEvent): void {
    this.held.get(subscriber)?.get(event.extension)?.add(event.data.uniqueCallId);
  }

  /** The subscriber left (or its list changed): its holds, to hand on to its next version. */
  take(subscriber: S): Map<string, Set<string>> | undefined {
    const extensions = this.held.get(subscriber);
    this.held.delete(subscriber);
    return extensions;
  }

  /** The holds of `extensions` (a subscriber's kept ones), given back to its next version. */
  give(subscriber: S, holds: Map<string, Set<string>> | undefined, extensions: readonly string[]): void {
    for (const [extension, legs] of holds ?? []) {
      if (!extensions.includes(extension)) continue;
      this.hold(subscriber, extension);
      for (const leg of legs) this.held.get(subscriber)?.get(extension)?.add(leg);
    }
  }

  /**
   * The read of `extensions` has answered and its changes were passed on: each held subscriber gets the calls in
   * progress it was not sent meanwhile (`current`: the table's, as events), after what `before` hands it.
   */
  read(extensions: readonly string[], current: (extension: string) => CallEvent[], before: (subscriber: S) => void): void {
    for (const extension of extensions) {
      this.unread.delete(extension);
      for (const [subscriber, holds] of this.held) {
        const legs = holds.get(extension);
        if (!legs) continue;
        before(subscriber); // what it is still owed is handed on first (a lingering extension's changes)
        holds.delete(extension);
        if (holds.size === 0) this.held.delete(subscriber);
        for (const event of current(extension)) if (!legs.has(event.data.uniqueCallId)) subscriber.onEvent(event);
      }
    }
  }

  /** Everything restored is gone (a long park: the hub starts afresh). */
  clear(): void {
    this.unread.clear();
    this.held.clear();
  }
}

/** A table's calls in progress on an extension as events (the current state: initial). */
export function currentEvents(extension: string, legs: readonly ActiveLeg[], seq: number): CallEvent[] {
  return legs.map((leg) => ({ extension, ...leg, seq, initial: true }));
}
