/**
 * The call model: the legs in progress per extension (the PBX's current state), their CallIDs, and the legs that
 * ended recently, remembered so that a later change of such a leg keeps its CallID.
 */
import type { CallData, SubscribeEntry } from "./pbx-types";

/** Ended legs remembered for CallID continuity. */
const MAX_ENDED_LEGS = 1000;

export interface Leg {
  exten: string;
  callId: number;
  data: CallData;
}

export class CallLegs {
  private readonly byId = new Map<string, Leg>();
  private readonly byExten = new Map<string, Map<string, Leg>>(); // insertion order = age
  private readonly ended = new Map<string, Leg>(); // recently ended, by uniqueCallId, oldest first
  private nextCallId = 1;
  private nextUniqueN = 1;

  /** A fresh id in the vendor's shape, e.g. "1712650652.512". */
  newUniqueCallId(): string {
    return `${Math.floor(Date.now() / 1000)}.${this.nextUniqueN++}`;
  }

  /** The leg in progress with this uniqueCallId. */
  get(uniqueCallId: string): Leg | undefined {
    return this.byId.get(uniqueCallId);
  }

  /** The extension's legs in progress, oldest first. */
  of(exten: string): Leg[] {
    return [...(this.byExten.get(exten)?.values() ?? [])];
  }

  /** The extension's most recent leg in progress. */
  latest(exten: string): Leg | undefined {
    let last: Leg | undefined;
    for (const l of this.byExten.get(exten)?.values() ?? []) last = l;
    return last;
  }

  /** True when any of the extensions has a leg in progress. */
  any(extens: string[]): boolean {
    return extens.some((e) => (this.byExten.get(e)?.size ?? 0) > 0);
  }

  /** Makes `data` the current state of its leg on `exten`, opening the leg (or moving it there) when needed. */
  set(exten: string, data: CallData): Leg {
    let leg = this.byId.get(data.uniqueCallId);
    if (leg && leg.exten !== exten) {
      // Same id reported on another extension: the leg moves there.
      this.remove(leg);
      leg = undefined;
    }
    if (!leg) {
      const ended = this.ended.get(data.uniqueCallId);
      const callId = ended && ended.exten === exten ? ended.callId : this.nextCallId++;
      if (ended) this.ended.delete(data.uniqueCallId);
      leg = { exten, callId, data };
      this.byId.set(data.uniqueCallId, leg);
      let m = this.byExten.get(exten);
      if (!m) this.byExten.set(exten, (m = new Map()));
      m.set(data.uniqueCallId, leg);
    }
    leg.data = data;
    return leg;
  }

  /** Removes an ended leg from the current state and remembers its CallID for a while. */
  end(leg: Leg): void {
    this.remove(leg);
    this.ended.set(leg.data.uniqueCallId, leg);
    if (this.ended.size > MAX_ENDED_LEGS) {
      const oldest = this.ended.keys().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
  }

  /** The calls in progress on the given extensions, each as its latest entry. */
  snapshot(extens: string[]): Record<string, SubscribeEntry[]> | undefined {
    let data: Record<string, SubscribeEntry[]> | undefined;
    for (const exten of extens) {
      const m = this.byExten.get(exten);
      if (!m || m.size === 0) continue;
      (data ??= {})[exten] = [...m.values()].map((l) => ({ CallData: l.data, CallID: l.callId, Code: 0 }));
    }
    return data;
  }

  /** PBX restart: CallIDs start again at 1; the calls go on, renumbered (`keepCalls`), or are gone. */
  restart(keepCalls: boolean): void {
    this.nextCallId = 1;
    if (keepCalls) {
      for (const leg of this.byId.values()) leg.callId = this.nextCallId++;
    } else {
      this.byId.clear();
      this.byExten.clear();
    }
    this.ended.clear();
  }

  private remove(leg: Leg): void {
    this.byId.delete(leg.data.uniqueCallId);
    const m = this.byExten.get(leg.exten);
    if (m) {
      m.delete(leg.data.uniqueCallId);
      if (m.size === 0) this.byExten.delete(leg.exten);
    }
  }
}
