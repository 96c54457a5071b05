/**
 * A current-state read taken while extensions are polled from older cursors, compared with the calls once their polls
 * have caught up with it. Knows nothing of Node-RED; the poll loop decides when.
 *
 * Why it is sound: the read lists the calls in progress at its `seq` F. The first answer of an extension's group after
 * the read comes from a cursor at or below F and reaches a seq at or past F, so with it every change of that extension
 * since its cursor has been passed on. A leg the read lists that this answer does not name did not change since before
 * the cursor: its state in the read is still its state, sent after the answer's. A leg it names but without the
 * read's state changed only after the read (had it changed in between, the read's state would be among the answer's
 * states, in its place): the read's state is sent before the answer's. Either way no older state follows a newer one,
 * whether the PBX lists every change or each changed call's latest state, and a state the read showed is not skipped.
 * A leg the table holds in progress that the read does not list and the answer does not name ended or vanished before
 * F without a poll saying so.
 *
 * What such legs mean depends on how the extension came to be polled (its mode):
 * - `adopted`: carried on from a cursor that is not its own (resume-points.ts): the table never held its calls, and a
 *   listed leg unknown to the table is a call already in progress at the cursor. It goes out as in progress (initial).
 * - `resumed`: carried on from its own saved cursor, the table restored with the states sent before. A listed leg the
 *   table does not hold was never sent (the position was saved while its extension was still being adopted, or by an
 *   older version): in progress too. One the table holds in progress that is not listed means the PBX restarted, as
 *   for `check`.
 * - `restart`: the PBX restarted and the loop carries on from a cursor of its new life: the table holds what was sent
 *   before. A listed leg goes out if its state differs (a change), an unlisted one is forgotten (it died with the
 *   restart, and the PBX will not report its end).
 * - `check`: nothing known happened. A listed leg never sent, or an unlisted one in progress (neither named by the
 *   answer), means the PBX restarted unseen (its new counter already past the cursor): it is resynchronised as for
 *   `restart`, and said.
 */
import type { CallData, SubscribeResponse, SubscribeEntry } from "../client/types";
import { TECH_PREFIX } from "./answer-entries";
import type { CallStateTable } from "./call-state-table";

export type CheckMode = "check" | "adopted" | "resumed" | "restart";

const key = (extension: string, uniqueCallId: string): string => `${extension}\u0000${uniqueCallId}`;

/** The read's entries to pass on: as calls in progress (initial) and as changes. */
export interface CheckEntries {
  inProgress: SubscribeResponse;
  changed: SubscribeResponse;
}

/** What comparing the read with the calls gave, for the extensions whose polls caught up with it. */
export interface CheckOutcome {
  extensions: string[];
  /** Read states of legs the answer names, that are not among its states: older than them, sent before them. */
  before: CheckEntries;
  /** Read states of legs no answer named since the read: current, sent after the answer's. */
  after: CheckEntries;
  /** Legs to forget: in progress in the table, not listed, not named. */
  gone: Array<{ extension: string; uniqueCallId: string }>;
  /** A `check` or `resumed` extension's calls disagree with the read: the PBX restarted unseen. */
  disagrees: boolean;
  /** Those extensions: the life of their cursors is over. */
  disagreeing: string[];
  /** The extensions whose calls the table now holds anew (all, when they disagreed): for onSnapshot. */
  whole: string[];
}

/** Stable text of a state, independent of key order (as CallStateTable compares them). */
const print = (data: CallData): string => JSON.stringify(data, Object.keys(data).sort());

export class ReadCheck {
  constructor(
    readonly read: SubscribeResponse,
    private readonly modes: Map<string, CheckMode>,
  ) {}

  get seq(): number {
    return this.read.seq;
  }

  get size(): number {
    return this.modes.size;
  }

  mode(extension: string): CheckMode | undefined {
    return this.modes.get(extension);
  }

  /** The extension is no longer polled. */
  drop(extension: string): void {
    this.modes.delete(extension);
  }

  /** An older read found the calls disagree (the PBX restarted unseen): this one resynchronises them too. */
  resync(): void {
    for (const [extension, mode] of this.modes) if (mode === "check" || mode === "resumed") this.modes.set(extension, "restart");
  }

  /**
   * The first answer for some of the extensions since the read (its seq is at or past the read's), before its entries
   * are passed on: compares the read with the calls of the extensions `caughtUp` says it brings past the read (those
   * it answered, and those polled past the read already), and stops checking them.
   */
  settle(table: CallStateTable, answer: SubscribeResponse, caughtUp: (extension: string) => boolean): CheckOutcome | undefined {
    const ready = [...this.modes.keys()].filter(caughtUp);
    if (ready.length === 0) return undefined;
    const pick = () => ({ inProgress: {} as Record<string, SubscribeEntry[]>, changed: {} as Record<string, SubscribeEntry[]> });
    const before = pick();
    const after = pick();
    const gone: CheckOutcome["gone"] = [];
    const listed = entriesOf(this.read);
    const named = new Map<string, Set<string>>();
    for (const [extension, entries] of entriesOf(answer)) {
      for (const entry of entries) {
        const leg = key(extension, String(entry.CallData.uniqueCallId));
        named.set(leg, (named.get(leg) ?? new Set()).add(print(entry.CallData)));
      }
    }
    const disagreeing = new Set<string>();
    const whole: string[] = [];
    for (const extension of ready) {
      const mode = this.modes.get(extension) as CheckMode;
      this.modes.delete(extension);
      if (mode !== "check") whole.push(extension);
      for (const entry of listed.get(extension) ?? []) {
        const id = String(entry.CallData.uniqueCallId);
        const states = named.get(key(extension, id));
        if (states?.has(print(entry.CallData))) continue; // the answer carries it, in its place
        const known = table.knows(extension, id);
        const into = states ? before : after;
        if (!known && (mode === "adopted" || mode === "resumed")) (into.inProgress[extension] ??= []).push(entry);
        else (into.changed[extension] ??= []).push(entry);
        if (!known && !states && mode === "check") disagreeing.add(extension);
      }
      const ids = new Set((listed.get(extension) ?? []).map((entry) => String(entry.CallData.uniqueCallId)));
      for (const leg of table.activeLegs(extension)) {
        const id = leg.data.uniqueCallId;
        if (ids.has(id) || named.has(key(extension, id))) continue;
        gone.push({ extension, uniqueCallId: id });
        if (mode === "check" || mode === "resumed") disagreeing.add(extension);
      }
    }
    const disagrees = disagreeing.size > 0;
    // The extensions still to catch up are resynchronised too, without saying it again.
    if (disagrees) this.resync();
    const answerOf = (data: Record<string, SubscribeEntry[]>): SubscribeResponse => ({ ...this.read, Data: data });
    const entries = (p: ReturnType<typeof pick>): CheckEntries => ({ inProgress: answerOf(p.inProgress), changed: answerOf(p.changed) });
    return {
      extensions: ready, before: entries(before), after: entries(after), gone, disagrees, disagreeing: [...disagreeing],
      whole: disagrees ? ready : whole,
    };
  }
}

/** An answer's entries per extension (only those with a call id: the loop's own checks report the others). */
function entriesOf(response: SubscribeResponse): Map<string, SubscribeEntry[]> {
  const out = new Map<string, SubscribeEntry[]>();
  for (const [name, entries] of Object.entries(response.Data ?? {})) {
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

/** Reads kept waiting at most; past it the oldest gives way (as every older read did before 1.2.0). */
export const MAX_WAITING_READS = 8;

/** How an extension came to be polled from a saved position (see `place`). */
export type Placed = "adopted" | "resumed" | "restart";

/**
 * A poll loop's read checks: those waiting for the polls to catch up with them, the extensions placed from saved
 * positions, a restart meanwhile.
 *
 * A read taken while an older one still waits (the poll after it failed, or the loop stopped and started again, and
 * any of those is followed by a read: a restart could hide behind it) does not take its place: the older read may be
 * the only one to show the state of a call that changed or ended before the newer (after a PBX restart, a call begun
 * before the client saw it). Both wait, and the answer that catches up with them settles them oldest first, so a
 * state of the older read goes out before one of the newer, and both before the answer's changes (or after them, for
 * legs the answer does not name: they did not change since before the cursor, so every read lists them alike).
 */
export class ReadChecks {
  /** Oldest first. */
  private waiting: ReadCheck[] = [];
  /** Extensions carried on from a saved position whose first check is still to come. */
  private readonly placed = new Map<string, Placed>();
  private resyncing = false;

  /** A read waits for the polls to catch up with it (they ask with timeOut=0 meanwhile). */
  get active(): boolean {
    return this.waiting.length > 0;
  }

  /**
   * Carried on from a saved position, its own or (adopted) the lowest: its calls in progress are still to be found. One
   * whose own cursor was stale (resume-points.ts) carries on from a cursor of the PBX's newest life: its check is a
   * restart's (what its flow was sent and the read lacks died with the restart, and ends).
   */
  place(extension: string, placed: Placed): void {
    this.placed.set(extension, placed);
  }

  isAdopting(extension: string): boolean {
    return this.placed.get(extension) === "adopted";
  }

  /** The extension is no longer polled. */
  drop(extension: string): void {
    for (const check of this.waiting) check.drop(extension);
    this.waiting = this.waiting.filter((check) => check.size > 0);
    this.placed.delete(extension);
  }

  /**
   * A current-state read of everything took the place of any check; except, after a PBX restart, for the extensions
   * `kept` at their cursors (possibly of its new life: PollLoop.readAll), which that read checks in their own mode
   * (resumed, adopted, or a plain check: calls that disagree with the table resynchronise them).
   */
  clear(kept: readonly string[] = [], read?: SubscribeResponse): void {
    for (const extension of [...this.placed.keys()]) if (!kept.includes(extension)) this.placed.delete(extension);
    this.waiting = [];
    this.resyncing = false;
    if (read && kept.length > 0) this.begin(read, kept);
  }

  /** The PBX restarted and the polls carry on from a cursor of its new life: the next read resynchronises. */
  restarted(): void {
    this.waiting = []; // reads of the life that is over
    this.resyncing = true;
  }

  /**
   * A read of `polled` (the extensions with a cursor), beside those still waiting. True when one placed since still
   * needs a read.
   */
  begin(read: SubscribeResponse, polled: readonly string[]): boolean {
    const modes = new Map<string, CheckMode>();
    for (const extension of polled) {
      const placed = this.placed.get(extension);
      const restart = this.resyncing || this.waiting.some((check) => check.mode(extension) === "restart");
      modes.set(extension, placed === "adopted" ? placed : restart ? "restart" : placed ?? "check");
    }
    // Bounded: a PBX that answered reads yet failed every poll after them would otherwise pile them up.
    if (this.waiting.length >= MAX_WAITING_READS) this.waiting.shift();
    this.waiting.push(new ReadCheck(read, modes));
    this.resyncing = false;
    return [...this.placed.keys()].some((extension) => !modes.has(extension));
  }

  /**
   * The first answer of a group since the reads (see ReadCheck.settle): for its extensions (`answered`), and those
   * whose cursor (`cursorOf`) is past a read already. The outcomes of the reads it settles, oldest first.
   */
  settle(
    table: CallStateTable,
    answer: SubscribeResponse,
    answered: ReadonlySet<string>,
    cursorOf: (extension: string) => number | undefined,
  ): CheckOutcome[] {
    const outcomes: CheckOutcome[] = [];
    for (const check of this.waiting) {
      const outcome = check.settle(table, answer, (extension) => answered.has(extension) || (cursorOf(extension) ?? -1) >= check.seq);
      if (!outcome) continue;
      outcomes.push(outcome);
      // Calls that disagree with a read: the other reads resynchronise what they have still to settle too.
      if (outcome.disagrees) for (const later of this.waiting) if (later !== check) later.resync();
    }
    this.waiting = this.waiting.filter((check) => check.size > 0);
    for (const extension of outcomes.flatMap((outcome) => outcome.extensions)) this.placed.delete(extension);
    return outcomes;
  }
}
