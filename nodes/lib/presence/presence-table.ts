/**
 * The presence of each watched extension: the calls in progress on it, and one state derived from them. Knows nothing
 * of Node-RED.
 *
 * Each call leg in progress has a role, from its last status:
 * - `Ringing` → ringing; `Dialing Out` → dialing; `Connected` → connected;
 * - `Unlinked` (the leg left its other party, usually during a transfer) → connected: the handset is still in the call;
 * - `Hungup`, `Busy`, `No Answer` → the leg has ended and is dropped;
 * - any other (future) status → connected when the leg was connected before or has a `callStartTime`, else ringing for
 *   an inbound leg, dialing for an outbound one. It ends like any leg: with an ending status, when a current-state read
 *   no longer lists it, or when it has been silent for `staleMs` (12 h, as long as the shared poll remembers it).
 * The extension's state: **on a call** when any leg is connected, else **ringing** when any leg rings in, else
 * **dialing** when any leg goes out, else **idle** (on a call > ringing > dialing > idle). So a second call ringing
 * during a call leaves the state on a call, and the end of one of two calls leaves the state of the other.
 *
 * An extension is unknown until its whole current state has been given (`setCurrent`, from the shared poll's reads):
 * that first time gives a change flagged `initial`, idle included. Events before it only update the calls.
 */
import type { CallEvent } from "../poll/poll-loop";
import { monotonicNow } from "../monotonic";

export type PresenceState = "idle" | "ringing" | "dialing" | "on a call";
type Role = "ringing" | "dialing" | "connected";

export const ENDED_STATUSES: ReadonlySet<string> = new Set(["Hungup", "Busy", "No Answer"]);

/** What a flow sees of an extension. `calls` are the events of the calls in progress (their latest state each). */
export interface Presence {
  extension: string;
  state: PresenceState;
  previous: PresenceState | null;
  /** Wall-clock ms when the current state began (as this node saw it). */
  since: number;
  calls: CallEvent[];
  /** True until the extension's current state has been read. */
  unknown: boolean;
}

/** A change worth a msg: `stateChanged` false when only the calls changed (a second call during a call). */
export interface PresenceChange {
  presence: Presence;
  stateChanged: boolean;
  initial: boolean;
}

export interface PresenceOptions {
  /** Wall clock, for `since`. */
  now?: () => number;
  /** The clock staleness is measured on (monotonic in production). */
  monotonic?: () => number;
  staleMs?: number;
}

interface Leg {
  event: CallEvent;
  role: Role;
  wasConnected: boolean;
  heardAt: number;
}

interface Entry {
  legs: Map<string, Leg>;
  state: PresenceState;
  previous: PresenceState | null;
  since: number;
  known: boolean;
}

const PRECEDENCE: readonly Role[] = ["connected", "ringing", "dialing"];
const STATE_OF: Record<Role, PresenceState> = { connected: "on a call", ringing: "ringing", dialing: "dialing" };

/** The role of a leg in this status, or undefined when the status ends the leg. */
export function roleOf(event: CallEvent, wasConnected: boolean): Role | undefined {
  const { status, inbound, callStartTime } = event.data;
  if (ENDED_STATUSES.has(status)) return undefined;
  if (status === "Connected" || status === "Unlinked") return "connected";
  if (status === "Ringing") return "ringing";
  if (status === "Dialing Out") return "dialing";
  if (wasConnected || (typeof callStartTime === "string" && callStartTime !== "")) return "connected";
  return inbound === false ? "dialing" : "ringing";
}

/** The state of an extension whose legs have these roles. */
export function stateOf(roles: Iterable<Role>): PresenceState {
  const present = new Set(roles);
  const top = PRECEDENCE.find((role) => present.has(role));
  return top ? STATE_OF[top] : "idle";
}

export class PresenceTable {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly staleMs: number;

  constructor(extensions: readonly string[] = [], options: PresenceOptions = {}) {
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? monotonicNow;
    this.staleMs = options.staleMs ?? 12 * 60 * 60_000;
    this.watch(extensions);
  }

  get extensions(): string[] {
    return [...this.entries.keys()];
  }

  /** The watched extensions become these: new ones start unknown, dropped ones are forgotten. */
  watch(extensions: readonly string[]): void {
    for (const extension of [...this.entries.keys()]) if (!extensions.includes(extension)) this.entries.delete(extension);
    for (const extension of extensions) {
      if (!this.entries.has(extension)) {
        this.entries.set(extension, { legs: new Map(), state: "idle", previous: null, since: this.now(), known: false });
      }
    }
  }

  /** One change of one leg. */
  observe(event: CallEvent): PresenceChange | undefined {
    const entry = this.entries.get(event.extension);
    if (!entry) return undefined;
    const id = event.data.uniqueCallId;
    const leg = entry.legs.get(id);
    const role = roleOf(event, leg?.wasConnected ?? false);
    if (role === undefined) {
      if (!entry.legs.delete(id)) return undefined;
    } else {
      entry.legs.set(id, { event, role, wasConnected: (leg?.wasConnected ?? false) || role === "connected", heardAt: this.monotonic() });
    }
    return this.settle(event.extension, entry, false);
  }

  /**
   * The whole current state of an extension (the calls in progress, as the shared poll holds them): calls not listed
   * have ended. The first time gives an initial change, whatever the state.
   */
  setCurrent(extension: string, calls: readonly CallEvent[]): PresenceChange | undefined {
    const entry = this.entries.get(extension);
    if (!entry) return undefined;
    const legs = new Map<string, Leg>();
    for (const event of calls) {
      const old = entry.legs.get(event.data.uniqueCallId);
      const role = roleOf(event, old?.wasConnected ?? false);
      if (role === undefined) continue;
      // A leg already known in the same state stays as it is; being listed is news of it all the same.
      if (old && JSON.stringify(old.event.data) === JSON.stringify(event.data)) {
        old.heardAt = this.monotonic();
        legs.set(event.data.uniqueCallId, old);
        continue;
      }
      legs.set(event.data.uniqueCallId, { event, role, wasConnected: (old?.wasConnected ?? false) || role === "connected", heardAt: this.monotonic() });
    }
    const initial = !entry.known;
    const changed = initial || legs.size !== entry.legs.size || [...legs].some(([id, leg]) => entry.legs.get(id) !== leg);
    entry.legs = legs;
    entry.known = true;
    if (!changed) return undefined;
    return this.settle(extension, entry, initial);
  }

  /** Legs silent for staleMs end (their end was lost): the changes that makes. */
  expire(): PresenceChange[] {
    const changes: PresenceChange[] = [];
    const now = this.monotonic();
    for (const [extension, entry] of this.entries) {
      let dropped = false;
      for (const [id, leg] of entry.legs) {
        if (now - leg.heardAt < this.staleMs) continue;
        entry.legs.delete(id);
        dropped = true;
      }
      const change = dropped ? this.settle(extension, entry, false) : undefined;
      if (change) changes.push(change);
    }
    return changes;
  }

  get(extension: string): Presence | undefined {
    const entry = this.entries.get(extension);
    return entry && this.view(extension, entry);
  }

  all(): Presence[] {
    return [...this.entries].map(([extension, entry]) => this.view(extension, entry));
  }

  private settle(extension: string, entry: Entry, initial: boolean): PresenceChange | undefined {
    const state = stateOf([...entry.legs.values()].map((leg) => leg.role));
    const stateChanged = state !== entry.state;
    if (stateChanged) {
      entry.previous = entry.state;
      entry.state = state;
      entry.since = this.now();
    }
    // Before its first current state an extension says nothing: the read that gives it follows.
    if (!entry.known) return undefined;
    if (initial) {
      entry.previous = null;
      entry.since = this.now();
    }
    return { presence: this.view(extension, entry), stateChanged: stateChanged || initial, initial };
  }

  private view(extension: string, entry: Entry): Presence {
    // Oldest first, as the PBX lists them.
    const calls = [...entry.legs.values()].map((leg) => leg.event);
    return { extension, state: entry.state, previous: entry.previous, since: entry.since, calls, unknown: !entry.known };
  }
}
