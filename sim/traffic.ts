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
 */
import { pbxTimestamp, type ApiAction, type CallData, type PbxServer } from "./pbx-server";
import { Random, type Range } from "./random";

export type GeneratedKind = "inbound" | "missed" | "busy" | "outbound" | "internal" | "queue" | "transfer";
/** "dial": a call placed through the API's dial method and played out by the generator. */
export type CallKind = GeneratedKind | "dial";

export const GENERATED_KINDS: readonly GeneratedKind[] = ["inbound", "missed", "busy", "outbound", "internal", "queue", "transfer"];

/** Relative weights of the kinds of generated calls. */
export const DEFAULT_MIX: Readonly<Record<GeneratedKind, number>> = {
  inbound: 35,
  missed: 15,
  busy: 8,
  outbound: 17,
  internal: 8,
  queue: 10,
  transfer: 7,
};

/** Durations in milliseconds, each drawn uniformly from its range. */
export interface TrafficTiming {
  /** Ringing before the person picks up. */
  answerMs: Range;
  /** Ringing before the PBX gives up (`No Answer`); also an outbound call nobody answers. */
  ringTimeoutMs: Range;
  /** Conversation. */
  talkMs: Range;
  /** An outbound call's ringing before the far end picks up. */
  farEndAnswerMs: Range;
  /** From `No Answer` or `Busy` to `Hungup`. */
  endDelayMs: Range;
  /** Conversation before a transfer starts. */
  transferAfterMs: Range;
  /** A transfer's consultation: ringing at the target, then talking to it. */
  consultMs: Range;
  /** A queue's ringing on one agent before it tries the next. */
  queueRingMs: Range;
}

export const DEFAULT_TIMING: Readonly<TrafficTiming> = {
  answerMs: { min: 2_000, max: 12_000 },
  ringTimeoutMs: { min: 15_000, max: 25_000 },
  talkMs: { min: 5_000, max: 60_000 },
  farEndAnswerMs: { min: 2_000, max: 8_000 },
  endDelayMs: { min: 300, max: 1_000 },
  transferAfterMs: { min: 3_000, max: 15_000 },
  consultMs: { min: 2_000, max: 6_000 },
  queueRingMs: { min: 8_000, max: 12_000 },
};

export interface TrafficOptions {
  /** The PBX's extensions (bare numbers). */
  extensions: readonly string[];
  /** Mean rate of new calls (a Poisson process). 0: no calls of its own; API dials are still played out. Default 6. */
  callsPerMinute?: number;
  /** Seed of the generator. Default: a random one (see `seed` to print it). */
  seed?: string | number;
  /** Extensions that get a larger share of the calls, like a reception desk. */
  focus?: readonly string[];
  /** Share of the calls that go to (or come from) a `focus` extension. Default 0.5. */
  focusShare?: number;
  /** Relative weights of the kinds of calls. Missing kinds keep their default weight. */
  mix?: Partial<Record<GeneratedKind, number>>;
  timing?: Partial<TrafficTiming>;
  /** Delay before the first call. Default 1000 ms. */
  firstCallMs?: number;
}

export type CallOutcome =
  | "answered"
  | "transferred"
  | "missed"
  | "busy"
  | "no answer"
  /** A queue call that found no free agent. */
  | "abandoned"
  /** Hung up through the API before it connected. */
  | "hung up";

export interface CallSummary {
  /** 1, 2, ... in the order the calls started. */
  id: number;
  kind: CallKind;
  /** The caller: an outside number or an extension. */
  from: string;
  /** The number called: an extension, an outside number, or "queue". */
  to: string;
  /** The extensions that rang or were reached, in order (a queue's agents, a transfer's target). */
  path: string[];
  outcome: CallOutcome;
  answeredBy?: "api" | "phone" | "far end";
  /** From the first ring (or dial) to the connection. */
  answeredAfterMs?: number;
  /** From the connection to the end. */
  talkMs?: number;
  /** A missed or unanswered call's ringing time. */
  ringMs?: number;
  hungUpViaApi: boolean;
  /** The uniqueCallIds of the call's legs. */
  legs: string[];
  startedAt: number;
  endedAt: number;
}

export interface TrafficStats {
  /** Calls that ended, by kind and by outcome. */
  byKind: Record<CallKind, number>;
  byOutcome: Record<CallOutcome, number>;
  ended: number;
  inProgress: number;
  /** Arrivals dropped because no extension was free. */
  skipped: number;
  /** Legs answered through the API. */
  answeredViaApi: number;
}

class Aborted extends Error {
  constructor(readonly reason: "hangup" | "stopped") {
    super(`call ${reason}`);
  }
}

interface LegState {
  exten: string;
  data: CallData;
  ended: boolean;
}

interface Pending {
  cancel: (err: Aborted) => void;
  /** For a wait on a ringing leg: the leg, and what to do when the API answers it. */
  answerLeg?: string;
  onAnswer?: () => void;
}

class CallRun {
  readonly legs = new Map<string, LegState>();
  pending: Pending | undefined;
  abortReason: "hangup" | "stopped" | undefined;
  connectedAt: number | undefined;

  constructor(
    readonly rng: Random,
    readonly summary: CallSummary,
  ) {}
}

const OUTSIDE_AREAS = ["02", "03", "07", "08"] as const;

/** An Australian-style outside number: a mobile (04xx xxx xxx) or a landline (0[2378] xxxx xxxx). */
function outsideNumber(rng: Random): string {
  const prefix = rng.chance(0.45) ? "04" : rng.pick(OUTSIDE_AREAS);
  let digits = "";
  for (let i = 0; i < 8; i++) digits += String(rng.int(0, 9));
  return prefix + digits;
}

/** The Hungup that ends a leg cut short in `status`: a cause only for a leg that never connected. */
function finalHangup(status: string): Partial<CallData> {
  switch (status) {
    case "Connected":
    case "Unlinked":
      return { status: "Hungup", canAnswer: false };
    case "No Answer":
      return { status: "Hungup", canAnswer: false, hangupCause: "NO_ANSWER" };
    case "Busy":
      return { status: "Hungup", canAnswer: false, hangupCause: "BUSY" };
    default:
      return { status: "Hungup", canAnswer: false, hangupCause: "DISCONNECTED" };
  }
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
  private readonly focus: readonly string[];
  private readonly focusShare: number;
  private readonly mix: Record<GeneratedKind, number>;
  private readonly timing: TrafficTiming;
  private readonly meanGapMs: number;
  private readonly firstCallMs: number;
  private readonly rng: Random;

  private running = false;
  private arrivalTimer: NodeJS.Timeout | undefined;
  private nextCallNumber = 1;
  private dialCount = 0;
  private readonly calls = new Set<CallRun>();
  private readonly legCall = new Map<string, CallRun>();
  /** Legs of generated calls in progress per extension, counted until their final Hungup. */
  private readonly held = new Map<string, number>();
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
    this.focus = (options.focus ?? []).filter((e) => this.extensionSet.has(e));
    this.focusShare = options.focusShare ?? 0.5;
    this.mix = { ...DEFAULT_MIX, ...options.mix };
    if (!GENERATED_KINDS.some((k) => this.mix[k] > 0)) throw new Error("TrafficGenerator: every kind of call has weight 0");
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
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
    for (const call of [...this.calls]) this.abort(call, "stopped");
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
    return (this.held.get(exten) ?? 0) === 0 && this.server.legsOf(exten).length === 0;
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
      const target = this.pickExtension(rng, (e) => !this.isIdle(e));
      if (target) return this.launch(rng, "busy", outside, target, (call) => this.busyInbound(call, target));
      kind = "inbound";
    }
    switch (kind) {
      case "inbound":
      case "missed":
      case "transfer": {
        // People mostly call someone who is free; when nobody is, the caller hears busy.
        const idle = this.pickExtension(rng, (e) => this.isIdle(e));
        const target = idle ?? this.pickExtension(rng);
        if (idle === undefined) return this.launch(rng, "busy", outside, target, (call) => this.busyInbound(call, target));
        if (kind === "transfer") return this.launch(rng, kind, outside, target, (call) => this.transfer(call, target));
        return this.launch(rng, kind, outside, target, (call) => this.inbound(call, target, kind === "missed"));
      }
      case "outbound": {
        const from = this.pickExtension(rng, (e) => this.isIdle(e));
        if (!from) return this.skip();
        return this.launch(rng, kind, from, outside, (call) => this.outbound(call, from, outside));
      }
      case "internal": {
        const from = this.pickExtension(rng, (e) => this.isIdle(e));
        const to = from === undefined ? undefined : this.pickExtension(rng, (e) => e !== from);
        if (from === undefined || to === undefined) return this.skip();
        return this.launch(rng, kind, from, to, (call) => this.internal(call, from, to));
      }
      case "queue":
        return this.launch(rng, kind, outside, "queue", (call) => this.queue(call));
    }
  }

  private skip(): void {
    this.counts.skipped++;
  }

  /** An extension drawn among those that pass `filter`, favouring the focus extensions. */
  private pickExtension(rng: Random): string;
  private pickExtension(rng: Random, filter: (e: string) => boolean): string | undefined;
  private pickExtension(rng: Random, filter?: (e: string) => boolean): string | undefined {
    const candidates = filter ? this.extensions.filter(filter) : this.extensions;
    if (candidates.length === 0) return undefined;
    const focused = candidates.filter((e) => this.focus.includes(e));
    // Always two draws, so the choice does not shift the rest of the call's stream.
    const useFocus = rng.chance(this.focusShare);
    const pickedFocus = focused.length > 0 ? rng.pick(focused) : undefined;
    const picked = rng.pick(candidates);
    return useFocus && pickedFocus !== undefined ? pickedFocus : picked;
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
    if (!stopped) {
      // Hung up through the API (or failed): the other legs hang up too.
      for (const [id, leg] of call.legs) {
        if (!leg.ended) this.change(call, id, finalHangup(this.server.leg(id)?.status ?? leg.data.status));
      }
    }
    for (const [id, leg] of call.legs) {
      if (!leg.ended) this.release(id, leg);
    }
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

  private abort(call: CallRun, reason: "hangup" | "stopped"): void {
    call.abortReason ??= reason;
    const pending = call.pending;
    call.pending = undefined;
    pending?.cancel(new Aborted(call.abortReason));
  }

  private onApiAction(action: ApiAction): void {
    if (!this.running) return;
    if (action.method === "dial") {
      this.adoptDial(action.uniqueCallId, action.exten, action.number);
      return;
    }
    const call = this.legCall.get(action.uniqueCallId);
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
    this.release(action.uniqueCallId, leg);
    call.summary.hungUpViaApi = true;
    this.abort(call, "hangup");
  }

  /** A call placed through the API: its Dialing Out leg already exists; play the far end. */
  private adoptDial(uniqueCallId: string, exten: string, number: string): void {
    const rng = new Random(`${this.seed}/dial/${++this.dialCount}`);
    const to = number.trim();
    const internal = this.extensionSet.has(to);
    this.launch(rng, "dial", exten, to, async (call) => {
      this.adoptLeg(call, uniqueCallId, exten);
      if (internal) await this.internal(call, exten, to, uniqueCallId);
      else await this.outbound(call, exten, to, uniqueCallId);
    });
  }

  // ---------------------------------------------------------------- legs

  private openLeg(call: CallRun, exten: string, init: Partial<CallData>): string {
    const id = this.server.startCall(exten, {
      callerId: "",
      callStartTime: "",
      canAnswer: false,
      inbound: true,
      isQueueCall: false,
      isClickToDialCall: false,
      ...init,
    });
    this.adoptLeg(call, id, exten);
    const leg = call.legs.get(id);
    if (leg && leg.data.status === "Hungup") this.release(id, leg);
    return id;
  }

  private adoptLeg(call: CallRun, id: string, exten: string): void {
    const data = this.server.leg(id) ?? this.lastReported(id, exten);
    call.legs.set(id, { exten, data, ended: false });
    call.summary.legs.push(id);
    this.legCall.set(id, call);
    this.held.set(exten, (this.held.get(exten) ?? 0) + 1);
  }

  /** A leg that already left the current state (e.g. one that started as Busy): its last event. */
  private lastReported(id: string, exten: string): CallData {
    const events = this.server.events;
    for (let i = events.length - 1; i >= 0; i--) {
      const ev = events[i];
      if (ev.exten === exten && ev.entry.CallData.uniqueCallId === id) return { ...ev.entry.CallData };
    }
    return { uniqueCallId: id, status: "Hungup" };
  }

  /** Reports a change of one of the call's legs; a Hungup ends the leg. */
  private change(call: CallRun, id: string, patch: Partial<CallData>): void {
    const leg = call.legs.get(id);
    if (!leg || leg.ended) return;
    const base = this.server.leg(id) ?? leg.data;
    const data = { ...base, ...patch, uniqueCallId: id } as CallData;
    leg.data = data;
    this.server.emit(leg.exten, data);
    if (data.status === "Hungup") this.release(id, leg);
  }

  private release(id: string, leg: LegState): void {
    if (leg.ended) return;
    leg.ended = true;
    this.legCall.delete(id);
    const n = (this.held.get(leg.exten) ?? 1) - 1;
    if (n <= 0) this.held.delete(leg.exten);
    else this.held.set(leg.exten, n);
  }

  /** Connects a leg unless the API already did. */
  private connect(call: CallRun, id: string): void {
    const current = this.server.leg(id);
    if (current?.status === "Connected") return;
    this.change(call, id, { status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
  }

  /** Records who answered, connects the leg, starts the talk time. */
  private answered(call: CallRun, id: string, by: "api" | "phone" | "far end", ringStart: number): void {
    this.connect(call, id);
    const s = call.summary;
    s.outcome = "answered";
    s.answeredBy = by;
    s.answeredAfterMs = Date.now() - ringStart;
    call.connectedAt = Date.now();
  }

  /** Hangs up every leg of the call still in progress: the end of a conversation. */
  private hangupAll(call: CallRun): void {
    for (const [id, leg] of call.legs) {
      if (!leg.ended) this.change(call, id, { status: "Hungup", canAnswer: false });
    }
  }

  // ---------------------------------------------------------------- waiting

  private sleep(call: CallRun, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (call.abortReason) return reject(new Aborted(call.abortReason));
      const timer = setTimeout(() => {
        call.pending = undefined;
        resolve();
      }, ms);
      call.pending = {
        cancel: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** Waits `ms` for the API to answer the ringing leg: "api" when it did, "timeout" otherwise. */
  private waitAnswer(call: CallRun, id: string, ms: number): Promise<"api" | "timeout"> {
    return new Promise<"api" | "timeout">((resolve, reject) => {
      if (call.abortReason) return reject(new Aborted(call.abortReason));
      const timer = setTimeout(() => {
        call.pending = undefined;
        resolve("timeout");
      }, ms);
      call.pending = {
        cancel: (err) => {
          clearTimeout(timer);
          reject(err);
        },
        answerLeg: id,
        onAnswer: () => {
          clearTimeout(timer);
          call.pending = undefined;
          resolve("api");
        },
      };
    });
  }

  // ---------------------------------------------------------------- call scripts

  /** An outside call ringing on an idle extension: answered by the person (or the API), or missed. */
  private async inbound(call: CallRun, target: string, missed: boolean): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    s.path.push(target);
    const ringStart = Date.now();
    const leg = this.openLeg(call, target, { status: "Ringing", callerId: s.from, canAnswer: true });
    const by = await this.waitAnswer(call, leg, rng.between(missed ? t.ringTimeoutMs : t.answerMs));
    if (by === "timeout" && missed) {
      s.outcome = "missed";
      s.ringMs = Date.now() - ringStart;
      this.change(call, leg, { status: "No Answer", canAnswer: false });
      await this.sleep(call, rng.between(t.endDelayMs));
      this.change(call, leg, { status: "Hungup", canAnswer: false, hangupCause: "NO_ANSWER" });
      return;
    }
    this.answered(call, leg, by === "api" ? "api" : "phone", ringStart);
    await this.sleep(call, rng.between(t.talkMs));
    this.hangupAll(call);
  }

  /** An outside call for an extension that is on another call: it does not ring there. */
  private async busyInbound(call: CallRun, target: string): Promise<void> {
    const { rng, summary: s } = call;
    s.path.push(target);
    s.outcome = "busy";
    const leg = this.openLeg(call, target, { status: "Busy", callerId: s.from, canAnswer: false });
    await this.sleep(call, rng.between(this.timing.endDelayMs));
    this.change(call, leg, { status: "Hungup", canAnswer: false, hangupCause: "BUSY" });
  }

  /** An extension calls an outside number; `existing` is a leg the API's dial already created. */
  private async outbound(call: CallRun, from: string, number: string, existing?: string): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    const dialStart = Date.now();
    const leg =
      existing ?? this.openLeg(call, from, { status: "Dialing Out", callerId: number, inbound: false, canAnswer: false });
    const fate = rng.weighted({ answer: 80, noAnswer: 12, busy: 8 });
    if (fate === "busy") {
      await this.sleep(call, rng.between({ min: 1_000, max: 3_000 }));
      s.outcome = "busy";
      this.change(call, leg, { status: "Busy" });
      await this.sleep(call, rng.between(t.endDelayMs));
      this.change(call, leg, { status: "Hungup", hangupCause: "BUSY" });
      return;
    }
    if (fate === "noAnswer") {
      await this.sleep(call, rng.between(t.ringTimeoutMs));
      s.outcome = "no answer";
      s.ringMs = Date.now() - dialStart;
      this.change(call, leg, { status: "Hungup", hangupCause: "NO_ANSWER" });
      return;
    }
    await this.sleep(call, rng.between(t.farEndAnswerMs));
    this.answered(call, leg, "far end", dialStart);
    await this.sleep(call, rng.between(t.talkMs));
    this.hangupAll(call);
  }

  /** One extension calls another; busy when the other is on a call. */
  private async internal(call: CallRun, from: string, to: string, existing?: string): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    const dialStart = Date.now();
    const caller =
      existing ?? this.openLeg(call, from, { status: "Dialing Out", callerId: to, inbound: false, canAnswer: false });
    s.path.push(to);
    if (to === from || !this.isIdle(to)) {
      await this.sleep(call, rng.between(t.endDelayMs));
      s.outcome = "busy";
      this.change(call, caller, { status: "Busy" });
      await this.sleep(call, rng.between(t.endDelayMs));
      this.change(call, caller, { status: "Hungup", hangupCause: "BUSY" });
      return;
    }
    const callee = this.openLeg(call, to, { status: "Ringing", callerId: from, canAnswer: true });
    const missed = rng.chance(0.15);
    const by = await this.waitAnswer(call, callee, rng.between(missed ? t.ringTimeoutMs : t.answerMs));
    if (by === "timeout" && missed) {
      s.outcome = "missed";
      s.ringMs = Date.now() - dialStart;
      this.change(call, callee, { status: "No Answer", canAnswer: false });
      await this.sleep(call, rng.between(t.endDelayMs));
      this.change(call, callee, { status: "Hungup", canAnswer: false, hangupCause: "NO_ANSWER" });
      this.change(call, caller, { status: "Hungup", hangupCause: "NO_ANSWER" });
      return;
    }
    this.answered(call, callee, by === "api" ? "api" : "phone", dialStart);
    this.connect(call, caller);
    await this.sleep(call, rng.between(t.talkMs));
    this.hangupAll(call);
  }

  /** An outside call to a queue: rings a free agent (queue calls cannot be answered through the API), maybe a second. */
  private async queue(call: CallRun): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    const queueStart = Date.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      const agent = this.pickExtension(rng, (e) => this.isIdle(e) && !s.path.includes(e));
      if (agent === undefined) break;
      s.path.push(agent);
      const noAnswer = rng.chance(attempt === 0 ? 0.4 : 0.25);
      const leg = this.openLeg(call, agent, { status: "Ringing", callerId: s.from, isQueueCall: true, canAnswer: false });
      const by = await this.waitAnswer(call, leg, rng.between(noAnswer ? t.queueRingMs : t.answerMs));
      if (by === "timeout" && noAnswer) {
        this.change(call, leg, { status: "No Answer" });
        await this.sleep(call, rng.between(t.endDelayMs));
        this.change(call, leg, { status: "Hungup", hangupCause: "NO_ANSWER" });
        continue;
      }
      this.answered(call, leg, by === "api" ? "api" : "phone", queueStart);
      await this.sleep(call, rng.between(t.talkMs));
      this.hangupAll(call);
      return;
    }
    s.outcome = s.path.length > 0 ? "missed" : "abandoned";
    s.ringMs = Date.now() - queueStart;
  }

  /**
   * An outside call answered on `first`, which consults another free extension and hands the caller over:
   * the first leg goes Unlinked then Hungup, the target's leg goes Unlinked then Connected to the caller.
   */
  private async transfer(call: CallRun, first: string): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    s.path.push(first);
    const ringStart = Date.now();
    const callerLeg = this.openLeg(call, first, { status: "Ringing", callerId: s.from, canAnswer: true });
    const by = await this.waitAnswer(call, callerLeg, rng.between(t.answerMs));
    this.answered(call, callerLeg, by === "api" ? "api" : "phone", ringStart);
    await this.sleep(call, rng.between(t.transferAfterMs));

    const target = this.pickExtension(rng, (e) => e !== first && this.isIdle(e));
    if (target === undefined) {
      // Nobody free to take the call: it stays an ordinary call.
      await this.sleep(call, rng.between(t.talkMs));
      this.hangupAll(call);
      return;
    }
    s.path.push(target);
    const consultLeg = this.openLeg(call, first, { status: "Dialing Out", callerId: target, inbound: false, canAnswer: false });
    const targetLeg = this.openLeg(call, target, { status: "Ringing", callerId: first, canAnswer: true });
    await this.waitAnswer(call, targetLeg, rng.between(t.consultMs));
    this.connect(call, targetLeg);
    this.connect(call, consultLeg);
    await this.sleep(call, rng.between(t.consultMs));

    this.change(call, callerLeg, { status: "Unlinked" });
    this.change(call, consultLeg, { status: "Hungup" });
    this.change(call, targetLeg, { status: "Unlinked" });
    this.change(call, targetLeg, { status: "Connected", callerId: s.from });
    this.change(call, callerLeg, { status: "Hungup" });
    s.outcome = "transferred";
    await this.sleep(call, rng.between(t.talkMs));
    this.hangupAll(call);
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** One line describing a finished call, e.g. `#12 inbound  0355501234 -> 410: answered via the API after 0.4 s, talked 23 s`. */
export function describeCall(s: CallSummary): string {
  const route =
    s.kind === "queue"
      ? `${s.from} -> queue${s.path.length > 0 ? ` -> ${s.path.join(", ")}` : ""}`
      : s.kind === "outbound" || s.kind === "internal" || s.kind === "dial"
        ? `${s.from} -> ${s.to}`
        : `${s.from} -> ${s.path.join(" -> ")}`;
  const by = s.answeredBy === "api" ? " via the API" : "";
  const after = s.answeredAfterMs !== undefined ? ` after ${seconds(s.answeredAfterMs)}` : "";
  const talked = s.talkMs !== undefined ? `, talked ${seconds(s.talkMs)}` : "";
  let what: string;
  switch (s.outcome) {
    case "answered":
      what = s.answeredBy === "far end" ? `connected${after}${talked}` : `answered${by}${after}${talked}`;
      break;
    case "transferred":
      what = `answered${by}${after}, transferred to ${s.path[s.path.length - 1]}${talked}`;
      break;
    case "missed":
      what = `missed (no answer, rang ${seconds(s.ringMs ?? 0)})`;
      break;
    case "busy":
      what = "busy";
      break;
    case "no answer":
      what = `no answer after ${seconds(s.ringMs ?? 0)}`;
      break;
    case "abandoned":
      what = "no agent free, the caller gave up";
      break;
    case "hung up":
      what = `hung up after ${seconds(s.endedAt - s.startedAt)}`;
      break;
  }
  const hungUp = s.hungUpViaApi && s.outcome !== "hung up" ? ", hung up via the API" : "";
  const kind = s.kind === "dial" ? "dial(API)" : s.kind;
  return `#${s.id} ${kind.padEnd(9)} ${route}: ${what}${hungUp}`;
}
