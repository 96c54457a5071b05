/**
 * The subscribe long polls: checking a subscribe request's parameters, holding the poll until it has events, its
 * `timeOut` or (after a restart) a counter past its lastSequenceNumber, answering it, and the log of those answers.
 */
import type * as http from "node:http";
import { CODE_BAD_PARAM } from "./api-codes";
import { sendJson } from "./http-replies";
import type { PbxServerOptions, RecordedAnswer, SubscribeEntry } from "./pbx-types";
import { trimBatch } from "./trim-batch";
import { Waiters } from "./waiters";

// setTimeout fires at once beyond this; longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

type PollMode = "events" | "snapshot" | "restartHold" | "hang";

interface Poll {
  res: http.ServerResponse;
  extens: string[];
  mode: PollMode;
  /** Answer events with seq > baseline. */
  baseline: number;
  openedAt: number;
  readyAt: number;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

/** What the polls read from the rest of the server. */
export interface PollSource {
  /** The counter and the server lifetime now. */
  seq(): number;
  epoch(): number;
  /** Events after `baseline` on the extensions (see EventLog.collect). */
  collect(extens: string[], baseline: number): Record<string, SubscribeEntry[]> | undefined;
  /** The calls in progress on the extensions (see CallLegs.snapshot), and whether there are any. */
  snapshot(extens: string[]): Record<string, SubscribeEntry[]> | undefined;
  hasLegs(extens: string[]): boolean;
  /**
   * Told the number of open polls after each open and close, and how many of them are requests held without an answer
   * (a "hang" fault): those can never bring anything.
   */
  pollsChanged(open: number, hung: number): void;
}

export type PollOptions = Required<
  Pick<PbxServerOptions, "minPollMs" | "emptyData" | "restartMode" | "idleSnapshot" | "timeOutUnitMs" | "maxRequests">
>;

export class LongPolls {
  /** Every subscribe answer written, oldest first (bounded by maxRequests). */
  readonly answers: RecordedAnswer[] = [];

  private readonly polls = new Set<Poll>();
  private readonly pollsByExten = new Map<string, Set<Poll>>(); // "events" polls only
  private readonly restartHeld = new Set<Poll>();
  private readonly wakeQueue = new Set<Poll>();
  private wakeHandle: NodeJS.Immediate | undefined;
  private readonly waiters = new Waiters<number>();

  constructor(
    private readonly source: PollSource,
    private readonly opts: PollOptions,
  ) {}

  /** Polls open now (including requests held without an answer). */
  get open(): number {
    return this.polls.size;
  }

  /** Checks a subscribe request's parameters and opens its poll, or answers the error envelope. */
  subscribe(res: http.ServerResponse, q: Record<string, string>): void {
    const extens = [...new Set((q.exten ?? "").split(",").filter((e) => e !== ""))];
    if (extens.length === 0) {
      sendJson(res, 200, { Message: "Missing parameter: exten", Code: CODE_BAD_PARAM });
      return;
    }
    const lastRaw = q.lastSequenceNumber;
    if (lastRaw === undefined || !/^\d+$/.test(lastRaw)) {
      sendJson(res, 200, { Message: "Missing or invalid parameter: lastSequenceNumber", Code: CODE_BAD_PARAM });
      return;
    }
    const timeOutRaw = q.timeOut ?? "10";
    if (!/^\d+$/.test(timeOutRaw)) {
      sendJson(res, 200, { Message: "Invalid parameter: timeOut", Code: CODE_BAD_PARAM });
      return;
    }
    const last = Number(lastRaw);
    const timeOut = Number(timeOutRaw);
    const now = Date.now();
    const counter = this.source.seq();
    const p: Poll = {
      res,
      extens,
      mode: "events",
      baseline: last,
      openedAt: now,
      readyAt: now + this.opts.minPollMs,
      deadline: now + timeOut * this.opts.timeOutUnitMs,
      timer: undefined,
      done: false,
    };
    if (last === 0) {
      if (timeOut === 0 || this.opts.idleSnapshot === "answer" || this.source.hasLegs(extens)) p.mode = "snapshot";
      else p.baseline = counter; // nothing in progress: wait for the first change like a normal poll
    } else if (last > counter) {
      if (this.opts.restartMode === "hold") p.mode = "restartHold";
      else p.deadline = now;
    }
    this.openPoll(p);
    this.evaluate(p);
  }

  /** Keeps a request open without ever answering it; it counts as an open poll until the client or closeAll ends it. */
  hold(res: http.ServerResponse): void {
    this.openPoll({ res, extens: [], mode: "hang", baseline: 0, openedAt: Date.now(), readyAt: 0, deadline: Infinity, timer: undefined, done: false });
  }

  /** A change on `exten`: wakes the polls waiting for it, and those held for the counter. */
  changedOn(exten: string): void {
    const waiting = this.pollsByExten.get(exten);
    if (waiting) for (const p of waiting) this.queueWake(p);
    this.counterMoved();
  }

  /** Wakes the polls held until the counter passes their lastSequenceNumber, if it now does. */
  counterMoved(): void {
    const counter = this.source.seq();
    for (const p of this.restartHeld) if (counter > p.baseline) this.queueWake(p);
  }

  /** Closes every poll without an answer; `dropSockets` also destroys their connections (a restarting PBX). */
  closeAll(dropSockets: boolean): void {
    for (const p of [...this.polls]) {
      this.closePoll(p);
      if (dropSockets) p.res.socket?.destroy();
    }
  }

  /** Server stop: every poll closed, no wake pending. */
  stop(): void {
    this.closeAll(false);
    if (this.wakeHandle) clearImmediate(this.wakeHandle);
    this.wakeHandle = undefined;
    this.wakeQueue.clear();
  }

  /** Resolves once exactly `n` polls are open. */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.polls.size === n) return Promise.resolve();
    const timeoutError = (): Error => new Error(`waitForPolls(${n}): still ${this.polls.size} open after ${timeoutMs} ms`);
    return this.waiters.wait((count) => count === n, timeoutMs, timeoutError).then(() => undefined);
  }

  rejectWaiters(err: Error): void {
    this.waiters.rejectAll(err);
  }

  /** Wakes are batched on setImmediate so events emitted in one tick reach a poll in one answer. */
  private queueWake(p: Poll): void {
    this.wakeQueue.add(p);
    this.wakeHandle ??= setImmediate(() => {
      this.wakeHandle = undefined;
      const batch = [...this.wakeQueue];
      this.wakeQueue.clear();
      for (const q of batch) this.evaluate(q);
    });
  }

  private openPoll(p: Poll): void {
    this.polls.add(p);
    if (p.mode === "events") {
      for (const e of p.extens) {
        let s = this.pollsByExten.get(e);
        if (!s) this.pollsByExten.set(e, (s = new Set()));
        s.add(p);
      }
    } else if (p.mode === "restartHold") {
      this.restartHeld.add(p);
    }
    // A client abort (or reset) closes the response before we answer.
    p.res.on("close", () => {
      if (!p.done) this.closePoll(p);
    });
    this.pollsChanged();
  }

  private closePoll(p: Poll): void {
    if (p.done) return;
    p.done = true;
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    this.polls.delete(p);
    for (const e of p.extens) {
      const s = this.pollsByExten.get(e);
      if (s && s.delete(p) && s.size === 0) this.pollsByExten.delete(e);
    }
    this.restartHeld.delete(p);
    this.wakeQueue.delete(p);
    this.pollsChanged();
  }

  private arm(p: Poll, at: number): void {
    if (p.timer) clearTimeout(p.timer);
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS);
    p.timer = setTimeout(() => {
      p.timer = undefined;
      this.evaluate(p);
    }, delay);
  }

  /** Answers the poll if it may and should be answered now, else (re)arms its timer. */
  private evaluate(p: Poll): void {
    if (p.done) return;
    const now = Date.now();
    if (now < p.readyAt) {
      if (p.mode !== "hang") this.arm(p, p.readyAt);
      return;
    }
    switch (p.mode) {
      case "hang":
        return;
      case "snapshot":
        this.answerPoll(p, this.source.snapshot(p.extens));
        return;
      case "restartHold":
        if (this.source.seq() > p.baseline) this.answerPoll(p, this.source.collect(p.extens, p.baseline));
        return;
      case "events": {
        const data = this.source.collect(p.extens, p.baseline);
        if (data || now >= p.deadline) this.answerPoll(p, data);
        else this.arm(p, p.deadline);
        return;
      }
    }
  }

  private answerPoll(p: Poll, data: Record<string, SubscribeEntry[]> | undefined): void {
    const body: Record<string, unknown> = {};
    if (data) body.Data = data;
    else if (this.opts.emptyData === "object") body.Data = {};
    else if (this.opts.emptyData === "null") body.Data = null;
    body.seq = this.source.seq();
    body.Code = 0;
    this.closePoll(p);
    if (p.res.writableEnded || p.res.destroyed) return;
    let entries = 0;
    for (const list of Object.values(data ?? {})) entries += list.length;
    this.answers.push({
      epoch: this.source.epoch(),
      exten: p.extens.join(","),
      last: p.baseline,
      seq: this.source.seq(),
      snapshot: p.mode === "snapshot",
      entries,
      requestedAt: p.openedAt,
      at: Date.now(),
    });
    trimBatch(this.answers, this.opts.maxRequests);
    sendJson(p.res, 200, body);
  }

  private pollsChanged(): void {
    let hung = 0;
    for (const p of this.polls) if (p.mode === "hang") hung += 1;
    this.source.pollsChanged(this.polls.size, hung);
    this.waiters.offer(this.polls.size);
  }
}
