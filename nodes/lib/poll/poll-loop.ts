/**
 * The subscribe long-poll state machine for one set of extensions. Knows nothing of Node-RED.
 *
 * Rules it keeps (docs/design.md explains them):
 * - `lastSequenceNumber` is always the `seq` of a previous successful answer (one global counter); a failure never
 *   moves it. An answer whose `seq` is below a cursor this loop holds means the PBX restarted: carry on from that
 *   `seq` and resynchronise with a current-state read (read-check.ts).
 * - Extensions added while running get a current-state read of their own, and are polled from that read's `seq`
 *   until they can join the others without a change being lost or repeated (see cursor-groups.ts): the other
 *   extensions keep their cursor.
 * - Only a state that differs from the last one emitted for a leg is emitted (CallStateTable).
 * - Given saved positions (`resumeFrom`, after a Node-RED restart), each extension watched at the start carries on from
 *   its `seq` (or the lowest, resume-points.ts): the PBX answers with every change since. A read checks them.
 * - A backlog too large for one answer is skipped for a current-state read, with a warning (skipped-backlog.ts).
 * - Failures retry with exponential backoff; an answer that comes back without entries, at the same seq, long before
 *   its timeOut waits a little, so a server that ignores timeOut cannot drive a hot loop.
 */
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff";
import { CallStateTable } from "./call-state-table";
import { CursorGroup, CursorGroups } from "./cursor-groups";
import { isNoojeeError, NoojeeError } from "../client/errors";
import { Hold, HoldLimit, holdNoticeText } from "./hold-limit";
import { monotonicNow } from "../monotonic";
import { Outages } from "./outages";
import { ResumePoint, ResumeSource } from "./resume-points";
import { WarningLimiter } from "./warning-limiter";
import { CursorTimes, isTooLarge, skippedBacklogText } from "./skipped-backlog";
import type { SubscribeResponse } from "../client/types";
import type { CallEvent, LoopStatus, PollLoopOptions } from "./poll-types";
import { hasEntries, listedLegs, validEntries } from "./answer-entries";
import { CheckOutcome, ReadChecks } from "./read-check";

export type { ResumePoint } from "./resume-points";

export type { CallEvent, LoopStatus, PollLoopOptions, SubscribeApi } from "./poll-types";

export class PollLoop {
  readonly table: CallStateTable;
  private readonly options: Required<Omit<PollLoopOptions, "table" | "onWarning" | "resumeFrom" | "onAnswer" | "holdLimit" | "onSnapshot">> &
    Pick<PollLoopOptions, "onWarning" | "onAnswer" | "onSnapshot">;
  private readonly holdLimit: HoldLimit;
  private resumeFrom: ResumeSource | undefined;
  private extensions: string[] = [];
  /** The cursors of the extensions read (or resumed); see cursor-groups.ts. */
  private readonly groups = new CursorGroups();
  /** Watched extensions still to be read (added, or not covered by a saved position). */
  private readonly pending = new Set<string>();
  /** Resumed extensions whose first answer is still to come (onSnapshot). */
  private readonly resumedUnread = new Set<string>();
  private needFullSnapshot = true;
  private firstSnapshot = true;
  /** A current-state read is due before the next poll, compared with the calls once they have caught up with it. */
  private probeForRestart = false;
  private readonly checks = new ReadChecks();
  private readonly cursorOf = (extension: string): number | undefined => this.groups.groupOf(extension)?.cursor;
  /** After a failure the next poll asks with timeOut=0, so recovery shows at once rather than after a held poll. */
  private quickCheck = false;
  private controller: AbortController | undefined;
  private restartRequested = false;
  private wake: (() => void) | undefined;
  private wakeOnChange = false;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  /** Bumped by every start and stop: a run of an older generation returns at its next turn. */
  private generation = 0;
  private stopped = true;
  private attempt = 0;
  private lastState: LoopStatus["state"] | undefined;
  private readonly entryWarnings: WarningLimiter;
  /** Extensions whose next changes arrive after an outage (CallEvent.afterOutage). */
  private readonly outages = new Outages();
  private readonly cursorTimes: CursorTimes;

  constructor(options: PollLoopOptions) {
    this.options = {
      backoff: DEFAULT_BACKOFF,
      authRetryMs: 60_000,
      idleGapMs: 1000,
      random: Math.random,
      // Intervals only: a wall clock stepped back must not stretch them.
      now: monotonicNow,
      ...options,
    };
    this.table = options.table ?? new CallStateTable({ now: this.options.now });
    // A PBX that sends the same bad entry in every answer must not write a log line per poll.
    this.entryWarnings = new WarningLimiter({ emit: (line) => this.warn(line), now: this.options.now });
    const from = options.resumeFrom;
    this.resumeFrom = from === undefined || from instanceof ResumeSource ? from : new ResumeSource(from);
    this.holdLimit = options.holdLimit ?? new HoldLimit();
    this.cursorTimes = new CursorTimes(this.options.now);
  }

  /** Where this loop's polls stand (one point per cursor); none before its first read. */
  resumePoints(): ResumePoint[] {
    if (this.needFullSnapshot) return [];
    return this.groups.list
      .map((group) => ({ seq: group.cursor, extensions: this.extensions.filter((e) => group.extensions.has(e)), fences: {} }))
      .filter((point) => point.extensions.length > 0);
  }

  /** Saved positions no longer apply (the start is over): extensions added from now on get a current-state read. */
  forgetResumePoints(): void {
    this.resumeFrom = undefined;
  }

  /** The highest cursor: the `seq` of the latest successful answer. */
  get sequence(): number {
    return this.groups.maxCursor();
  }

  /** How many cursors the loop holds (1 once added extensions have joined the others). */
  get cursorCount(): number {
    return this.groups.size;
  }

  get isRunning(): boolean {
    return !this.stopped;
  }

  get watched(): readonly string[] {
    return this.extensions;
  }

  /**
   * True when the current state of `extension` has been read (or resumed), so the table holds it. Still true while a
   * PBX restart is being resynchronised: the table holds what every other node was sent, and the resync sends only
   * what differs from it, so a node that joins meanwhile must be handed the table's calls too.
   */
  isSettled(extension: string): boolean {
    return !(this.needFullSnapshot && this.firstSnapshot) && this.groups.groupOf(extension) !== undefined;
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
      this.groups.remove(extension);
      this.pending.delete(extension);
      this.checks.drop(extension);
    }
    // Placed at the next turn of the loop, never under an answer being handled.
    if (!this.needFullSnapshot) for (const extension of added) this.pending.add(extension);
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
    const generation = ++this.generation;
    // Resuming a kept cursor (after a redeploy): ask with timeOut=0 first, so "listening" shows at once
    // rather than after a held poll.
    if (!this.needFullSnapshot) this.quickCheck = true;
    this.lastState = undefined;
    this.setStatus({ state: "connecting" });
    // A stop still in progress first finishes its run: never two runs, never two polls.
    const previous = this.running;
    this.running = previous
      ? previous.then(() => (generation === this.generation ? this.run(generation) : undefined))
      : this.run(generation);
  }

  /** Aborts the request in flight, clears the timer, and resolves once the loop has returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    this.controller?.abort();
    this.wakeUp();
    this.entryWarnings.close();
    const running = this.running;
    await running;
    if (this.running === running) this.running = undefined;
  }

  private async run(generation: number): Promise<void> {
    const current = (): boolean => !this.stopped && generation === this.generation;
    while (current()) {
      if (this.extensions.length === 0) {
        await this.sleep(undefined, true);
        continue;
      }
      try {
        await this.step();
        if (!current()) break;
        this.attempt = 0;
        this.quickCheck = false; // any answer shows the PBX is back: the next long poll may be held
        this.setStatus({ state: "listening" });
      } catch (err) {
        if (!current()) break;
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
    this.outages.failed(this.extensions);
    let delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    if (error.kind === "auth") delay = Math.max(delay, this.options.authRetryMs);
    // A PBX that restarted may hold polls whose lastSequenceNumber is above its counter: check before the next poll.
    if (error.kind === "timeout") this.probeForRestart = true;
    this.quickCheck = true;
    this.setStatus({ state: "failing", error, attempt: this.attempt, retryInMs: delay });
    await this.sleep(delay, false);
  }

  private async step(): Promise<void> {
    if (this.needFullSnapshot && this.firstSnapshot) this.resume();
    if (this.needFullSnapshot) return this.readAll();
    this.placeResumed();
    if (this.probeForRestart) return this.readAll();
    if (this.pending.size > 0) return this.readAdded();
    const oldest = this.groups.oldest();
    if (!oldest) {
      this.needFullSnapshot = true; // nothing read and nothing to read: cannot happen, but never stay deaf
      return;
    }
    const sent = oldest.cursor;
    try {
      return await (this.groups.size > 1 ? this.catchUp(oldest) : this.poll(oldest));
    } catch (err) {
      if (!isTooLarge(err)) throw err;
      return this.skipBacklog(oldest, sent, err);
    }
  }

  /** At start: carries on from the saved positions if any covers a watched extension; the others are read. */
  private resume(): void {
    const source = this.resumeFrom;
    if (!source || !this.extensions.some((e) => source.has(e))) return;
    this.needFullSnapshot = false;
    this.firstSnapshot = false; // what comes back are changes, not calls found in progress
    this.quickCheck = true;
    // A read first: a PBX restarted since shows at once (one that holds a poll above its counter would hold the first
    // poll until it timed out, losing the calls made meanwhile); it finds adopted extensions' calls (read-check.ts).
    this.probeForRestart = true;
    for (const extension of this.extensions) this.pending.add(extension);
  }

  /** Extensions to be read that a saved position covers (while the flows start) join at that position instead. */
  private placeResumed(): void {
    const source = this.resumeFrom;
    if (!source || source.size === 0) return;
    const byCursor = new Map<number, string[]>();
    for (const extension of this.pending) {
      const taken = source.take(extension);
      if (taken === undefined) continue;
      this.pending.delete(extension);
      // Whatever the table holds for an adopted one came with a position that did not cover it: from a node gone.
      if (taken.adopted) this.table.forgetExtension(extension);
      else this.resumedUnread.add(extension);
      this.checks.place(extension, taken.adopted);
      this.probeForRestart = true;
      byCursor.set(taken.cursor, [...(byCursor.get(taken.cursor) ?? []), extension]);
    }
    for (const [cursor, extensions] of byCursor) this.groups.add(extensions, cursor);
  }

  /** Current state of every watched extension: at start, after a restart, or to check for one. */
  private async readAll(): Promise<void> {
    const extensions = [...this.extensions];
    const response = await this.request(extensions, 0, 0);
    let kept: string[] = [];
    if (!this.needFullSnapshot) {
      this.probeForRestart = false;
      // No restart the seq shows; one whose new counter passed ours already shows in the calls (read-check.ts).
      if (response.seq >= this.groups.maxCursor()) return this.startCheck(extensions, response);
      this.warn(`PBX sequence went back from ${this.groups.maxCursor()} to ${response.seq}: resynchronising`);
      this.resumeFrom?.forget(); // positions of the PBX's previous life
      // A cursor at or below the read's seq may be of its new life (a chunk that had seen the restart saved it before
      // a crash): it carries on, checked by this read (read-check.ts); only those above it are resynchronised.
      kept = this.groups.list.filter((group) => group.cursor <= response.seq).flatMap((group) => [...group.extensions]);
    }
    const initial = this.firstSnapshot;
    this.needFullSnapshot = false;
    this.firstSnapshot = false;
    this.probeForRestart = false;
    this.pending.clear();
    const read = extensions.filter((e) => this.extensions.includes(e) && !kept.includes(e));
    // Never read before (a first read, or added or adopted while the PBX restarted): their calls go out as in progress,
    // whatever a restored position had sent (see readAdded). The others' resync sends what changed.
    const fresh = initial ? read : read.filter((e) => !this.groups.groupOf(e) || this.checks.isAdopting(e));
    this.checks.clear(kept, response);
    for (const extension of fresh) this.table.forgetExtension(extension);
    if (kept.length > 0) this.groups.add(read, response.seq);
    else this.groups.reset(read, response.seq);
    // Added while the answer was on its way (too late to cut it short): they get a read of their own.
    for (const extension of this.extensions) if (!read.includes(extension) && !kept.includes(extension)) this.pending.add(extension);
    if (fresh.length > 0) this.applySnapshot(fresh, response, true);
    if (fresh.length < read.length) this.applySnapshot(read.filter((e) => !fresh.includes(e)), response, false);
    this.options.onAnswer?.();
  }

  /** A read whose seq did not go back: to compare with the calls (read-check.ts), and the read of the added ones. */
  private startCheck(asked: readonly string[], response: SubscribeResponse): void {
    if (this.checks.begin(response, asked.filter((e) => this.groups.groupOf(e)))) this.probeForRestart = true;
    const added = asked.filter((e) => this.pending.has(e));
    if (added.length > 0) this.placeRead(added, response);
  }

  /** Current state of extensions added since the last read: they get a cursor of their own (see cursor-groups.ts). */
  private async readAdded(): Promise<void> {
    const added = [...this.pending];
    const response = await this.request(added, 0, 0);
    if (response.seq < this.groups.maxCursor()) return this.restarted(response.seq);
    this.placeRead(added.filter((e) => this.pending.has(e)), response);
  }

  /** Extensions never read before, now read: polled from that read's seq, its calls sent as in progress. */
  private placeRead(still: string[], response: SubscribeResponse): void {
    for (const extension of still) {
      this.pending.delete(extension);
      // What the table holds for an extension just read can only be a restored position's legs, sent to a node that
      // is gone: this read's states go out as the current state (initial), not as repeats to suppress.
      this.table.forgetExtension(extension);
    }
    this.groups.add(still, response.seq);
    this.applySnapshot(still, response, true);
    this.options.onAnswer?.();
  }

  /**
   * With several cursors: the lowest one, at once (timeOut=0). Its changes are passed on; an answer without any lets
   * it join the others (see cursor-groups.ts).
   */
  private async catchUp(group: CursorGroup): Promise<void> {
    const sent = group.cursor;
    const response = await this.request(this.members(group), sent, 0);
    if (response.seq < this.groups.maxCursor()) return this.restartedWith(response, sent);
    const check = this.checks.settle(this.table, response, group.extensions, this.cursorOf);
    this.sendCheck(check, "before");
    const events = this.collect(response, false, (extension) => group.extensions.has(extension));
    const before = this.groups.size;
    // Entries that only repeat states already sent are no change: a PBX that lists its calls again in every answer
    // must not keep the groups apart.
    this.groups.advance(group, response.seq, events.length > 0);
    this.emit(events);
    if (this.resumedUnread.size > 0) this.settled([], group);
    this.sendCheck(check, "after");
    this.options.onAnswer?.();
    // An answer without changes always merges; should it not (a PBX whose counter moves oddly), never spin.
    if (events.length === 0 && this.groups.size >= before) await this.sleep(this.options.idleGapMs, true);
  }

  /** The long poll of a single cursor. */
  private async poll(group: CursorGroup): Promise<void> {
    const sent = group.cursor;
    const started = this.options.now();
    const timeoutSec = this.quickCheck || this.checks.active ? 0 : this.holdLimit.timeOut(this.options.timeoutSec);
    const quick = this.quickCheck;
    this.quickCheck = false;
    const hold = this.holdLimit.start(timeoutSec);
    let response: SubscribeResponse;
    try {
      response = await this.request(this.members(group), sent, timeoutSec);
    } catch (err) {
      this.quickCheck = quick; // cut short (new extensions) or failed: the quick check is still to do
      if (this.idleCut(hold, err)) return;
      throw err;
    }
    if (response.seq < sent) return this.restartedWith(response, sent);
    const check = this.checks.settle(this.table, response, group.extensions, this.cursorOf);
    this.sendCheck(check, "before");
    const events = this.collect(response, false, (extension) => group.extensions.has(extension));
    this.groups.advance(group, response.seq, events.length > 0);
    this.emit(events);
    if (this.resumedUnread.size > 0) this.settled([], group);
    this.sendCheck(check, "after");
    this.options.onAnswer?.();
    // Only an answer without entries, at an unchanged seq and early is a server ignoring timeOut. One whose seq moved
    // on, or that carried entries (even ones that only repeat states already sent), is a PBX at work: poll at once.
    const idle = response.seq === sent && !hasEntries(response);
    if (idle && this.options.now() - started < (timeoutSec * this.holdLimit.unitMs) / 2) {
      await this.sleep(this.options.idleGapMs, true);
    }
  }

  /** What the polls cannot say, from the check's read, around the entries of the answer that catches up with it. */
  private sendCheck(outcome: CheckOutcome | undefined, part: "before" | "after"): void {
    if (part === "before" && outcome?.disagrees) this.warn("the PBX's calls differ from what its polls reported (it restarted?): resynchronising");
    if (!outcome) return;
    if (outcome.disagrees) this.resumeFrom?.forget();
    const { inProgress, changed } = outcome[part];
    const mine = (extension: string): boolean => outcome.extensions.includes(extension);
    this.emit([...this.collect(inProgress, true, mine), ...this.collect(changed, false, mine)]);
    if (part === "before") return;
    for (const { extension, uniqueCallId } of outcome.gone) this.table.forget(extension, uniqueCallId);
    this.settled(outcome.whole);
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

  /** A group's extensions in the order they are watched (the order of `exten`). */
  private members(group: CursorGroup): string[] {
    return this.extensions.filter((e) => group.extensions.has(e));
  }

  /** A poll's answer came from a PBX whose counter went back: pass its entries on, then resynchronise from its seq. */
  private restartedWith(response: SubscribeResponse, sent: number): void {
    // Entries of the restarted PBX are newer than anything we had: pass them on before the fresh read.
    this.emit(this.collect(response, false, (extension) => this.groups.groupOf(extension) !== undefined));
    this.restarted(response.seq, sent);
  }

  /** The answer from `sent` was too large to read: the group's extensions carry on from their current state. */
  private async skipBacklog(group: CursorGroup, sent: number, err: unknown): Promise<void> {
    const response = await this.request(this.members(group), 0, 0);
    if (response.seq < this.groups.maxCursor()) return this.restarted(response.seq);
    const read = this.members(group); // less any removed meanwhile
    if (read.length === 0) return;
    const reason = (err as Error).message;
    this.warn(skippedBacklogText({ from: sent, to: response.seq, extensions: read, since: this.cursorTimes.since(sent), reason }));
    this.groups.add(read, response.seq);
    this.applySnapshot(read, response, false); // not initial: the table sends only what differs from what was sent
    this.options.onAnswer?.();
  }

  /**
   * The PBX restarted (an answer's seq went back from `from`): `seq` is a cursor of its new life. The extensions read
   * carry on from it, so what changes after it reaches the flow, also before the next read; that read, once the polls
   * have caught up with it, brings what did not change since (read-check.ts). What the new life did before `seq` no
   * request can ask for.
   */
  private restarted(seq: number, from = this.groups.maxCursor()): void {
    this.warn(`PBX sequence went back from ${from} to ${seq}: the PBX restarted, resynchronising`);
    this.resumeFrom?.forget(); // positions of the PBX's previous life
    this.groups.reset(this.groups.list.flatMap((group) => [...group.extensions]), seq);
    this.checks.restarted();
    this.probeForRestart = true;
  }

  private applySnapshot(extensions: readonly string[], response: SubscribeResponse, initial: boolean): void {
    const wanted = new Set(extensions);
    const events = this.collect(response, initial, (extension) => wanted.has(extension), true);
    // Legs a current-state read no longer lists have ended (or died with a PBX restart): forget them.
    const listed = listedLegs(response);
    for (const extension of extensions) this.table.retainOnly(extension, listed.get(extension) ?? new Set());
    this.emit(events);
    this.settled(extensions);
  }

  /** onSnapshot for a read's extensions, or (given `group`) for the resumed ones of a group just answered. */
  private settled(extensions: readonly string[], group?: CursorGroup): void {
    const list = (group ? this.members(group) : extensions).filter((e) => this.resumedUnread.delete(e) || !group);
    if (list.length > 0) this.options.onSnapshot?.(list);
  }

  /**
   * Valid, changed, watched entries of an answer, in the PBX's order for each extension, each with its id, and marked
   * when it arrives after an outage (`read`: the answer of a current-state read).
   */
  private collect(response: SubscribeResponse, initial: boolean, accept: (extension: string) => boolean, read = false): CallEvent[] {
    const events: CallEvent[] = [];
    const now = this.options.now();
    const entries = validEntries(response, (e) => this.extensions.includes(e) && accept(e), (problem, message) => this.entryWarnings.warn(problem, message));
    for (const { extension, data, callId } of entries) {
      const eventId = this.table.change(extension, data, callId);
      if (eventId === undefined) continue;
      const event: CallEvent = { extension, data, callId, seq: response.seq, initial, eventId };
      this.outages.mark(event, now, read, this.resumedUnread.has(extension));
      events.push(event);
    }
    this.outages.answered(this.extensions.filter(accept), now);
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
      const response = await this.options.api.subscribe(extensions, last, timeOutSec, controller.signal);
      this.cursorTimes.reached(response.seq, this.groups.list.map((group) => group.cursor));
      return response;
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
