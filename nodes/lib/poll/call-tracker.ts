/**
 * Follows each call leg from its first state to its end, for two things a flow often wants without a function
 * node: a `missed` flag on the end of an inbound call that never connected, and one summary per finished leg.
 * The flag is on exactly one msg per leg, the first that ends it (Busy, No Answer, or Hungup when it comes first), so
 * that a flow counting flagged msgs counts each leg once: the Hungup that often follows Busy / No Answer has none.
 * Knows nothing of Node-RED. Memory is bounded; the only timer is the grace after Busy / No Answer.
 * Times shown (the ISO stamps) are wall-clock; durations are measured on the monotonic clock, so that a clock step
 * during a call gives neither a negative nor an hour-long talk time. A change that arrived after an outage
 * (CallEvent.afterOutage) happened at an unknown moment of it: its time, and the durations it bounds, are null.
 * Across a restart the stamps of the saving process are mapped through the two wall clocks: when the clock at boot is
 * behind the saver's (no RTC before NTP), an outage or span that comes out negative is unknown (null), never 0.
 */
import type { CallEvent } from "./poll-loop";
import { summaryId } from "./event-id";
import { invalid, isObject } from "../json-checks";
import { monotonicNow } from "../monotonic";

/** Statuses that end a leg; Busy and No Answer may still be followed by a Hungup carrying the cause. */
const FINAL = "Hungup";
const ENDING: ReadonlySet<string> = new Set(["Busy", "No Answer"]);

export interface CallSummary {
  extension: string;
  uniqueCallId: string;
  callId: number | undefined;
  direction: "inbound" | "outbound";
  /** The other party's number, from this extension's point of view. */
  callerId: string;
  isQueueCall: boolean;
  isClickToDialCall: boolean;
  /**
   * ISO times as this node saw them; `startedAt` is the first state seen (the ring, unless `partial`). Null when that
   * change arrived after an outage (its moment is unknown); `connectedAt` is null too when the leg never connected.
   */
  startedAt: string | null;
  connectedAt: string | null;
  endedAt: string | null;
  /** Null when a time they span is unknown. `talkSeconds` is 0 for a leg that never connected. */
  ringSeconds: number | null;
  talkSeconds: number | null;
  durationSeconds: number | null;
  /** The status that ended the leg (Hungup, Busy, No Answer) and the PBX's cause when it gave one. */
  endStatus: string;
  hangupCause: string | null;
  answered: boolean;
  missed: boolean;
  /**
   * True when a state of the leg that matters was not seen: its first (in progress when this node started watching
   * it, or not reported), or its answer (a later state showed it had connected: the PBX lists each call's latest state
   * only, and the connect came and went unseen, e.g. during an outage; then connectedAt, ringSeconds and talkSeconds
   * are null).
   */
  partial: boolean;
  /** True when some of these times are unknown (null): changes of the leg arrived after an outage. */
  afterOutage: boolean;
  /** The longest such outage in seconds, when known; else null. */
  outageSeconds: number | null;
  /** One per leg (event-id.ts): the same when the summary is sent again after a crash. */
  eventId: string;
  /** Present (true) when the PBX stopped listing the leg without reporting its end (a PBX restart): ended unseen. */
  vanished?: true;
}

export interface TrackerOptions {
  onSummary: (summary: CallSummary) => void;
  /** Wall clock, for the ISO times of a summary. */
  now?: () => number;
  /** The clock durations and the memory of finished legs are measured on. Default monotonic. */
  monotonic?: () => number;
  /** How long to wait for a Hungup after Busy / No Answer before summarising. */
  graceMs?: number;
  maxLegs?: number;
  /**
   * How long a summarised leg is remembered, so that a late Hungup (after the grace) or a repeated end state of it
   * gives no second summary. Default 5 min, as long as the call-state table keeps ended legs.
   */
  finishedTtlMs?: number;
}

/**
 * A moment, on both clocks: `wall` to show, `mono` to subtract. `late` when the change arrived after an outage (then
 * it is only when it arrived), with the outage's length when known (ms).
 */
interface Stamp {
  wall: number;
  mono: number;
  late?: { outageMs: number | null };
}

/** A leg already summarised: what its end msgs said, and when it was summarised (monotonic). */
interface Finished {
  missed: boolean;
  at: number;
}

interface Leg {
  extension: string;
  uniqueCallId: string;
  callId: number | undefined;
  inbound: boolean;
  callerId: string;
  isQueueCall: boolean;
  isClickToDialCall: boolean;
  startedAt: Stamp;
  connectedAt: Stamp | undefined;
  endingStatus: string | undefined;
  endingAt: Stamp | undefined;
  partial: boolean;
  /** First seen as a change that ends it, never connected (callStartTime ""): it rang and ended unseen. */
  endedUnanswered: boolean;
  /**
   * When a state after the connect (callStartTime set) showed the leg had connected, its Connected never seen:
   * answered, at a time unknown. Late when that state arrived after an outage.
   */
  answeredUnseen: Stamp | undefined;
  grace: ReturnType<typeof setTimeout> | undefined;
}

export class CallTracker {
  private readonly legs = new Map<string, Leg>();
  // Insertion order is summary order: the oldest first, for pruning.
  private readonly finished = new Map<string, Finished>();
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly graceMs: number;
  private readonly maxLegs: number;
  private readonly finishedTtlMs: number;
  /** When the state restored was saved (wall ms): an outage of unknown start began there at the latest. */
  private savedAt: number | undefined;

  constructor(private readonly options: TrackerOptions) {
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? monotonicNow;
    this.graceMs = options.graceMs ?? 5000;
    this.maxLegs = options.maxLegs ?? 10_000;
    this.finishedTtlMs = options.finishedTtlMs ?? 5 * 60_000;
  }

  get size(): number {
    return this.legs.size;
  }

  /**
   * Records an event. Returns the `missed` flag for the first msg that ends a leg (true: inbound, never connected),
   * or undefined for any other msg, a later end of the same leg included.
   */
  observe(event: CallEvent): boolean | undefined {
    const { data } = event;
    const key = `${event.extension}\u0000${data.uniqueCallId}`;
    const now = this.stampOf(event);
    this.pruneFinished(now.mono);
    const done = this.finished.get(key);
    // Already summarised: a late Hungup or a repeated end is the same end, whose first msg had the flag.
    if (done) return undefined;
    let leg = this.legs.get(key);
    if (!leg) {
      leg = {
        extension: event.extension,
        uniqueCallId: data.uniqueCallId,
        callId: event.callId,
        inbound: data.inbound !== false,
        callerId: typeof data.callerId === "string" ? data.callerId : "",
        isQueueCall: data.isQueueCall === true,
        isClickToDialCall: data.isClickToDialCall === true,
        startedAt: now,
        connectedAt: undefined,
        endingStatus: undefined,
        endingAt: undefined,
        // A leg first seen in a state other than its first (Ringing / Dialing Out) started before we looked.
        partial: event.initial || !(data.status === "Ringing" || data.status === "Dialing Out"),
        // E.g. a call that rang and ended while Node-RED was down, reported once it resumed: still a missed call. Not
        // one found gone (vanished): the PBX stopped listing it, so how it ended is not known.
        endedUnanswered: !event.initial && !event.vanished && (data.status === FINAL || ENDING.has(data.status)) && data.callStartTime === "",
        answeredUnseen: undefined,
        grace: undefined,
      };
      this.legs.set(key, leg);
      this.bound();
    }
    if (typeof data.callerId === "string" && data.callerId !== "") leg.callerId = data.callerId;
    if (data.status === "Connected" && leg.connectedAt === undefined) leg.connectedAt = now;
    // callStartTime is "" until the call connected (the API): a later state carrying it says it did, though the PBX,
    // listing each call's latest state only, never showed us the Connected.
    else if (leg.connectedAt === undefined && typeof data.callStartTime === "string" && data.callStartTime !== "") leg.answeredUnseen ??= now;

    // A leg with an ending status had its flag on that msg.
    const flagged = leg.endingStatus !== undefined;
    if (data.status === FINAL) {
      // Found gone, not seen to end: whether it was missed, and when it ended, are unknown. Gone after a Busy or No
      // Answer, it had ended: only its Hungup was not seen, as when the grace runs out, and its end is known.
      const unknownEnd = event.vanished === true && !flagged;
      if (unknownEnd) {
        leg.partial = true;
        leg.endedUnanswered = false;
      }
      const missed = this.isMissed(leg);
      this.finish(key, leg, leg.endingStatus ?? FINAL, typeof data.hangupCause === "string" ? data.hangupCause : null, leg.endingAt ?? now, unknownEnd);
      return flagged ? undefined : missed;
    }
    if (ENDING.has(data.status)) {
      leg.endingStatus = data.status;
      leg.endingAt = now;
      this.armGrace(key, leg, this.graceMs);
      return flagged ? undefined : this.isMissed(leg);
    }
    return undefined;
  }

  /**
   * What the tracker holds (legs in progress, legs summarised lately), to be saved with the hub's position and
   * handed to restore() after a restart: a call that started before it then gets a whole summary. Times are saved
   * as wall-clock stamps (the monotonic clock starts again with the process). The newest MAX_SAVED of each.
   */
  saveState(): TrackerState {
    const now = this.now();
    const mono = this.monotonic();
    const wall = (stamp: Stamp | undefined): number | null => (stamp === undefined ? null : now - (mono - stamp.mono));
    const legs = [...this.legs.values()].slice(-MAX_SAVED).map((leg): SavedTrackerLeg => {
      const saved: SavedTrackerLeg = {
        extension: leg.extension, uniqueCallId: leg.uniqueCallId, callId: leg.callId ?? null, inbound: leg.inbound,
        callerId: leg.callerId, isQueueCall: leg.isQueueCall, isClickToDialCall: leg.isClickToDialCall,
        startedAt: wall(leg.startedAt) ?? now, connectedAt: wall(leg.connectedAt), endingStatus: leg.endingStatus ?? null,
        endingAt: wall(leg.endingAt), partial: leg.partial, endedUnanswered: leg.endedUnanswered,
      };
      if (leg.answeredUnseen) saved.answeredUnseen = wall(leg.answeredUnseen) ?? now;
      const late: SavedLate = {};
      for (const name of LATE_TIMES) if (leg[name]?.late) late[name] = leg[name].late.outageMs;
      if (Object.keys(late).length > 0) saved.late = late;
      return saved;
    });
    const finished = [...this.finished].slice(-MAX_SAVED).map(([key, done]) => {
      const [extension, uniqueCallId] = key.split("\u0000");
      return { extension, uniqueCallId, missed: done.missed, at: now - (mono - done.at) };
    });
    return { version: STATE_VERSION, legs, finished, savedAt: now };
  }

  /**
   * Takes back a saved state (see saveState), before any event of this life. Throws, taking nothing, when it is not
   * a state this tracker saves.
   */
  restore(raw: unknown): void {
    const state = parseTrackerState(raw);
    const now = this.now();
    const mono = this.monotonic();
    if (state.savedAt !== undefined) this.savedAt = state.savedAt;
    // A stamp from the saving process, on this process's monotonic clock.
    const stamp = (wall: number, late: number | null | undefined): Stamp =>
      ({ wall, mono: mono - (now - wall), ...(late === undefined ? {} : { late: { outageMs: late } }) });
    for (const saved of state.legs) {
      const key = `${saved.extension}\u0000${saved.uniqueCallId}`;
      if (this.legs.has(key) || this.finished.has(key)) continue;
      const leg: Leg = {
        extension: saved.extension, uniqueCallId: saved.uniqueCallId, callId: saved.callId ?? undefined,
        inbound: saved.inbound, callerId: saved.callerId, isQueueCall: saved.isQueueCall,
        isClickToDialCall: saved.isClickToDialCall, startedAt: stamp(saved.startedAt, saved.late?.startedAt),
        connectedAt: saved.connectedAt === null ? undefined : stamp(saved.connectedAt, saved.late?.connectedAt),
        endingStatus: saved.endingStatus ?? undefined,
        endingAt: saved.endingAt === null ? undefined : stamp(saved.endingAt, saved.late?.endingAt),
        partial: saved.partial, endedUnanswered: saved.endedUnanswered, answeredUnseen: saved.answeredUnseen === undefined ? undefined : stamp(saved.answeredUnseen, saved.late?.answeredUnseen),
        grace: undefined,
      };
      this.legs.set(key, leg);
      // Busy / No Answer before the restart: what is left of its grace (never more, if this clock is behind the saver's).
      if (leg.endingAt) this.armGrace(key, leg, Math.min(this.graceMs, Math.max(0, this.graceMs - (now - leg.endingAt.wall))));
    }
    this.bound();
    for (const done of state.finished) {
      const key = `${done.extension}\u0000${done.uniqueCallId}`;
      if (!this.finished.has(key)) this.finished.set(key, { missed: done.missed, at: Math.min(mono, mono - (now - done.at)) });
    }
  }

  /** Clears the grace timers: the node is closing. Unfinished legs are dropped without a summary. */
  close(): void {
    for (const leg of this.legs.values()) if (leg.grace !== undefined) clearTimeout(leg.grace);
    this.legs.clear();
    this.finished.clear();
  }

  /** Legs summarised more than finishedTtlMs ago are forgotten, and never more than maxLegs are kept. */
  private pruneFinished(now: number): void {
    for (const [key, done] of this.finished) {
      if (now - done.at < this.finishedTtlMs && this.finished.size <= this.maxLegs) break;
      this.finished.delete(key);
    }
  }

  /** After Busy / No Answer: a Hungup may follow with the cause; without one, the leg is summarised after `ms`. */
  private armGrace(key: string, leg: Leg, ms: number): void {
    if (leg.grace !== undefined) return;
    leg.grace = setTimeout(() => {
      leg.grace = undefined;
      if (this.legs.get(key) === leg) this.finish(key, leg, leg.endingStatus ?? FINAL, null, leg.endingAt ?? this.stampNow());
    }, ms);
  }

  private stampNow(): Stamp {
    return { wall: this.now(), mono: this.monotonic() };
  }

  /** Now, for an event: late when it arrived after an outage, whose length the restored state may tell. */
  private stampOf(event: CallEvent): Stamp {
    const stamp = this.stampNow();
    if (!event.afterOutage) return stamp;
    // Saved "in the future" (this clock is behind the saver's, e.g. no RTC at boot): the length is unknown, not 0.
    const sinceSave = this.savedAt === undefined || stamp.wall < this.savedAt ? undefined : stamp.wall - this.savedAt;
    const outageMs = event.outageMs ?? sinceSave;
    return { ...stamp, late: { outageMs: outageMs ?? null } };
  }

  private isMissed(leg: Leg): boolean {
    return leg.inbound && !answered(leg) && (!leg.partial || leg.endedUnanswered);
  }

  private finish(key: string, leg: Leg, endStatus: string, hangupCause: string | null, endedAt: Stamp, vanished = false): void {
    if (leg.grace !== undefined) clearTimeout(leg.grace);
    this.legs.delete(key);
    const missed = this.isMissed(leg);
    this.finished.delete(key);
    const at = this.monotonic(); // when summarised (not endedAt, a grace earlier): keeps the map in time order
    this.finished.set(key, { missed, at });
    this.pruneFinished(at);
    const seconds = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);
    const ringEnd = leg.connectedAt ?? endedAt;
    // Answered unseen: when it connected is unknown, and so are the ring and talk times.
    const unseen = leg.answeredUnseen !== undefined;
    // A late stamp is only when the change arrived: no time, and no duration it bounds.
    const iso = (stamp: Stamp) => (stamp.late ? null : new Date(stamp.wall).toISOString());
    // A span that runs backwards crosses a restart whose clock is behind the saver's: unknown, not 0.
    const span = (from: Stamp, to: Stamp) => (from.late || to.late || to.mono < from.mono ? null : seconds(to.mono - from.mono));
    const late: Array<number | null> = [];
    for (const stamp of [leg.startedAt, leg.connectedAt, leg.answeredUnseen, endedAt]) if (stamp?.late) late.push(stamp.late.outageMs);
    const known = late.filter((ms): ms is number => ms !== null);
    this.options.onSummary({
      extension: leg.extension,
      uniqueCallId: leg.uniqueCallId,
      callId: leg.callId,
      direction: leg.inbound ? "inbound" : "outbound",
      callerId: leg.callerId,
      isQueueCall: leg.isQueueCall,
      isClickToDialCall: leg.isClickToDialCall,
      startedAt: iso(leg.startedAt),
      connectedAt: leg.connectedAt === undefined || unseen ? null : iso(leg.connectedAt),
      endedAt: iso(endedAt),
      ringSeconds: unseen ? null : span(leg.startedAt, ringEnd),
      talkSeconds: unseen ? null : leg.connectedAt === undefined ? 0 : span(leg.connectedAt, endedAt),
      durationSeconds: span(leg.startedAt, endedAt),
      endStatus,
      hangupCause,
      answered: answered(leg),
      missed,
      partial: leg.partial || unseen,
      afterOutage: late.length > 0,
      outageSeconds: known.length > 0 ? seconds(Math.max(...known)) : null,
      eventId: summaryId(leg.extension, leg.uniqueCallId),
      ...(vanished ? { vanished: true as const } : {}),
    });
  }

  private bound(): void {
    // Legs whose end we never saw (e.g. lost in a PBX restart) must not pile up.
    while (this.legs.size > this.maxLegs) {
      const [oldestKey, oldest] = this.legs.entries().next().value as [string, Leg];
      if (oldest.grace !== undefined) clearTimeout(oldest.grace);
      this.legs.delete(oldestKey);
    }
  }
}

/** Connected, seen or not. */
function answered(leg: Leg): boolean {
  return leg.connectedAt !== undefined || leg.answeredUnseen !== undefined;
}

// ------------------------------------------------------------------ the saved state

const STATE_VERSION = 1;
/** Legs in progress, and legs summarised, saved at most (the newest). */
const MAX_SAVED = 2000;

interface SavedTrackerLeg {
  extension: string;
  uniqueCallId: string;
  callId: number | null;
  inbound: boolean;
  callerId: string;
  isQueueCall: boolean;
  isClickToDialCall: boolean;
  /** Wall-clock ms. */
  startedAt: number;
  connectedAt: number | null;
  endingStatus: string | null;
  endingAt: number | null;
  partial: boolean;
  endedUnanswered: boolean;
  /** Wall ms: when a state showed it had connected, the Connected never seen (see Leg); absent when not (and before 1.2.0). */
  answeredUnseen?: number;
  /** The times that arrived after an outage, with its length (ms) or null; absent when none did (and before 1.2.0). */
  late?: SavedLate;
}

const LATE_TIMES = ["startedAt", "connectedAt", "endingAt", "answeredUnseen"] as const;
type SavedLate = Partial<Record<(typeof LATE_TIMES)[number], number | null>>;

/** What CallTracker.saveState() gives: plain JSON. */
export interface TrackerState {
  [key: string]: unknown;
  version: number;
  legs: SavedTrackerLeg[];
  finished: Array<{ extension: string; uniqueCallId: string; missed: boolean; at: number }>;
  /** Wall ms; absent in states saved before 1.2.0. */
  savedAt?: number;
}

function parseTrackerState(raw: unknown): TrackerState {
  const time = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);
  const timeOrNull = (v: unknown): boolean => v === null || time(v);
  if (!isObject(raw) || raw.version !== STATE_VERSION) invalid("version");
  if (!Array.isArray(raw.legs) || !Array.isArray(raw.finished)) invalid("legs");
  for (const l of raw.legs as unknown[]) {
    if (!isObject(l)) invalid("leg");
    const strings = [l.extension, l.uniqueCallId, l.callerId].every((v) => typeof v === "string");
    const flags = [l.inbound, l.isQueueCall, l.isClickToDialCall, l.partial, l.endedUnanswered].every((v) => typeof v === "boolean");
    const times = time(l.startedAt) && timeOrNull(l.connectedAt) && timeOrNull(l.endingAt);
    const rest = (l.callId === null || typeof l.callId === "number") && (l.endingStatus === null || typeof l.endingStatus === "string");
    const unseen = l.answeredUnseen === undefined || time(l.answeredUnseen);
    const late = l.late === undefined || (isObject(l.late) && Object.entries(l.late).every(([name, ms]) =>
      (LATE_TIMES as readonly string[]).includes(name) && timeOrNull(ms)));
    if (!strings || !flags || !times || !rest || !late || !unseen) invalid("leg");
  }
  if (raw.savedAt !== undefined && !time(raw.savedAt)) invalid("savedAt");
  for (const d of raw.finished as unknown[]) {
    if (!isObject(d)) invalid("summarised leg");
    if (typeof d.extension !== "string" || typeof d.uniqueCallId !== "string" || typeof d.missed !== "boolean" || !time(d.at)) {
      invalid("summarised leg");
    }
  }
  return raw as TrackerState;
}

/** The output a msg goes to in "one output per kind" mode. */
export const KIND_OUTPUTS = ["ringing", "outgoing", "connected", "ended", "other"] as const;
export type EventKind = (typeof KIND_OUTPUTS)[number];

export function kindOf(status: string): EventKind {
  switch (status) {
    case "Ringing":
      return "ringing";
    case "Dialing Out":
      return "outgoing";
    case "Connected":
      return "connected";
    case "Hungup":
    case "Busy":
    case "No Answer":
      return "ended";
    default:
      return "other";
  }
}
