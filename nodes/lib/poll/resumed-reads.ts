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
 *
 * The position stored meanwhile says whom the calls in progress are still owed to (`awaiting`: extension → subscriber
 * ids): a crash before the read answers must not leave them thinking those calls were sent to every subscriber. After
 * such a crash, a subscriber it names is held again, also when it registers first.
 *
 * The position also says who watched what (`watching`: subscriber id → extensions). A subscriber that did not watch a
 * resumed extension when it was written (a msg had removed it, and the restart brought back the node's configured
 * list) had not been sent that extension's calls: it is held too, whenever it registers; one that did carries on from
 * the cursor like the first. Positions written before 1.2.0 do not say: the first subscriber carries on, later ones
 * are held.
 */
import type { ActiveLeg } from "./call-state-table";
import type { CallEvent } from "./poll-types";
import type { ResumePoint } from "./resume-points";

/** Per held subscriber: its id, and per extension the legs it was sent while held. */
interface Hold {
  id: string;
  legs: Map<string, Set<string>>;
}

export class ResumedReads<S extends { extensions: readonly string[]; onEvent(event: CallEvent): void }> {
  private readonly unread = new Set<string>();
  private readonly held = new Map<S, Hold>();
  /** From the saved position: extension → ids of subscribers still owed its calls in progress. */
  private readonly owed = new Map<string, Set<string>>();
  /** From the saved position: extension → ids of the subscribers that watched it; undefined when it does not say. */
  private watchers: Map<string, Set<string>> | undefined;

  /**
   * A saved position was restored: its extensions wait for their read; the subscribers registered already (while it
   * was read from a store) that it says are owed calls in progress are held.
   */
  restored(points: readonly ResumePoint[], awaiting: Readonly<Record<string, readonly string[]>> = {}, registered: Iterable<[string, S]> = [],
    watching?: Readonly<Record<string, readonly string[]>>): void {
    for (const point of points) for (const extension of point.extensions) this.unread.add(extension);
    if (watching) {
      this.watchers ??= new Map();
      for (const [id, extensions] of Object.entries(watching)) {
        for (const extension of extensions) this.watchers.set(extension, (this.watchers.get(extension) ?? new Set()).add(id));
      }
    }
    for (const [extension, ids] of Object.entries(awaiting)) {
      if (this.unread.has(extension)) this.owed.set(extension, new Set([...(this.owed.get(extension) ?? []), ...ids]));
    }
    for (const [id, subscriber] of registered) {
      this.watches(id, subscriber.extensions);
      for (const extension of subscriber.extensions) if (this.holds(id, extension, false)) this.hold(subscriber, id, extension);
    }
  }

  /**
   * Subscriber `id` watches `extensions` now (it registers, or had when the position came, or a msg changed its list):
   * a resumed extension the position says it watched that is not among them it watches no longer (a msg removed it,
   * or its node restarted with another list, e.g. its configured one without an extension a msg had added). Should it
   * take it back, that is a new watch, owed the calls in progress like any added extension, not a carry-on of a flow
   * that had them all along.
   */
  watches(id: string, extensions: readonly string[]): void {
    for (const [extension, ids] of this.watchers ?? []) if (!extensions.includes(extension)) ids.delete(id);
  }

  /** True while `extension`'s table holds restored states that no read has checked. */
  has(extension: string): boolean {
    return this.unread.has(extension);
  }

  /**
   * Whether subscriber `id`, registering on `extension`, is held: while its read has not answered, when the saved
   * position says it is still owed the calls in progress, or that it did not watch the extension (when it does not say
   * who watched: when another subscriber came first, `joining`).
   */
  holds(id: string, extension: string, joining: boolean): boolean {
    if (!this.unread.has(extension)) return false;
    if (this.owed.get(extension)?.has(id) === true) return true;
    return this.watchers ? this.watchers.get(extension)?.has(id) !== true : joining;
  }

  /** Whether subscriber `id` carries on from `extension`'s cursor, as its flow did before the restart (nothing to hand). */
  continues(id: string, extension: string): boolean {
    return this.unread.has(extension) && this.watchers?.get(extension)?.has(id) === true && this.owed.get(extension)?.has(id) !== true;
  }

  hold(subscriber: S, id: string, extension: string): void {
    let hold = this.held.get(subscriber);
    if (!hold) this.held.set(subscriber, (hold = { id, legs: new Map() }));
    if (!hold.legs.has(extension)) hold.legs.set(extension, new Set());
  }

  /** An event reached `subscriber`: a leg it has now (its latest state: every change goes to it too). */
  sent(subscriber: S, event: CallEvent): void {
    this.held.get(subscriber)?.legs.get(event.extension)?.add(event.data.uniqueCallId);
  }

  /** The subscriber left (or its list changed): its holds, to hand on to its next version. */
  take(subscriber: S): Hold | undefined {
    const hold = this.held.get(subscriber);
    this.held.delete(subscriber);
    return hold;
  }

  /** The holds of `extensions` (a subscriber's kept ones), given back to its next version. */
  give(subscriber: S, hold: Hold | undefined, extensions: readonly string[]): void {
    for (const [extension, legs] of hold?.legs ?? []) {
      if (!extensions.includes(extension)) continue;
      this.hold(subscriber, hold?.id ?? "", extension);
      for (const leg of legs) this.held.get(subscriber)?.legs.get(extension)?.add(leg);
    }
  }

  /** For the stored position: extension → ids of the subscribers its calls in progress are still owed to. */
  awaiting(): { awaiting?: Record<string, string[]> } {
    const out = new Map<string, Set<string>>();
    for (const [extension, ids] of this.owed) out.set(extension, new Set(ids));
    for (const { id, legs } of this.held.values()) for (const extension of legs.keys()) out.set(extension, (out.get(extension) ?? new Set()).add(id));
    return out.size === 0 ? {} : { awaiting: Object.fromEntries([...out].map(([extension, ids]) => [extension, [...ids]])) };
  }

  /**
   * The read of `extensions` has answered and its changes were passed on: each held subscriber gets the calls in
   * progress it was not sent meanwhile (`current`: the table's, as events), after what `before` hands it.
   */
  read(extensions: readonly string[], current: (extension: string) => CallEvent[], before: (subscriber: S) => void): void {
    for (const extension of extensions) {
      this.unread.delete(extension);
      this.owed.delete(extension);
      this.watchers?.delete(extension);
      for (const [subscriber, hold] of this.held) {
        const legs = hold.legs.get(extension);
        if (!legs) continue;
        before(subscriber); // what it is still owed is handed on first (a lingering extension's changes)
        hold.legs.delete(extension);
        if (hold.legs.size === 0) this.held.delete(subscriber);
        for (const event of current(extension)) if (!legs.has(event.data.uniqueCallId)) subscriber.onEvent(event);
      }
    }
  }

  /** Everything restored is gone (a long park: the hub starts afresh). */
  clear(): void {
    this.unread.clear();
    this.held.clear();
    this.owed.clear();
    this.watchers = undefined;
  }
}

/** A table's calls in progress on an extension as events (the current state: initial). */
export function currentEvents(extension: string, legs: readonly ActiveLeg[], seq: number): CallEvent[] {
  return legs.map((leg) => ({ extension, ...leg, seq, initial: true }));
}
