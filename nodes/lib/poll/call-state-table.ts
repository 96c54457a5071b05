/**
 * The last state emitted for each call leg (extension + uniqueCallId).
 * It is what keeps a resynchronisation after a PBX restart, or a repeated entry, from reaching the flow twice.
 * It also counts how often each leg entered each state, for the id of each change (event-id.ts): saved with the legs
 * and restored, so a change sent again from an older position gets the id it had the first time.
 * Memory is bounded: ended legs are forgotten after `endedTtlMs`, silent legs after `idleTtlMs`,
 * and the table never holds more than `maxLegs`.
 */
import type { CallData } from "../client/types";
import { monotonicNow } from "../monotonic";
import { changeId, endId, stateKey } from "./event-id";

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["Hungup", "Busy", "No Answer"]);
/** A leg's end: one id per leg (event-id.ts). */
const END = "Hungup";

export interface CallStateTableOptions {
  endedTtlMs: number;
  idleTtlMs: number;
  maxLegs: number;
  /** The clock TTLs are measured on: monotonic, so that a wall-clock step back does not keep ended legs for an hour. */
  now: () => number;
}

/** A leg's last emitted state, as saved for a restart (see resume-file.ts). */
export interface SavedLeg {
  extension: string;
  data: CallData;
  callId: number | undefined;
  /** Times the leg entered each state (by stateKey); absent when it is only `data`, once (and in older positions). */
  occurrences?: Record<string, number>;
}

/** A leg in progress, with the id of the change that led to its state. */
export interface ActiveLeg {
  data: CallData;
  callId: number | undefined;
  eventId: string;
}

interface Leg {
  extension: string;
  fingerprint: string;
  data: CallData;
  callId: number | undefined;
  updatedAt: number;
  ended: boolean;
  /**
   * False once forgotten for a new current-state read (forgetExtension): its next state goes out whatever it is, as the
   * same change (the same id) when it is the same state. Its counts stay until the leg itself is dropped.
   */
  sent: boolean;
  occurrences: Record<string, number>;
  eventId: string;
}

const DEFAULTS: CallStateTableOptions = {
  endedTtlMs: 5 * 60_000,
  idleTtlMs: 12 * 60 * 60_000,
  maxLegs: 20_000,
  now: monotonicNow,
};

const legKey = (extension: string, uniqueCallId: string): string => `${extension}\u0000${uniqueCallId}`;

/** Stable text of a CallData, independent of the PBX's key order. */
function fingerprint(data: CallData): string {
  return JSON.stringify(data, Object.keys(data).sort());
}

/** The id of a leg's change into the state `data`, its `occurrence`-th time in it (what update() gives it). */
export function eventIdOf(extension: string, data: CallData, occurrence = 1): string {
  if (data.status === END) return endId(extension, data.uniqueCallId);
  return changeId(extension, data.uniqueCallId, stateKey(fingerprint(data)), occurrence);
}

export class CallStateTable {
  private readonly options: CallStateTableOptions;
  // Map keeps insertion order: re-inserting on update keeps the oldest-updated leg first for eviction.
  private readonly legs = new Map<string, Leg>();

  constructor(options: Partial<CallStateTableOptions> = {}) {
    // An explicit `now: undefined` (a caller passing its own optional clock on) still gets the default.
    this.options = { ...DEFAULTS, ...options, now: options.now ?? DEFAULTS.now };
  }

  get size(): number {
    return this.legs.size;
  }

  /** Records the state and returns true when it differs from the last one emitted for this leg. */
  update(extension: string, data: CallData, callId: number | undefined): boolean {
    return this.change(extension, data, callId) !== undefined;
  }

  /** Records the state; when it differs from the last one emitted for this leg, returns the change's id. */
  change(extension: string, data: CallData, callId: number | undefined): string | undefined {
    const key = legKey(extension, data.uniqueCallId);
    const print = fingerprint(data);
    const previous = this.legs.get(key);
    if (previous?.sent && previous.fingerprint === print) return undefined;
    const occurrences = previous?.occurrences ?? {};
    const state = stateKey(print);
    // A forgotten leg read again in the same state is the same change, sent again: it keeps its occurrence.
    if (previous?.fingerprint !== print || occurrences[state] === undefined) occurrences[state] = (occurrences[state] ?? 0) + 1;
    const eventId = this.set(key, extension, print, data, callId, occurrences);
    this.prune();
    return eventId;
  }

  /** The id of the change that led to the leg's last emitted state (undefined for a leg not known). */
  eventId(extension: string, uniqueCallId: string): string | undefined {
    return this.legs.get(legKey(extension, uniqueCallId))?.eventId;
  }

  /** Every leg's last emitted state, oldest update first. */
  export(): SavedLeg[] {
    this.prune();
    const out: SavedLeg[] = [];
    for (const leg of this.legs.values()) {
      if (!leg.sent) continue;
      const saved: SavedLeg = { extension: leg.extension, data: leg.data, callId: leg.callId };
      // Most legs were in each state once: then the state itself says it all, and the position stays small.
      const counts = Object.values(leg.occurrences);
      if (counts.length > 1 || counts[0] !== 1) saved.occurrences = { ...leg.occurrences };
      out.push(saved);
    }
    return out;
  }

  /**
   * Takes saved states back (after a restart) as if they had just been emitted, so repeats of them are not, with their
   * counts, so changes sent again get the ids they had. A leg saved without counts was in its state once.
   */
  restore(legs: readonly SavedLeg[]): void {
    for (const leg of legs) {
      const print = fingerprint(leg.data);
      const occurrences = { ...leg.occurrences };
      occurrences[stateKey(print)] ??= 1;
      this.set(legKey(leg.extension, leg.data.uniqueCallId), leg.extension, print, leg.data, leg.callId, occurrences);
    }
    this.prune();
  }

  /** True when a state of this leg has been emitted (and not yet forgotten). */
  knows(extension: string, uniqueCallId: string): boolean {
    return this.legs.get(legKey(extension, uniqueCallId))?.sent === true;
  }

  /** Legs in progress on an extension, oldest update first (to replay the current state to a new listener). */
  activeLegs(extension: string): ActiveLeg[] {
    this.prune();
    const out: ActiveLeg[] = [];
    for (const leg of this.legs.values()) {
      if (leg.extension === extension && leg.sent && !leg.ended) out.push({ data: leg.data, callId: leg.callId, eventId: leg.eventId });
    }
    return out;
  }

  /** After a current-state read of `extension`: legs the PBX no longer reports are gone. */
  retainOnly(extension: string, uniqueCallIds: ReadonlySet<string>): void {
    for (const [key, leg] of this.legs) {
      if (leg.extension === extension && !uniqueCallIds.has(leg.data.uniqueCallId)) this.legs.delete(key);
    }
  }

  /** Forgets one leg (gone with a PBX restart, which will never report its end). */
  forget(extension: string, uniqueCallId: string): void {
    this.legs.delete(legKey(extension, uniqueCallId));
  }

  /**
   * Forgets what was emitted for an extension (nobody listens to it any more, or it is about to be read afresh): its
   * next states go out again. How often each leg was in each state is kept, so a state read again keeps its id.
   */
  forgetExtension(extension: string): void {
    for (const leg of this.legs.values()) if (leg.extension === extension) leg.sent = false;
  }

  private set(key: string, extension: string, print: string, data: CallData, callId: number | undefined, occurrences: Record<string, number>): string {
    const state = stateKey(print);
    const eventId = data.status === END ? endId(extension, data.uniqueCallId) : changeId(extension, data.uniqueCallId, state, occurrences[state]);
    this.legs.delete(key);
    this.legs.set(key, {
      extension, fingerprint: print, data, callId, updatedAt: this.options.now(), ended: TERMINAL_STATUSES.has(data.status),
      sent: true, occurrences, eventId,
    });
    return eventId;
  }

  private prune(): void {
    const now = this.options.now();
    const shortest = Math.min(this.options.endedTtlMs, this.options.idleTtlMs);
    // Oldest update first: once a leg is younger than the shortest TTL, so is every leg after it.
    for (const [key, leg] of this.legs) {
      const age = now - leg.updatedAt;
      if (age < shortest) break;
      if (age >= (leg.ended ? this.options.endedTtlMs : this.options.idleTtlMs)) this.legs.delete(key);
    }
    while (this.legs.size > this.options.maxLegs) {
      const oldest = this.legs.keys().next().value as string;
      this.legs.delete(oldest);
    }
  }
}
