/**
 * Changes kept, during a start, for the subscribers the saved position names as watching an extension that have not
 * registered yet (a subscribe node whose kept list is still being read from a slow context store: it announced itself
 * with `expect`). Another subscriber on the same extension makes the polls carry on from the saved cursor, so the
 * changes made while Node-RED was down come now; the late one must get them too once it registers, and then carry on
 * from the cursor like the others instead of getting only the current state. Knows nothing of Node-RED.
 *
 * Kept until the start is over (flows:started and the announced subscribers in, or the start gate gave up on them:
 * start-gate.ts), at most MAX_LATE changes in all. While any are kept no position is stored (the hub's `holdsChanges`):
 * a crash before they are handed on must not have moved the cursor past them.
 */
import type { CallEvent } from "./poll-types";

/** Changes kept per hub for late subscribers; past it the oldest are dropped, with a warning. */
export const MAX_LATE = 10_000;

interface Late {
  /** Extension → the changes passed on for it since the restart. */
  kept: Map<string, CallEvent[]>;
  /** The extensions the saved position says it watched and still owed the calls in progress of. */
  owed: Set<string>;
}

export class LateSubscribers {
  private readonly late = new Map<string, Late>();
  private count = 0;
  private dropWarned = false;
  private over = false;

  constructor(private readonly onWarning?: (message: string) => void) {}

  /** Changes kept that no subscriber has had yet. */
  get buffered(): number {
    return this.count;
  }

  /**
   * A saved position was restored: each subscriber it names as watching (`watching`) that has not registered yet is
   * waited for, unless the start is over already.
   */
  restored(watching: Readonly<Record<string, readonly string[]>> | undefined, awaiting: Readonly<Record<string, readonly string[]>> = {},
    registered: ReadonlySet<string> | Map<string, unknown>): void {
    if (this.over || !watching) return;
    for (const [id, extensions] of Object.entries(watching)) {
      if (registered.has(id) || extensions.length === 0) continue;
      const owed = new Set(extensions.filter((extension) => awaiting[extension]?.includes(id) === true));
      this.late.set(id, { kept: new Map(extensions.map((extension) => [extension, []])), owed });
    }
  }

  /** For the stored position: the extensions the late ones watched (they still do, as far as anyone knows). */
  watching(): Record<string, string[]> {
    return Object.fromEntries([...this.late].map(([id, late]) => [id, [...late.kept.keys()]]));
  }

  /** For the stored position: `awaiting` (extension → subscriber ids owed its calls in progress) with the late ones added. */
  withAwaiting(given: { awaiting?: Record<string, string[]> }): { awaiting?: Record<string, string[]> } {
    const awaiting: Record<string, string[]> = { ...given.awaiting };
    for (const [id, late] of this.late) {
      for (const extension of late.owed) if (!awaiting[extension]?.includes(id)) awaiting[extension] = [...(awaiting[extension] ?? []), id];
    }
    return Object.keys(awaiting).length === 0 ? {} : { awaiting };
  }

  /** A change passed on: kept for each late subscriber that watched its extension. */
  keep(event: CallEvent): void {
    for (const late of this.late.values()) {
      const kept = late.kept.get(event.extension);
      if (!kept) continue;
      kept.push(event);
      this.count += 1;
      if (this.count > MAX_LATE) this.dropOldest();
    }
  }

  /**
   * Subscriber `id` registers with `extensions`: per extension it watched before, the changes it is to be handed (it
   * then carries on from the cursor) and whether it is still owed the calls in progress. Those it no longer watches
   * are dropped. Undefined when it was not waited for.
   */
  take(id: string, extensions: readonly string[]): Map<string, { changes: CallEvent[]; owed: boolean }> | undefined {
    const late = this.late.get(id);
    if (!late) return undefined;
    this.late.delete(id);
    const out = new Map<string, { changes: CallEvent[]; owed: boolean }>();
    for (const [extension, changes] of late.kept) {
      this.count -= changes.length;
      if (extensions.includes(extension)) out.set(extension, { changes, owed: late.owed.has(extension) });
    }
    return out;
  }

  /** The subscriber left before registering (its node was closed). */
  drop(id: string): void {
    this.take(id, []);
  }

  /**
   * The start is over: what is still kept goes. `gaveUp`: ids the start gate stopped waiting for (their flows miss
   * those changes: said once).
   */
  release(gaveUp: readonly string[] = []): void {
    this.over = true;
    const lost = gaveUp.filter((id) => [...(this.late.get(id)?.kept.values() ?? [])].some((changes) => changes.length > 0));
    this.clear();
    if (lost.length > 0) this.onWarning?.(`${lost.length} subscribe node(s) took too long to read their kept extensions: the changes made meanwhile were not sent to them`);
  }

  clear(): void {
    this.late.clear();
    this.count = 0;
  }

  /** Drop the oldest change of the longest list. */
  private dropOldest(): void {
    let longest: CallEvent[] | undefined;
    for (const late of this.late.values()) for (const kept of late.kept.values()) if (!longest || kept.length > longest.length) longest = kept;
    longest?.shift();
    this.count -= 1;
    if (this.dropWarned) return;
    this.dropWarned = true;
    this.onWarning?.(`more than ${MAX_LATE} changes kept for subscribe nodes still reading their kept extensions: dropping the oldest`);
  }
}

/**
 * What a late subscriber is handed for an extension: the changes kept for it, then, when it was still owed them, the
 * calls in progress (`current`) that none of those changes was about.
 */
export function lateReplay(carried: { changes: CallEvent[]; owed: boolean }, current: CallEvent[]): CallEvent[] {
  if (!carried.owed) return carried.changes;
  const had = new Set(carried.changes.map((event) => event.data.uniqueCallId));
  return [...carried.changes, ...current.filter((event) => !had.has(event.data.uniqueCallId))];
}
