/**
 * Traffic for the PBX simulator: people calling in, missing calls, dialling out, queues and transfers, played on a
 * PbxServer through its public methods (startCall, emit, leg, legsOf) and reacting to what clients do through the
 * API (answer, hangup, dial).
 *
 * Every call is a small script run with its own seeded random generator, so one `seed` gives the same calls, with
 * the same numbers, extensions and durations, in the same order, as long as nothing is answered, hung up or dialled
 * through the API (which changes the course of the calls it touches) and the timers fire in order.
 *
 * Status sequences of one leg (every leg ends with `Hungup`):
 *   Ringing -> Connected [-> Unlinked -> Connected] -> Hungup         answered (a transfer target goes through Unlinked)
 *   Ringing -> No Answer -> Hungup (NO_ANSWER)                        missed
 *   Ringing -> Hungup (DISCONNECTED)                                  the other side hung up first (e.g. through the API)
 *   Dialing Out -> Connected [-> Unlinked] -> Hungup                  outbound / internal
 *   Dialing Out -> Busy -> Hungup (BUSY),  Dialing Out -> Hungup (NO_ANSWER)
 *   Busy -> Hungup (BUSY)                                             a call for an extension that is on another call
 * An extension only rings when it has no other leg in progress.
 *
 * This file holds the generator itself (arrivals, running calls, following the API); its parts are traffic-options.ts,
 * call-summary.ts, call-run.ts (one call and its waits), traffic-legs.ts (its legs on the server), call-scripts.ts (a
 * script a kind of call) and extension-picker.ts.
 */
import { CallScripts } from "./call-scripts";
import { Aborted, CallRun } from "./call-run";
import type { CallOutcome, CallSummary, TrafficStats } from "./call-summary";
import { ExtensionPicker } from "./extension-picker";
import type { ApiAction, PbxServer } from "./pbx-server";
import { Random } from "./random";
import { TrafficLegs } from "./traffic-legs";
import {
  DEFAULT_MIX,
  DEFAULT_TIMING,
  GENERATED_KINDS,
  type CallKind,
  type GeneratedKind,
  type TrafficOptions,
  type TrafficTiming,
} from "./traffic-options";

export * from "./traffic-options";
export * from "./call-summary";

const OUTSIDE_AREAS = ["02", "03", "07", "08"] as const;

/** An Australian-style outside number: a mobile (04xx xxx xxx) or a landline (0[2378] xxxx xxxx). */
function outsideNumber(rng: Random): string {
  const prefix = rng.chance(0.45) ? "04" : rng.pick(OUTSIDE_AREAS);
  let digits = "";
  for (let i = 0; i < 8; i++) digits += String(rng.int(0, 9));
  return prefix + digits;
}

function emptyCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

const ALL_KINDS: readonly CallKind[] = [...GENERATED_KINDS, "dial"];
const ALL_OUTCOMES: readonly CallOutcome[] = ["answered", "transferred", "missed", "busy", "no answer", "abandoned", "hung up"];

export class TrafficGenerator {
  /** The seed in use (the given one, or the random one chosen). */
  readonly seed: string;

  private readonly extensions: readonly string[];
  private readonly extensionSet: ReadonlySet<string>;
  private readonly mix: Record<GeneratedKind, number>;
  private readonly meanGapMs: number;
  private readonly firstCallMs: number;
  private readonly rng: Random;

  private running = false;
  private arrivalTimer: NodeJS.Timeout | undefined;
  private nextCallNumber = 1;
  private dialCount = 0;
  private readonly calls = new Set<CallRun>();
  private readonly legs: TrafficLegs;
  private readonly picker: ExtensionPicker;
  private readonly scripts: CallScripts;
  private readonly callListeners = new Set<(s: CallSummary) => void>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private unlisten: (() => void) | undefined;
  private drainWaiters: Array<() => void> = [];
  private readonly counts: TrafficStats = {
    byKind: emptyCounts(ALL_KINDS),
    byOutcome: emptyCounts(ALL_OUTCOMES),
    ended: 0,
    inProgress: 0,
    skipped: 0,
    answeredViaApi: 0,
  };

  constructor(
    private readonly server: PbxServer,
    options: TrafficOptions,
  ) {
    if (options.extensions.length === 0) throw new Error("TrafficGenerator: at least one extension is needed");
    this.extensions = [...new Set(options.extensions)];
    this.extensionSet = new Set(this.extensions);
    const rate = options.callsPerMinute ?? 6;
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new Error("TrafficGenerator: callsPerMinute must be a number >= 0");
    this.meanGapMs = rate > 0 ? 60_000 / rate : Infinity;
    const focus = (options.focus ?? []).filter((e) => this.extensionSet.has(e));
    this.picker = new ExtensionPicker(this.extensions, focus, options.focusShare ?? 0.5);
    this.mix = { ...DEFAULT_MIX, ...options.mix };
    if (!GENERATED_KINDS.some((k) => this.mix[k] > 0)) throw new Error("TrafficGenerator: every kind of call has weight 0");
    const timing: TrafficTiming = { ...DEFAULT_TIMING, ...options.timing };
    this.legs = new TrafficLegs(server);
    this.scripts = new CallScripts(timing, this.legs, this.picker);
    this.firstCallMs = options.firstCallMs ?? 1000;
    this.seed = String(options.seed ?? Math.floor(Math.random() * 1_000_000_000));
    this.rng = new Random(this.seed);
  }

  /** Starts placing calls and following the API's answer, hangup and dial requests. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unlisten = this.server.onApiAction((action) => this.onApiAction(action));
    if (Number.isFinite(this.meanGapMs)) this.scheduleArrival(this.firstCallMs);
  }

  /** Stops at once: no new calls, every call's timers cleared, legs left as they are. No summaries for those calls. */
  stop(): void {
    this.running = false;
    this.stopArrivals();
    this.unlisten?.();
    this.unlisten = undefined;
    for (const call of [...this.calls]) call.abort("stopped");
  }

  /** No new calls; resolves once every call in progress has ended (the API is still followed meanwhile). */
  drain(): Promise<void> {
    this.stopArrivals();
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Places one call now, of the given kind or of a kind drawn from the mix (it draws from the same seeded stream). */
  placeCall(kind?: GeneratedKind): void {
    this.arrive(new Random(this.rng.uint32()), kind);
  }

  /** Calls `listener` with the summary of each call when it ends. Returns an unsubscribe function. */
  onCall(listener: (s: CallSummary) => void): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  /** Calls `listener` when a call script fails unexpectedly (a bug); the call's legs are hung up. */
  onError(listener: (err: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  get stats(): TrafficStats {
    return {
      ...this.counts,
      byKind: { ...this.counts.byKind },
      byOutcome: { ...this.counts.byOutcome },
      inProgress: this.calls.size,
    };
  }

  /** True when no leg is in progress on the extension (neither a generated one nor any other). */
  isIdle(exten: string): boolean {
    return this.legs.isIdle(exten);
  }

  // ---------------------------------------------------------------- arrivals

  private stopArrivals(): void {
    if (this.arrivalTimer) clearTimeout(this.arrivalTimer);
    this.arrivalTimer = undefined;
  }

  private scheduleArrival(delayMs: number): void {
    this.arrivalTimer = setTimeout(() => {
      this.arrivalTimer = undefined;
      if (!this.running) return;
      // Two draws per arrival from the main stream, whatever the call does: the arrivals stay reproducible.
      const callSeed = this.rng.uint32();
      const gap = this.rng.exponential(this.meanGapMs);
      this.arrive(new Random(callSeed));
      if (this.running) this.scheduleArrival(gap);
    }, Math.max(0, Math.round(delayMs)));
  }

  private arrive(rng: Random, forced?: GeneratedKind): void {
    const drawn = rng.weighted(this.mix);
    let kind = forced ?? drawn;
    const outside = outsideNumber(rng);
    if (kind === "busy") {
      // A call for someone who is already on the phone; when nobody is, an ordinary call.
      const target = this.picker.pick(rng, (e) => !this.isIdle(e));
      if (target) return this.launch(rng, "busy", outside, target, (call) => this.scripts.busyInbound(call, target));
      kind = "inbound";
    }
    switch (kind) {
      case "inbound":
      case "missed":
      case "transfer": {
        // People mostly call someone who is free; when nobody is, the caller hears busy.
        const idle = this.picker.pick(rng, (e) => this.isIdle(e));
        const target = idle ?? this.picker.pick(rng);
        if (idle === undefined) return this.launch(rng, "busy", outside, target, (call) => this.scripts.busyInbound(call, target));
        if (kind === "transfer") return this.launch(rng, kind, outside, target, (call) => this.scripts.transfer(call, target));
        return this.launch(rng, kind, outside, target, (call) => this.scripts.inbound(call, target, kind === "missed"));
      }
      case "outbound": {
        const from = this.picker.pick(rng, (e) => this.isIdle(e));
        if (!from) return this.skip();
        return this.launch(rng, kind, from, outside, (call) => this.scripts.outbound(call, from, outside));
      }
      case "internal": {
        const from = this.picker.pick(rng, (e) => this.isIdle(e));
        const to = from === undefined ? undefined : this.picker.pick(rng, (e) => e !== from);
        if (from === undefined || to === undefined) return this.skip();
        return this.launch(rng, kind, from, to, (call) => this.scripts.internal(call, from, to));
      }
      case "queue":
        return this.launch(rng, kind, outside, "queue", (call) => this.scripts.queue(call));
    }
  }

  private skip(): void {
    this.counts.skipped++;
  }

  // ---------------------------------------------------------------- running calls

  private launch(rng: Random, kind: CallKind, from: string, to: string, script: (call: CallRun) => Promise<void>): void {
    const now = Date.now();
    const call = new CallRun(rng, {
      id: this.nextCallNumber++,
      kind,
      from,
      to,
      path: [],
      outcome: "hung up",
      hungUpViaApi: false,
      legs: [],
      startedAt: now,
      endedAt: now,
    });
    this.calls.add(call);
    script(call)
      .then(
        () => this.finish(call, undefined),
        (err: unknown) => this.finish(call, err),
      )
      .catch((err: unknown) => this.reportError(err));
  }

  private finish(call: CallRun, err: unknown): void {
    this.calls.delete(call);
    const stopped = err instanceof Aborted && err.reason === "stopped";
    if (err !== undefined && !(err instanceof Aborted)) this.reportError(err);
    if (!stopped) this.legs.hangupCutShort(call);
    this.legs.releaseAll(call);
    if (!stopped) {
      const s = call.summary;
      s.endedAt = Date.now();
      if (call.connectedAt !== undefined) s.talkMs = s.endedAt - call.connectedAt;
      this.counts.ended++;
      this.counts.byKind[s.kind]++;
      this.counts.byOutcome[s.outcome]++;
      for (const listener of this.callListeners) {
        try {
          listener({ ...s, path: [...s.path], legs: [...s.legs] });
        } catch (e) {
          this.reportError(e);
        }
      }
    }
    if (this.calls.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private reportError(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.errorListeners.size === 0) {
      process.emitWarning(`noojee-pbx-sim: ${e.stack ?? e.message}`);
      return;
    }
    for (const listener of this.errorListeners) listener(e);
  }

  private onApiAction(action: ApiAction): void {
    if (!this.running) return;
    if (action.method === "dial") {
      this.adoptDial(action.uniqueCallId, action.exten, action.number);
      return;
    }
    const call = this.legs.callOf(action.uniqueCallId);
    const leg = call?.legs.get(action.uniqueCallId);
    if (!call || !leg || leg.ended) return;
    if (action.method === "answer") {
      this.counts.answeredViaApi++;
      leg.data = this.server.leg(action.uniqueCallId) ?? leg.data;
      if (call.pending?.answerLeg === action.uniqueCallId) call.pending.onAnswer?.();
      return;
    }
    // hangup: the server already reported this leg's Hungup; the script ends and hangs up the others.
    leg.data = { ...leg.data, status: "Hungup", canAnswer: false };
    this.legs.release(action.uniqueCallId, leg);
    call.summary.hungUpViaApi = true;
    call.abort("hangup");
  }

  /** A call placed through the API: its Dialing Out leg already exists; play the far end. */
  private adoptDial(uniqueCallId: string, exten: string, number: string): void {
    const rng = new Random(`${this.seed}/dial/${++this.dialCount}`);
    const to = number.trim();
    const internal = this.extensionSet.has(to);
    this.launch(rng, "dial", exten, to, async (call) => {
      this.legs.adopt(call, uniqueCallId, exten);
      if (internal) await this.scripts.internal(call, exten, to, uniqueCallId);
      else await this.scripts.outbound(call, exten, to, uniqueCallId);
    });
  }
}
