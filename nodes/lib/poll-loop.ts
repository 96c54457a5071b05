/**
 * The subscribe long-poll state machine for one set of extensions. Knows nothing of Node-RED.
 *
 * Rules it keeps (see the API notes in the README):
 * - `lastSequenceNumber` is always the `seq` of the previous successful answer; a failure never moves it.
 * - A `seq` below the one sent means the PBX restarted: read the current state again from 0.
 * - Extensions added while running get a current-state read of their own; the main cursor is kept.
 * - Only a state that differs from the last one emitted for a leg is emitted (CallStateTable).
 * - Given saved positions (`resumeFrom`, after a Node-RED restart), it carries on from the `seq` of the one that covers
 *   most of its extensions instead of reading the current state: the PBX then answers with every change since. The
 *   extensions that position does not cover get a current-state read. A PBX that restarted meanwhile is detected as
 *   for any poll (its `seq` below ours, or a poll it holds past its timeOut).
 * - Failures retry with exponential backoff; an answer that comes back without entries, at the same seq, long before
 *   its timeOut waits a little, so a server that ignores timeOut cannot drive a hot loop.
 */
import { backoffDelay, BackoffOptions, DEFAULT_BACKOFF } from "./backoff";
import { CallStateTable } from "./call-state-table";
import { isNoojeeError, NoojeeError } from "./errors";
import { Hold, HoldLimit, holdNoticeText } from "./hold-limit";
import type { CallData, SubscribeResponse } from "./types";

export interface CallEvent {
  extension: string;
  data: CallData;
  callId: number | undefined;
  seq: number;
  /** True for calls already in progress when the extension was first read. */
  initial: boolean;
}

/** Where a poll stood: enough to carry on from there in another process (see resume-file.ts). */
export interface ResumePoint {
  seq: number;
  /** The extensions whose changes up to `seq` have been emitted. */
  extensions: string[];
  /** Extension → seq of its own current-state read, when above `seq`. */
  fences: Record<string, number>;
}

export type LoopStatus =
  | { state: "connecting" }
  | { state: "listening" }
  | { state: "failing"; error: NoojeeError; attempt: number; retryInMs: number };

export interface SubscribeApi {
  subscribe(
    extensions: readonly string[],
    lastSequenceNumber: number,
    timeOutSec: number,
    signal?: AbortSignal,
  ): Promise<SubscribeResponse>;
  /** Bytes the percent-encoded `exten` value of one request may take, so the whole URL stays short enough. */
  subscribeExtenBudget?(): number;
}

export interface PollLoopOptions {
  api: SubscribeApi;
  timeoutSec: number;
  onEvents: (events: CallEvent[]) => void;
  onStatus: (status: LoopStatus) => void;
  onWarning?: (message: string) => void;
  backoff?: BackoffOptions;
  /** Least wait after the PBX rejects the key: retrying fast cannot help. */
  authRetryMs?: number;
  /** Wait after an empty answer that came back long before its timeOut. */
  idleGapMs?: number;
  random?: () => number;
  now?: () => number;
  table?: CallStateTable;
  /** Saved positions to carry on from instead of a first current-state read. */
  resumeFrom?: readonly ResumePoint[];
  /** Called once the events of an answer have been handed to onEvents (the position moved). */
  onAnswer?: () => void;
  /**
   * Tells a proxy's idle cut of a held poll from a failure and learns the limit (hold-limit.ts); its `unitMs` is the
   * length of one timeOut unit. Share one between the loops of a connection so that they learn, and say it, once.
   */
  holdLimit?: HoldLimit;
}

const TECH_PREFIX = /^[A-Za-z][A-Za-z0-9]*\//;

function hasEntries(response: SubscribeResponse): boolean {
  return Object.values(response.Data ?? {}).some((entries) => Array.isArray(entries) && entries.length > 0);
}

export class PollLoop {
  readonly table: CallStateTable;
  private readonly options: Required<Omit<PollLoopOptions, "table" | "onWarning" | "resumeFrom" | "onAnswer" | "holdLimit">> &
    Pick<PollLoopOptions, "onWarning" | "onAnswer">;
  private readonly holdLimit: HoldLimit;
  private resumeFrom: readonly ResumePoint[] | undefined;
  /** The saved position carried on from, while the cursor has not moved past it. */
  private resumed: ResumePoint | undefined;
  private extensions: string[] = [];
  private seq = 0;
  private needFullSnapshot = true;
  private firstSnapshot = true;
  private probeForRestart = false;
  /** After a failure the next poll asks with timeOut=0, so recovery shows at once rather than after a held poll. */
  private quickCheck = false;
  private readonly pendingAdded = new Set<string>();
  /** Extension → seq of its own current-state read: older entries for it are stale. */
  private readonly fences = new Map<string, number>();
  private controller: AbortController | undefined;
  private restartRequested = false;
  private wake: (() => void) | undefined;
  private wakeOnChange = false;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private attempt = 0;
  private lastState: LoopStatus["state"] | undefined;

  constructor(options: PollLoopOptions) {
    this.options = {
      backoff: DEFAULT_BACKOFF,
      authRetryMs: 60_000,
      idleGapMs: 1000,
      random: Math.random,
      now: Date.now,
      ...options,
    };
    this.table = options.table ?? new CallStateTable({ now: this.options.now });
    this.resumeFrom = options.resumeFrom;
    this.holdLimit = options.holdLimit ?? new HoldLimit();
  }

  /** Where this poll stands, or undefined while it has no position worth keeping (before its first read). */
  resumePoint(): ResumePoint | undefined {
    if (this.needFullSnapshot) return undefined;
    const extensions = this.extensions.filter((e) => !this.pendingAdded.has(e));
    if (extensions.length === 0) return undefined;
    const fences: Record<string, number> = {};
    for (const [extension, seq] of this.fences) if (seq > this.seq) fences[extension] = seq;
    return { seq: this.seq, extensions, fences };
  }

  /** Saved positions no longer apply (the start is over): extensions added from now on get a current-state read. */
  forgetResumePoints(): void {
    this.resumeFrom = undefined;
    this.resumed = undefined;
  }

  /** The cursor: the `seq` of the last successful answer. */
  get sequence(): number {
    return this.seq;
  }

  get isRunning(): boolean {
    return !this.stopped;
  }

  get watched(): readonly string[] {
    return this.extensions;
  }

  /** True when the current state of `extension` has been read, so the table holds it. */
  isSettled(extension: string): boolean {
    return !this.needFullSnapshot && this.extensions.includes(extension) && !this.pendingAdded.has(extension);
  }

  setTimeoutSec(seconds: number): void {
    this.options.timeoutSec = seconds;
  }

  /** Changes the watched set; the held poll is cut short so the next one asks for the new set. */
  setExtensions(extensions: readonly string[]): void {
    const next = [...new Set(extensions)];
    const added = next.filter((e) => !this.extensions.includes(e));
    const removed = this.extensions.filter((e) => !next.includes(e));
    if (added.length === 0 && removed.length === 0) return;
    this.extensions = next;
    for (const extension of removed) {
      this.table.forgetExtension(extension);
      this.fences.delete(extension);
      this.pendingAdded.delete(extension);
    }
    if (!this.needFullSnapshot) {
      for (const extension of added) if (!this.joinResumed(extension)) this.pendingAdded.add(extension);
    }
    if (this.controller) {
      this.restartRequested = true;
      this.controller.abort();
    }
    if (this.wakeOnChange) this.wakeUp();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    // Resuming a kept cursor (after a redeploy): ask with timeOut=0 first, so "listening" shows at once
    // rather than after a held poll.
    if (!this.needFullSnapshot) this.quickCheck = true;
    this.setStatus({ state: "connecting" });
    this.running = this.run();
  }

  /** Aborts the request in flight, clears the timer, and resolves once the loop has returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    this.wakeUp();
    await this.running;
    this.running = undefined;
    this.lastState = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.extensions.length === 0) {
        await this.sleep(undefined, true);
        continue;
      }
      try {
        await this.step();
        this.attempt = 0;
        this.setStatus({ state: "listening" });
      } catch (err) {
        if (this.stopped) break;
        if (this.restartRequested) {
          this.restartRequested = false;
          continue;
        }
        await this.backOff(err);
      }
    }
  }

  private async backOff(err: unknown): Promise<void> {
    const error = isNoojeeError(err) ? err : new NoojeeError("network", err instanceof Error ? err.message : String(err));
    this.attempt += 1;
    let delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    if (error.kind === "auth") delay = Math.max(delay, this.options.authRetryMs);
    // A PBX that restarted may hold polls whose lastSequenceNumber is above its counter: check before the next poll.
    if (error.kind === "timeout") this.probeForRestart = true;
    this.quickCheck = true;
    this.setStatus({ state: "failing", error, attempt: this.attempt, retryInMs: delay });
    await this.sleep(delay, false);
  }

  private async step(): Promise<void> {
    if (this.needFullSnapshot && this.resumeFrom) this.resume();
    if (this.needFullSnapshot || this.probeForRestart) {
      await this.readAll();
    } else if (this.pendingAdded.size > 0) {
      await this.readAdded();
    } else {
      await this.poll();
    }
  }

  /** Carries on from the saved position that covers most of the watched extensions; the others are read. */
  private resume(): void {
    const candidates = this.resumeFrom ?? [];
    this.resumeFrom = undefined;
    let best: ResumePoint | undefined;
    let covered = 0;
    for (const point of candidates) {
      const n = this.extensions.filter((e) => point.extensions.includes(e)).length;
      if (n > covered) [best, covered] = [point, n];
    }
    if (!best) return;
    this.resumed = best;
    this.seq = best.seq;
    this.needFullSnapshot = false;
    this.firstSnapshot = false; // what comes back are changes, not calls found in progress
    this.quickCheck = true;
    for (const extension of this.extensions) if (!this.joinResumed(extension)) this.pendingAdded.add(extension);
  }

  /** An extension the resumed position covers joins at that position, while the cursor is still there. */
  private joinResumed(extension: string): boolean {
    const point = this.resumed;
    if (!point || point.seq !== this.seq || !point.extensions.includes(extension)) return false;
    const fence = point.fences[extension];
    if (fence !== undefined) this.fences.set(extension, fence);
    return true;
  }

  /** Current state of every watched extension: at start, after a restart, or to check for one. */
  private async readAll(): Promise<void> {
    const extensions = [...this.extensions];
    const response = await this.request(extensions, 0, 0);
    if (!this.needFullSnapshot) {
      this.probeForRestart = false;
      if (response.seq >= this.seq) return; // no restart: resume the long poll where it was
      this.warn(`PBX sequence went back from ${this.seq} to ${response.seq}: resynchronising`);
    }
    const initial = this.firstSnapshot;
    this.needFullSnapshot = false;
    this.firstSnapshot = false;
    this.probeForRestart = false;
    this.pendingAdded.clear();
    this.fences.clear();
    this.seq = response.seq;
    this.applySnapshot(extensions, response, initial);
    this.options.onAnswer?.();
  }

  /** Current state of extensions added since the last read; the cursor of the others is kept. */
  private async readAdded(): Promise<void> {
    const added = [...this.pendingAdded];
    const response = await this.request(added, 0, 0);
    const still = added.filter((e) => this.extensions.includes(e));
    for (const extension of still) {
      this.pendingAdded.delete(extension);
      this.fences.set(extension, response.seq);
    }
    this.applySnapshot(still, response, true);
    this.options.onAnswer?.();
  }

  private async poll(): Promise<void> {
    const sent = this.seq;
    const started = this.options.now();
    const timeoutSec = this.quickCheck ? 0 : this.holdLimit.timeOut(this.options.timeoutSec);
    const quick = this.quickCheck;
    this.quickCheck = false;
    const hold = this.holdLimit.start(timeoutSec);
    let response: SubscribeResponse;
    try {
      response = await this.request([...this.extensions], sent, timeoutSec);
    } catch (err) {
      this.quickCheck = quick; // cut short (new extensions) or failed: the quick check is still to do
      if (this.idleCut(hold, err)) return;
      throw err;
    }
    if (response.seq < sent) {
      this.warn(`PBX sequence went back from ${sent} to ${response.seq}: the PBX restarted, resynchronising`);
      // Entries of the restarted PBX are newer than anything we had: pass them on before the fresh read.
      this.emit(this.collect(response, false, () => true));
      this.needFullSnapshot = true;
      return;
    }
    const events = this.collect(response, false, (extension) => this.passesFence(extension, response.seq));
    this.seq = response.seq;
    this.emit(events);
    this.options.onAnswer?.();
    // Only an answer without entries, at an unchanged seq and early is a server ignoring timeOut. One whose seq moved
    // on, or that carried entries (even ones that only repeat states already sent), is a PBX at work: poll at once.
    const idle = response.seq === sent && !hasEntries(response);
    if (idle && this.options.now() - started < (timeoutSec * this.holdLimit.unitMs) / 2) {
      await this.sleep(this.options.idleGapMs, true);
    }
  }

  /**
   * A held poll cut by a proxy's idle limit is no failure: true to poll again at once (at the learned timeOut), without
   * a failing status or backoff. A cut-shaped failure after a hold past the timeOut is one, like a client timeout.
   */
  private idleCut(hold: Hold, err: unknown): boolean {
    if (this.stopped || this.restartRequested || !isNoojeeError(err)) return false;
    const verdict = this.holdLimit.judge(hold, err);
    if (verdict.notice) this.warn(holdNoticeText(verdict.notice, this.options.timeoutSec));
    if (!verdict.cut && verdict.overdue) this.probeForRestart = true;
    return verdict.cut;
  }

  private passesFence(extension: string, seq: number): boolean {
    const fence = this.fences.get(extension);
    if (fence === undefined) return true;
    if (seq <= fence) return false; // everything in this answer predates that extension's current-state read
    this.fences.delete(extension);
    return true;
  }

  private applySnapshot(extensions: readonly string[], response: SubscribeResponse, initial: boolean): void {
    const wanted = new Set(extensions);
    const events = this.collect(response, initial, (extension) => wanted.has(extension));
    // Legs a current-state read no longer lists have ended (or died with a PBX restart): forget them.
    const listed = new Map<string, Set<string>>();
    for (const [key, entries] of Object.entries(response.Data ?? {})) {
      if (!Array.isArray(entries)) continue;
      const extension = key.replace(TECH_PREFIX, "");
      const ids = listed.get(extension) ?? new Set<string>();
      for (const entry of entries) {
        const id = entry?.CallData?.uniqueCallId;
        if (id !== undefined) ids.add(String(id));
      }
      listed.set(extension, ids);
    }
    for (const extension of extensions) this.table.retainOnly(extension, listed.get(extension) ?? new Set());
    this.emit(events);
  }

  /** Valid, changed, watched entries of an answer, in the PBX's order for each extension. */
  private collect(response: SubscribeResponse, initial: boolean, accept: (extension: string) => boolean): CallEvent[] {
    const events: CallEvent[] = [];
    const data = response.Data;
    if (!data) return events;
    for (const [key, entries] of Object.entries(data)) {
      const extension = key.replace(TECH_PREFIX, "");
      if (!this.extensions.includes(extension) || !accept(extension)) continue;
      if (!Array.isArray(entries)) {
        this.warn(`ignored malformed entries for extension ${extension}`);
        continue;
      }
      for (const entry of entries) {
        const callData = entry?.CallData;
        if (typeof callData !== "object" || callData === null || typeof callData.status !== "string" ||
          (typeof callData.uniqueCallId !== "string" && typeof callData.uniqueCallId !== "number")) {
          this.warn(`ignored a malformed entry for extension ${extension}`);
          continue;
        }
        if (typeof entry.Code === "number" && entry.Code < 0) {
          this.warn(`ignored an entry with Code ${entry.Code} for extension ${extension}`);
          continue;
        }
        const data: CallData = { ...callData, uniqueCallId: String(callData.uniqueCallId) };
        const callId = typeof entry.CallID === "number" ? entry.CallID : undefined;
        if (this.table.update(extension, data, callId)) {
          events.push({ extension, data, callId, seq: response.seq, initial });
        }
      }
    }
    return events;
  }

  private emit(events: CallEvent[]): void {
    if (events.length > 0) this.options.onEvents(events);
  }

  private async request(extensions: string[], last: number, timeOutSec: number): Promise<SubscribeResponse> {
    const controller = new AbortController();
    this.controller = controller;
    this.restartRequested = false;
    try {
      return await this.options.api.subscribe(extensions, last, timeOutSec, controller.signal);
    } finally {
      if (this.controller === controller) this.controller = undefined;
    }
  }

  /** Waits `ms` (or until woken when undefined); stop() always wakes it, setExtensions() when `onChange`. */
  private sleep(ms: number | undefined, onChange: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeOnChange = onChange;
      this.wake = resolve;
      if (ms !== undefined) this.sleepTimer = setTimeout(() => this.wakeUp(), ms);
    });
  }

  private wakeUp(): void {
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    this.wakeOnChange = false;
    wake?.();
  }

  private setStatus(status: LoopStatus): void {
    // Failures are always reported (the attempt and delay change); steady states once.
    if (status.state !== "failing" && status.state === this.lastState) return;
    this.lastState = status.state;
    this.options.onStatus(status);
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }
}
