/**
 * An in-memory PBX for the model-based tests of the hub (hub.model.test.ts), faithful to the API notes
 * (/work/shared/noojee-api.md, "subscribe"):
 * - ONE global `seq` counter, moved by every change on any extension: the watchable pool's calls and "noise", changes
 *   on extensions outside the pool that nobody ever watches (they only move the counter, so they are not logged);
 * - call legs (extension + uniqueCallId) moving Ringing / Dialing Out → Connected (→ Unlinked → Connected) →
 *   Busy / No Answer → Hungup, or straight to Hungup; every state of a leg is a distinct CallData, so a state received
 *   maps back to one index of the leg's history;
 * - `lastSequenceNumber=0`: the current state (each active leg's latest state) at once; otherwise the entries with
 *   seq > last for the requested extensions as soon as there are any, or at timeOut with none (timeOut=0: at once),
 *   never sooner than `minPollMs` after the request (the real PBX's ~100 ms), in one of two answer styles: "every"
 *   (every change, oldest first) or "latest" (each changed leg's latest state only);
 * - restarts: the counter goes back near 0 and the calls are dropped; a poll whose last is above the new counter is
 *   answered at once with the lower seq ("lower") or held until its timeOut ("hold");
 * - faults: the next answer(s) fail (a reset or a 5xx, as NoojeeErrors), the next request(s) hang (nothing until aborted
 *   or the client's own timeout, timeOut + 10 s, as the real client's), an intermediary that cuts any request held
 *   longer than its idle limit (HTTP 504).
 * Everything runs on the (fake) timers of the test. Every request is recorded, so checks can see what is in flight.
 * Requests of a "killed" hub generation are closed and never answered.
 */
import { NoojeeError } from "../../nodes/lib/client/errors";
import type { SubscribeApi } from "../../nodes/lib/poll/poll-loop";
import type { CallData, SubscribeEntry, SubscribeResponse } from "../../nodes/lib/client/types";

/** Test time: monotonic (the fake performance clock), so a step of the wall clock moves none of the model's times. */
export const now = (): number => performance.now();

export type AnswerStyle = "every" | "latest";
export type RestartMode = "lower" | "hold";
export type EmptyShape = "object" | "null" | "missing";

export interface ModelPbxOptions {
  style: AnswerStyle;
  restartMode: RestartMode;
  /** Counter at start: far above what a restart goes back to. */
  startSeq: number;
  /** What an answer without entries carries as Data. */
  emptyShape: EmptyShape;
  minPollMs?: number;
  /** The client gives up this long after timeOut (api-client: timeOut + 10 s). */
  clientGraceSec?: number;
}

export interface Leg {
  id: string;
  extension: string;
  epoch: number;
  callId: number;
  history: CallData[];
  /** Time of each state. */
  at: number[];
  createdAt: number;
  endedAt: number | undefined;
  /** Dropped by a restart while in progress. */
  dropped: boolean;
}

/** fault: a reset or 5xx; cut: the intermediary's 504 after its idle limit; timeout: the client's own limit. */
export type Outcome = "answer" | "fault" | "cut" | "timeout" | "aborted" | "killed";

export interface RequestRecord {
  id: number;
  gen: number;
  extensions: string[];
  last: number;
  timeOut: number;
  openedAt: number;
  epoch: number;
  closedAt?: number;
  outcome?: Outcome;
  answerSeq?: number;
  /** The PBX's epoch when it answered. */
  answerEpoch?: number;
  /** Set by the world: the cursor this answer gives is one of the answering epoch's own (see model-world.ts). */
  known?: boolean;
  hung: boolean;
  /** Set once the answer is scheduled (due). */
  due: boolean;
}

interface Open {
  record: RequestRecord;
  resolve(response: SubscribeResponse): void;
  reject(error: unknown): void;
  timers: Array<ReturnType<typeof setTimeout>>;
  cleanup(): void;
}

const TERMINAL = new Set(["Hungup"]);

/** The statuses a leg may move to next. */
export function nextStatuses(status: string): string[] {
  switch (status) {
    case "Ringing":
    case "Dialing Out":
      return ["Connected", "Busy", "No Answer", "Hungup"];
    case "Connected":
      return ["Unlinked", "Hungup"];
    case "Unlinked":
      return ["Connected", "Hungup"];
    case "Busy":
    case "No Answer":
      return ["Hungup"];
    default:
      return [];
  }
}

export class ModelPbx implements SubscribeApi {
  seq: number;
  epoch = 0;
  readonly legs: Leg[] = [];
  /** Changes on the pool's extensions in this epoch (restart clears it). */
  private log: Array<{ seq: number; leg: Leg; index: number }> = [];
  readonly requests: RequestRecord[] = [];
  private readonly open = new Map<number, Open>();
  private readonly deadGens = new Set<number>();
  private answerFaults: Array<"reset" | "5xx"> = [];
  private hangs = 0;
  proxyIdleSec: number | undefined;
  private noiseTimer: ReturnType<typeof setInterval> | undefined;
  private legCounter = 0;
  /** Bumped on every request opened, closed or answered: settle() watches it. */
  activity = 0;
  onAnswer: ((record: RequestRecord, response: SubscribeResponse) => void) | undefined;
  onOpen: ((record: RequestRecord) => void) | undefined;
  private readonly minPollMs: number;
  private readonly graceSec: number;

  constructor(readonly options: ModelPbxOptions) {
    this.seq = options.startSeq;
    this.minPollMs = options.minPollMs ?? 100;
    this.graceSec = options.clientGraceSec ?? 10;
  }

  /** Counter moves on extensions outside the pool every `ms` (undefined: none). */
  setNoise(ms: number | undefined): void {
    if (this.noiseTimer !== undefined) clearInterval(this.noiseTimer);
    this.noiseTimer = ms === undefined ? undefined : setInterval(() => (this.seq += 1), ms);
  }

  stop(): void {
    this.setNoise(undefined);
    for (const open of [...this.open.values()]) this.close(open, "killed");
  }

  // ---- calls ----

  activeLegs(extension?: string): Leg[] {
    return this.legs.filter((l) => l.epoch === this.epoch && l.endedAt === undefined && !l.dropped && (extension === undefined || l.extension === extension));
  }

  legById(id: string): Leg | undefined {
    return this.legs.find((l) => l.id === id);
  }

  /** A new leg on `extension`: inbound rings, outbound dials out. */
  startCall(extension: string, inbound: boolean): Leg {
    this.legCounter += 1;
    const id = `${1412750000 + this.legCounter}.${this.epoch}${this.legCounter}`;
    const leg: Leg = {
      id, extension, epoch: this.epoch, callId: this.activeLegs().length + this.legCounter, history: [], at: [],
      createdAt: now(), endedAt: undefined, dropped: false,
    };
    this.legs.push(leg);
    this.change(leg, inbound ? "Ringing" : "Dialing Out");
    return leg;
  }

  /** Moves `leg` to `status` (one of nextStatuses). */
  advance(leg: Leg, status: string): void {
    this.change(leg, status);
  }

  private change(leg: Leg, status: string): void {
    const previous = leg.history.at(-1);
    const inbound = previous ? previous.inbound : status === "Ringing";
    const transfers = leg.history.filter((d) => d.status === "Unlinked").length;
    const data: CallData = {
      uniqueCallId: leg.id,
      status,
      callerId: inbound ? "0355501234" : "0299998888",
      inbound,
      canAnswer: inbound && status === "Ringing",
      isQueueCall: false,
      isClickToDialCall: false,
      callStartTime: status === "Connected" || previous?.callStartTime ? "2026/12/04 10:00:00" : "",
      // Each state of a leg is distinct: a Connected after a transfer talks to someone else.
      otherPartyCallerId: `${inbound ? "in" : "out"}-${transfers}`,
    };
    if (status === "Hungup") data.hangupCause = previous?.status === "Busy" ? "BUSY" : previous?.status === "No Answer" ? "NO_ANSWER" : "DISCONNECTED";
    this.seq += 1;
    leg.history.push(data);
    leg.at.push(now());
    if (TERMINAL.has(status)) leg.endedAt = now();
    this.log.push({ seq: this.seq, leg, index: leg.history.length - 1 });
    for (const open of this.open.values()) this.consider(open);
  }

  /** Counter back near 0 (always below where it was), every call dropped. */
  restart(back: number): void {
    if (this.seq < 2) this.seq += 5;
    this.epoch += 1;
    for (const leg of this.legs) if (leg.endedAt === undefined) leg.dropped = true;
    this.seq = Math.min(1 + back, this.seq - 1);
    this.log = [];
    for (const open of this.open.values()) this.consider(open);
  }

  // ---- faults ----

  /** Every open request fails now with a reset, as a PBX restart drops its connections (presence.model.test.ts). */
  dropConnections(): void {
    for (const open of [...this.open.values()]) this.close(open, "fault", new NoojeeError("network", "connection reset"));
  }

  /** The highest `seq` any answer has handed out: no client's cursor is past it. */
  get highestAnswered(): number {
    return Math.max(0, ...this.requests.map((r) => r.answerSeq ?? 0));
  }

  failNextAnswers(kind: "reset" | "5xx", count: number): void {
    for (let i = 0; i < count; i++) this.answerFaults.push(kind);
  }

  hangNextRequests(count: number): void {
    this.hangs += count;
  }

  get pendingFaults(): number {
    return this.answerFaults.length + this.hangs;
  }

  // ---- hub generations ----

  /** A Node-RED killed: its requests vanish, it never hears from the PBX again. */
  kill(gen: number): void {
    this.deadGens.add(gen);
    for (const open of [...this.open.values()]) if (open.record.gen === gen) this.close(open, "killed");
  }

  /** The API as one hub generation sees it. */
  apiFor(gen: number): SubscribeApi {
    return { subscribe: (extensions, last, timeOut, signal) => this.request(gen, extensions, last, timeOut, signal) };
  }

  subscribe(extensions: readonly string[], last: number, timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    return this.request(0, extensions, last, timeOut, signal);
  }

  openRequests(gen?: number): RequestRecord[] {
    return [...this.open.values()].map((o) => o.record).filter((r) => gen === undefined || r.gen === gen);
  }

  /** True while an answer is scheduled and not yet sent. */
  get answersDue(): boolean {
    return [...this.open.values()].some((o) => o.record.due);
  }

  private request(gen: number, extensions: readonly string[], last: number, timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    if (this.deadGens.has(gen)) return new Promise(() => undefined); // a dead process's leftovers: never answered
    const record: RequestRecord = {
      id: this.requests.length, gen, extensions: [...extensions], last, timeOut, openedAt: now(), epoch: this.epoch,
      hung: false, due: false,
    };
    this.requests.push(record);
    this.activity += 1;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const open = this.open.get(record.id);
        if (open) this.close(open, "aborted", new NoojeeError("aborted", "request cancelled"));
      };
      const open: Open = { record, resolve, reject, timers: [], cleanup: () => signal?.removeEventListener("abort", onAbort) };
      if (signal?.aborted) {
        record.closedAt = now();
        record.outcome = "aborted";
        reject(new NoojeeError("aborted", "request cancelled"));
        return;
      }
      signal?.addEventListener("abort", onAbort);
      this.open.set(record.id, open);
      this.onOpen?.(record);
      const clientLimit = (timeOut + this.graceSec) * 1000;
      open.timers.push(setTimeout(() => this.close(open, "timeout", new NoojeeError("timeout", `no answer within ${timeOut + this.graceSec} s`)), clientLimit));
      if (this.hangs > 0) {
        this.hangs -= 1;
        record.hung = true;
        return;
      }
      if (this.proxyIdleSec !== undefined && this.proxyIdleSec < timeOut) {
        const cut = new NoojeeError("http", "HTTP 504", { httpStatus: 504 });
        open.timers.push(setTimeout(() => this.close(open, "cut", cut), this.proxyIdleSec * 1000));
      }
      if (timeOut > 0) open.timers.push(setTimeout(() => this.schedule(open), timeOut * 1000));
      this.consider(open);
    });
  }

  /** Schedules the answer of a held poll once it has something to say. */
  private consider(open: Open): void {
    const r = open.record;
    if (r.hung || r.due) return;
    const ready = r.last === 0 || r.timeOut === 0 ||
      (this.options.restartMode === "lower" && r.last > this.seq) || this.entriesFor(r).length > 0;
    if (ready) this.schedule(open);
  }

  private schedule(open: Open): void {
    const r = open.record;
    if (r.due || r.hung || r.closedAt !== undefined) return;
    r.due = true;
    this.activity += 1;
    const wait = Math.max(0, r.openedAt + this.minPollMs - now());
    open.timers.push(setTimeout(() => this.deliver(open), wait));
  }

  private entriesFor(r: RequestRecord): Array<{ seq: number; leg: Leg; index: number }> {
    return this.log.filter((e) => e.seq > r.last && r.extensions.includes(e.leg.extension));
  }

  private deliver(open: Open): void {
    const r = open.record;
    if (r.closedAt !== undefined) return;
    const fault = this.answerFaults.shift();
    if (fault) {
      const error = fault === "reset"
        ? new NoojeeError("network", "connection reset")
        : new NoojeeError("http", "HTTP 503", { httpStatus: 503 });
      this.close(open, "fault", error);
      return;
    }
    const data: Record<string, SubscribeEntry[]> = {};
    const put = (leg: Leg, index: number): void => {
      (data[leg.extension] ??= []).push({ CallData: { ...leg.history[index] }, CallID: leg.callId, Code: 0 });
    };
    if (r.last === 0) {
      for (const extension of r.extensions) for (const leg of this.activeLegs(extension)) put(leg, leg.history.length - 1);
    } else if (this.options.style === "every") {
      for (const e of this.entriesFor(r)) put(e.leg, e.index);
    } else {
      const latest = new Map<Leg, number>();
      for (const e of this.entriesFor(r)) {
        latest.delete(e.leg); // ordered by each leg's latest change
        latest.set(e.leg, e.seq);
      }
      for (const leg of latest.keys()) put(leg, leg.history.length - 1);
    }
    const response: SubscribeResponse = { Code: 0, seq: this.seq };
    if (Object.keys(data).length > 0) response.Data = data;
    else if (this.options.emptyShape === "object") response.Data = {};
    else if (this.options.emptyShape === "null") response.Data = null;
    r.answerSeq = this.seq;
    r.answerEpoch = this.epoch;
    this.onAnswer?.(r, response);
    this.close(open, "answer", undefined, response);
  }

  private close(open: Open, outcome: Outcome, error?: unknown, response?: SubscribeResponse): void {
    const r = open.record;
    if (r.closedAt !== undefined) return;
    r.closedAt = now();
    r.outcome = outcome;
    r.due = false;
    for (const timer of open.timers) clearTimeout(timer);
    open.cleanup();
    this.open.delete(r.id);
    this.activity += 1;
    if (outcome === "killed") return; // the process is gone: nobody hears anything
    if (response) open.resolve(response);
    else open.reject(error);
  }
}

/** The index in the leg's history of the state `data` (-1: a state the leg never had). */
export function indexOf(leg: Leg, data: object): number {
  const print = (d: object): string => JSON.stringify(d, Object.keys(d).sort());
  const wanted = print(data);
  return leg.history.findIndex((d) => print(d) === wanted);
}

export const names = (leg: Leg, indices: readonly number[]): string => indices.map((i) => leg.history[i].status).join(", ");

/** The latest answer before `record` on a request of the same process that asked for `extension`. */
export function lastAnswer(requests: readonly RequestRecord[], extension: string, record: RequestRecord): RequestRecord | undefined {
  for (let i = requests.length - 1; i >= 0; i--) {
    const q = requests[i];
    if (q.gen !== record.gen) return undefined;
    if (q !== record && q.outcome === "answer" && q.extensions.includes(extension)) return q;
  }
  return undefined;
}
