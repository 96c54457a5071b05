/**
 * The last state emitted for each call leg (extension + uniqueCallId).
 * It is what keeps a resynchronisation after a PBX restart, or a repeated entry, from reaching the flow twice.
 * Memory is bounded: ended legs are forgotten after `endedTtlMs`, silent legs after `idleTtlMs`,
 * and the table never holds more than `maxLegs`.
 */
import type { CallData } from "../client/types";
import { monotonicNow } from "../monotonic";

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["Hungup", "Busy", "No Answer"]);

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
}

interface Leg {
  extension: string;
  fingerprint: string;
  data: CallData;
  callId: number | undefined;
  updatedAt: number;
  ended: boolean;
}

const DEFAULTS: CallStateTableOptions = {
  endedTtlMs: 5 * 60_000,
  idleTtlMs: 12 * 60 * 60_000,
  maxLegs: 20_000,
  now: monotonicNow,
};

/** Stable text of a CallData, independent of the PBX's key order. */
function fingerprint(data: CallData): string {
  return JSON.stringify(data, Object.keys(data).sort());
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
    const key = `${extension}\u0000${data.uniqueCallId}`;
    const print = fingerprint(data);
    const previous = this.legs.get(key);
    if (previous && previous.fingerprint === print) return false;
    this.legs.delete(key);
    this.legs.set(key, {
      extension,
      fingerprint: print,
      data,
      callId,
      updatedAt: this.options.now(),
      ended: TERMINAL_STATUSES.has(data.status),
    });
    this.prune();
    return true;
  }

  /** Every leg's last emitted state, oldest update first. */
  export(): SavedLeg[] {
    this.prune();
    return [...this.legs.values()].map((leg) => ({ extension: leg.extension, data: leg.data, callId: leg.callId }));
  }

  /** Takes saved states back (after a restart) as if they had just been emitted, so repeats of them are not. */
  restore(legs: readonly SavedLeg[]): void {
    for (const leg of legs) this.update(leg.extension, leg.data, leg.callId);
  }

  /** True when a state of this leg has been emitted (and not yet forgotten). */
  knows(extension: string, uniqueCallId: string): boolean {
    return this.legs.has(`${extension}\u0000${uniqueCallId}`);
  }

  /** Legs in progress on an extension, oldest update first (to replay the current state to a new listener). */
  activeLegs(extension: string): Array<{ data: CallData; callId: number | undefined }> {
    this.prune();
    const out: Array<{ data: CallData; callId: number | undefined }> = [];
    for (const leg of this.legs.values()) {
      if (leg.extension === extension && !leg.ended) out.push({ data: leg.data, callId: leg.callId });
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
    this.legs.delete(`${extension}\u0000${uniqueCallId}`);
  }

  /** Forgets everything about an extension nobody listens to any more. */
  forgetExtension(extension: string): void {
    this.retainOnly(extension, new Set());
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
