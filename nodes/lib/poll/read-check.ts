/**
 * A current-state read taken while extensions are polled from older cursors, compared with the calls once their polls
 * have caught up with it. Knows nothing of Node-RED; the poll loop decides when.
 *
 * Why it is sound: the read lists the calls in progress at its `seq` F. Once the group of an extension has answered
 * from a cursor at or below F up to a seq at or past F, every change of that extension since its cursor has been
 * passed on. A leg the read lists that none of those answers named (`touched`) did not change since before the
 * cursor, so its state in the read is still its state now: sending it cannot put an older state after a newer one,
 * whatever the PBX's answer style (every change, or each changed call's latest state). A leg named by an answer is
 * left alone: the answer's state may be newer than the read's. Likewise a leg the table holds in progress that the read
 * does not list, and that no answer named, ended or vanished before F without a poll saying so.
 *
 * What such legs mean depends on how the extension came to be polled (its mode):
 * - `adopted`: carried on from a cursor that is not its own (resume-points.ts): the table never held its calls, and a
 *   listed leg nobody named is a call already in progress at the cursor. It goes out as in progress (initial).
 * - `resumed`: carried on from its own saved cursor, the table restored with the states sent before. A listed leg
 *   nobody named that the table does not hold was never sent (the position was saved while its extension was still
 *   being adopted, or by an older version): in progress too. One the table holds in progress that is not listed means
 *   the PBX restarted, as for `check`.
 * - `restart`: the PBX restarted and the loop carries on from a cursor of its new life: the table holds what was sent
 *   before. A listed leg nobody named goes out if its state differs (a change), an unlisted one is forgotten (it died
 *   with the restart, and the PBX will not report its end).
 * - `check`: nothing known happened. A listed leg never sent, or an unlisted one in progress, means the PBX restarted
 *   unseen (its new counter already past the cursor): it is resynchronised as for `restart`, and said.
 */
import type { CallData, SubscribeResponse, SubscribeEntry } from "../client/types";
import { TECH_PREFIX } from "./answer-entries";
import type { CallStateTable } from "./call-state-table";

export type CheckMode = "check" | "adopted" | "resumed" | "restart";

const key = (extension: string, uniqueCallId: string): string => `${extension}\u0000${uniqueCallId}`;

/** What comparing the read with the calls gave, for the extensions whose polls caught up. */
export interface CheckOutcome {
  extensions: string[];
  /** The read's entries to pass on as calls in progress (initial) and as changes, in the read's order. */
  inProgress: SubscribeResponse;
  changed: SubscribeResponse;
  /** Legs to forget: in progress in the table, not listed, named by no answer. */
  gone: Array<{ extension: string; uniqueCallId: string }>;
  /** A `check` extension's calls disagree with the read: the PBX restarted unseen. */
  disagrees: boolean;
  /** The extensions whose calls the table now holds anew (all, when they disagreed): for onSnapshot. */
  whole: string[];
}

export class ReadCheck {
  private readonly touched: Set<string>;

  constructor(
    readonly read: SubscribeResponse,
    private readonly modes: Map<string, CheckMode>,
    touched?: ReadonlySet<string>,
  ) {
    this.touched = new Set(touched);
  }

  get seq(): number {
    return this.read.seq;
  }

  get size(): number {
    return this.modes.size;
  }

  mode(extension: string): CheckMode | undefined {
    return this.modes.get(extension);
  }

  /** Legs named so far (for a read that takes this one's place: a superset of what it must leave alone). */
  get named(): ReadonlySet<string> {
    return this.touched;
  }

  /** The extension is no longer polled. */
  drop(extension: string): void {
    this.modes.delete(extension);
  }

  /** An answer of the polls: the legs it names may have changed since the read. */
  note(response: SubscribeResponse): void {
    for (const [name, entries] of Object.entries(response.Data ?? {})) {
      if (!Array.isArray(entries)) continue;
      const extension = name.replace(TECH_PREFIX, "");
      for (const entry of entries) {
        const id = (entry as SubscribeEntry | undefined)?.CallData?.uniqueCallId;
        if (id !== undefined && id !== null) this.touched.add(key(extension, String(id)));
      }
    }
  }

  /** Compares the read with the calls of the extensions `caughtUp` says are polled past it, and stops checking them. */
  settle(table: CallStateTable, caughtUp: (extension: string) => boolean): CheckOutcome | undefined {
    const ready = [...this.modes.keys()].filter(caughtUp);
    if (ready.length === 0) return undefined;
    const inProgress: Record<string, SubscribeEntry[]> = {};
    const changed: Record<string, SubscribeEntry[]> = {};
    const gone: CheckOutcome["gone"] = [];
    const listed = this.listed();
    let disagrees = false;
    const whole: string[] = [];
    for (const extension of ready) {
      const mode = this.modes.get(extension) as CheckMode;
      this.modes.delete(extension);
      if (mode !== "check") whole.push(extension);
      for (const entry of listed.get(extension) ?? []) {
        const id = String(entry.CallData.uniqueCallId);
        if (this.touched.has(key(extension, id))) continue;
        const known = table.knows(extension, id);
        if (!known && (mode === "adopted" || mode === "resumed")) (inProgress[extension] ??= []).push(entry);
        else (changed[extension] ??= []).push(entry);
        if (!known && mode === "check") disagrees = true;
      }
      const ids = new Set((listed.get(extension) ?? []).map((entry) => String(entry.CallData.uniqueCallId)));
      for (const leg of table.activeLegs(extension)) {
        const id = leg.data.uniqueCallId;
        if (ids.has(id) || this.touched.has(key(extension, id))) continue;
        gone.push({ extension, uniqueCallId: id });
        if (mode === "check" || mode === "resumed") disagrees = true;
      }
    }
    // The extensions still to catch up are resynchronised too, without saying it again.
    if (disagrees) for (const [extension, mode] of this.modes) if (mode === "check" || mode === "resumed") this.modes.set(extension, "restart");
    const answer = (data: Record<string, SubscribeEntry[]>): SubscribeResponse => ({ ...this.read, Data: data });
    return { extensions: ready, inProgress: answer(inProgress), changed: answer(changed), gone, disagrees, whole: disagrees ? ready : whole };
  }

  /** The read's entries per extension (only those with a call id: the loop's own checks report the others). */
  private listed(): Map<string, SubscribeEntry[]> {
    const out = new Map<string, SubscribeEntry[]>();
    for (const [name, entries] of Object.entries(this.read.Data ?? {})) {
      if (!Array.isArray(entries)) continue;
      const extension = name.replace(TECH_PREFIX, "");
      const list = out.get(extension) ?? [];
      for (const entry of entries as Array<SubscribeEntry | undefined>) {
        const data: CallData | undefined = entry?.CallData;
        if (data && typeof data === "object" && data.uniqueCallId !== undefined && data.uniqueCallId !== null) list.push(entry as SubscribeEntry);
      }
      out.set(extension, list);
    }
    return out;
  }
}

/** A poll loop's read checks: the one in progress, the extensions adopted, whether the PBX restarted meanwhile. */
export class ReadChecks {
  private current: ReadCheck | undefined;
  /** Extensions carried on from a saved position whose first check is still to come. */
  private readonly placed = new Map<string, "adopted" | "resumed">();
  private resyncing = false;

  /** A read waits for the polls to catch up with it (they ask with timeOut=0 meanwhile). */
  get active(): boolean {
    return this.current !== undefined;
  }

  /** Carried on from a saved position, its own or (adopted) the lowest: its calls in progress are still to be found. */
  place(extension: string, adopted: boolean): void {
    this.placed.set(extension, adopted ? "adopted" : "resumed");
  }

  isAdopting(extension: string): boolean {
    return this.placed.get(extension) === "adopted";
  }

  /** The extension is no longer polled. */
  drop(extension: string): void {
    this.current?.drop(extension);
    this.placed.delete(extension);
  }

  /** A current-state read of everything took the place of any check. */
  clear(): void {
    this.current = undefined;
    this.placed.clear();
    this.resyncing = false;
  }

  /** The PBX restarted and the polls carry on from a cursor of its new life: the next read resynchronises. */
  restarted(): void {
    this.current = undefined;
    this.resyncing = true;
  }

  /** A read of `polled` (extensions with a cursor): it takes the place of the one in progress. True when an adopted one still needs a read. */
  begin(read: SubscribeResponse, polled: readonly string[]): boolean {
    const modes = new Map<string, CheckMode>();
    for (const extension of polled) {
      const restart = this.resyncing || this.current?.mode(extension) === "restart";
      modes.set(extension, this.placed.get(extension) ?? (restart ? "restart" : "check"));
    }
    this.current = new ReadCheck(read, modes, this.current?.named);
    this.resyncing = false;
    return [...this.placed.keys()].some((extension) => !modes.has(extension));
  }

  /** An answer of the polls (see ReadCheck.note). */
  note(response: SubscribeResponse): void {
    this.current?.note(response);
  }

  /** Compares the read with the calls of the extensions whose cursor (`cursorOf`) has reached it. */
  settle(table: CallStateTable, cursorOf: (extension: string) => number | undefined): CheckOutcome | undefined {
    const check = this.current;
    if (!check) return undefined;
    const outcome = check.settle(table, (extension) => (cursorOf(extension) ?? -1) >= check.seq);
    if (check.size === 0) this.current = undefined;
    for (const extension of outcome?.extensions ?? []) this.placed.delete(extension);
    return outcome;
  }
}
