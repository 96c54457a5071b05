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
 * - Failures retry with exponential backoff (a read first: read-check.ts); an answer without entries, at the same seq,
 *   long before its timeOut waits a little (no hot loop). Changes after an outage are marked (outages.ts).
 */
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff";
import { CallStateTable } from "./call-state-table";
import { goneLegs, legsNamed, vanishedEnds } from "./vanished-legs";
import { CursorGroup, CursorGroups } from "./cursor-groups";
import { isNoojeeError, NoojeeError } from "../client/errors";
import { Hold, HoldLimit } from "./hold-limit";
import { HeldPolls } from "./held-polls";
import { monotonicNow } from "../monotonic";
import { Outages } from "./outages";
import { ResumePoint, ResumeSource } from "./resume-points";
import { PbxLives } from "./pbx-lives";
import { WarningLimiter } from "./warning-limiter";
import { CursorTimes, isTooLarge, skippedBacklogText } from "./skipped-backlog";
import type { SubscribeResponse } from "../client/types";
import type { CallEvent, PollLoopOptions } from "./poll-types";
import { hasEntries, listedLegs, validEntries } from "./answer-entries";
import { LoopRunner } from "./loop-runner";
import { CheckOutcome, ReadChecks } from "./read-check";

export type { ResumePoint } from "./resume-points";
export type { CallEvent, LoopStatus, PollLoopOptions, SubscribeApi } from "./poll-types";

export class PollLoop extends LoopRunner {
  readonly table: CallStateTable;
  private readonly options: Required<Omit<PollLoopOptions, "table" | "onWarning" | "resumeFrom" | "onAnswer" | "holdLimit" | "onSnapshot" | "lives">> &
    Pick<PollLoopOptions, "onWarning" | "onAnswer" | "onSnapshot">;
  private readonly holdLimit: HoldLimit;
  /** Idle cuts and silent drops of this loop's held polls. */
  private readonly held: HeldPolls;
  private readonly resumeFrom: ResumeSource | undefined;
  private readonly lives: PbxLives; // shared by the hub's loops (pbx-lives.ts)
  /** The PBX life of the last answer's cursor (pbx-lives.ts `answered`). */
  private answerLife = 0;
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
  private readonly entryWarnings: WarningLimiter;
  /** Extensions whose next changes arrive after an outage (CallEvent.afterOutage). */
  private readonly outages = new Outages();
  private readonly cursorTimes: CursorTimes;
  /** The turn in progress is a current-state read beside the polls from the cursors (turnEndsFailures). */
  private readOnly = false;

  constructor(options: PollLoopOptions) {
    super((status) => this.options.onStatus(status));
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
    this.lives = options.lives ?? new PbxLives();
    this.held = new HeldPolls(this.holdLimit, (line) => this.warn(line), () => this.options.timeoutSec);
    this.cursorTimes = new CursorTimes(this.options.now);
  }

  /** Where this loop's polls stand (one point per cursor); none before its first read. */
  resumePoints(): ResumePoint[] {
    if (this.needFullSnapshot) return [];
    return this.groups.list
      .map((g) => ({ seq: g.cursor, extensions: this.extensions.filter((e) => g.extensions.has(e)), fences: {}, ...(g.life > 0 ? { life: g.life } : {}) }))
      .filter((point) => point.extensions.length > 0);
  }

  /** The highest cursor: the `seq` of the latest successful answer. */
  get sequence(): number {
    return this.groups.maxCursor();
  }

  /** The PBX life of the cursor `sequence` is (pbx-lives.ts). */
  get sequenceLife(): number {
    const top = this.groups.list.reduce<CursorGroup | undefined>((max, g) => (max === undefined || g.cursor > max.cursor ? g : max), undefined);
    return top?.life ?? this.lives.current;
  }

  /** How many cursors the loop holds (1 once added extensions have joined the others). */
  get cursorCount(): number {
    return this.groups.size;
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
      this.outages.drop(extension);
    }
    // Placed at the next turn of the loop, never under an answer being handled.
    if (!this.needFullSnapshot) for (const extension of added) this.pending.add(extension);
    this.interrupt();
  }

  protected override starting(): void {
    // Resuming a kept cursor (after a redeploy): ask with timeOut=0 first, so "listening" shows at once
    // rather than after a held poll. Nothing polled meanwhile, so a PBX restart whose new counter has passed the
    // cursor would go unseen: a read first, as after a failure.
    if (!this.needFullSnapshot) this.quickCheck = this.probeForRestart = true;
  }

  protected override stopping(): void {
    this.entryWarnings.close();
  }

  protected get idle(): boolean {
    return this.extensions.length === 0;
  }

  /** A current-state read between the polls (a restart check, added extensions) does not show that the polls work. */
  protected override get turnEndsFailures(): boolean {
    return !this.readOnly && !this.held.unproven; // nor a quick check while held polls are lost (held-polls.ts)
  }

  protected succeeded(): void {
    this.quickCheck = false; // any answer shows the PBX is back: the next long poll may be held
  }

  protected async backOff(err: unknown): Promise<void> {
    const error = isNoojeeError(err) ? err : new NoojeeError("network", err instanceof Error ? err.message : String(err));
    this.attempt += 1;
    this.held.backingOff(err);
    this.outages.failed(this.extensions);
    let delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    if (error.kind === "auth") delay = Math.max(delay, this.options.authRetryMs);
    // Any failure may hide a PBX restart (polls held above its counter, or its new counter past ours): read first.
    [this.probeForRestart, this.quickCheck] = [true, true];
    this.setStatus({ state: "failing", error, attempt: this.attempt, retryInMs: delay });
    await this.sleep(delay, false);
  }

  protected async step(): Promise<void> {
    this.readOnly = false;
    if (this.needFullSnapshot && this.firstSnapshot) this.resume();
    if (this.needFullSnapshot) return this.readAll();
    this.placeResumed();
    this.readOnly = true;
    if (this.probeForRestart) return this.readAll();
    if (this.pending.size > 0) return this.readAdded();
    this.readOnly = false;
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
    const byCursor = new Map<string, { cursor: number; life: number; extensions: string[] }>();
    for (const extension of this.pending) {
      const taken = source.take(extension);
      if (taken === undefined) continue;
      this.pending.delete(extension);
      // Whatever the table holds for an adopted one came with a position that did not cover it: from a node gone.
      if (taken.adopted) this.table.forgetExtension(extension);
      else this.resumedUnread.add(extension);
      this.checks.place(extension, taken.adopted ? "adopted" : taken.stale ? "restart" : "resumed");
      this.probeForRestart = true;
      const at = `${taken.cursor}/${taken.life}`;
      byCursor.set(at, { ...taken, extensions: [...(byCursor.get(at)?.extensions ?? []), extension] });
    }
    for (const { cursor, life, extensions } of byCursor.values()) {
      this.groups.add(extensions, cursor, life);
      this.outages.resumed(extensions); // their first answer brings what changed while Node-RED was down
    }
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
      this.held.explained();
      this.lives.over(this.groups.list, this.resumeFrom, response.seq);
      this.answerLife = this.lives.current; // it showed the counter gone back: of the new life
      this.outages.restarted(extensions.filter((e) => this.groups.groupOf(e)));
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
    // whatever a restored position had sent (see readAdded). The others' resync sends what changed, as does that of
    // one whose saved cursor a restart made stale (its flow was sent what the table holds).
    const fresh = read.filter((e) => (initial || !this.groups.groupOf(e) || this.checks.isAdopting(e)) && this.resumeFrom?.takeDropped(e) !== true);
    this.checks.clear(kept, response);
    for (const extension of fresh) this.table.forgetExtension(extension);
    if (kept.length > 0) this.groups.add(read, response.seq, this.answerLife);
    else this.groups.reset(read, response.seq, this.answerLife);
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
    if (response.seq < this.groups.maxCursor()) return this.restarted(response.seq, undefined, true);
    this.placeRead(added.filter((e) => this.pending.has(e)), response);
  }

  /** Extensions never read before, now read: polled from that read's seq, its calls sent as in progress. */
  private placeRead(still: string[], response: SubscribeResponse): void {
    for (const extension of still) this.pending.delete(extension);
    // Its saved cursor made stale by a restart: the table holds what its flow was sent, the read ends what it lacks.
    const dropped = still.filter((e) => this.resumeFrom?.takeDropped(e) === true);
    const fresh = still.filter((e) => !dropped.includes(e));
    // What the table holds for another extension just read can only be a restored position's legs, sent to a node that
    // is gone: this read's states go out as the current state (initial), not as repeats to suppress.
    for (const extension of fresh) this.table.forgetExtension(extension);
    this.groups.add(still, response.seq, this.answerLife);
    if (dropped.length > 0) this.applySnapshot(dropped, response, false);
    if (fresh.length > 0) this.applySnapshot(fresh, response, true);
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
    const checks = this.checks.settle(this.table, response, group.extensions, this.cursorOf);
    this.sendCheck(checks, "before");
    const events = this.collect(response, false, (extension) => group.extensions.has(extension));
    const before = this.groups.size;
    // Entries that only repeat states already sent are no change: a PBX that lists its calls again in every answer
    // must not keep the groups apart.
    this.groups.advance(group, response.seq, events.length > 0, this.answerLife);
    this.emit(events);
    // The check first: a resumed extension's calls are announced once, as the read found them (not a dead call first).
    this.sendCheck(checks, "after");
    if (this.resumedUnread.size > 0) this.settled([], group);
    this.outages.answered(group.extensions, this.options.now());
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
    const checks = this.checks.settle(this.table, response, group.extensions, this.cursorOf);
    this.sendCheck(checks, "before");
    const events = this.collect(response, false, (extension) => group.extensions.has(extension));
    this.groups.advance(group, response.seq, events.length > 0, this.answerLife);
    this.emit(events);
    // The check first: a resumed extension's calls are announced once, as the read found them (not a dead call first).
    this.sendCheck(checks, "after");
    if (this.resumedUnread.size > 0) this.settled([], group);
    this.outages.answered(group.extensions, this.options.now());
    this.options.onAnswer?.();
    this.held.answered(hold);
    // Only an answer without entries, at an unchanged seq and early is a server ignoring timeOut. One whose seq moved
    // on, or that carried entries (even ones that only repeat states already sent), is a PBX at work: poll at once.
    const idle = response.seq === sent && !hasEntries(response);
    if (idle && this.options.now() - started < (timeoutSec * this.holdLimit.unitMs) / 2) {
      await this.sleep(this.options.idleGapMs, true);
    }
  }

  /**
   * What the polls cannot say, from the checks' reads (oldest first), around the entries of the answer that catches up
   * with them.
   */
  private sendCheck(outcomes: readonly CheckOutcome[], part: "before" | "after"): void {
    const disagreeing = outcomes.flatMap((outcome) => outcome.disagreeing);
    if (part === "before" && outcomes.some((outcome) => outcome.disagrees)) {
      this.warn("the PBX's calls differ from what its polls reported (it restarted?): resynchronising");
      // The life of the cursors that disagree is over (not newer ones'): said before the answer moves them.
      this.lives.over(this.groups.list, this.resumeFrom, undefined, disagreeing);
    }
    for (const outcome of outcomes) {
      const { inProgress, changed } = outcome[part];
      const mine = (extension: string): boolean => outcome.extensions.includes(extension);
      // Found by the read, not seen happen: marked when they came after an outage (outages.ts).
      this.emit([...this.collect(inProgress, true, mine), ...this.collect(changed, false, mine, true)]);
    }
    if (part === "before" || outcomes.length === 0) return;
    const extensions = [...new Set(outcomes.flatMap((outcome) => outcome.extensions))];
    this.outages.caughtUp(extensions);
    const gone = [...new Map(outcomes.flatMap((outcome) => outcome.gone).map((leg) => [`${leg.extension}\u0000${leg.uniqueCallId}`, leg])).values()];
    this.emit(vanishedEnds(this.table, legsNamed(this.table, gone), this.sequence, (e) => this.outages.mark(e, this.options.now(), true)));
    this.settled([...new Set(outcomes.flatMap((outcome) => outcome.whole))]);
  }

  /**
   * A held poll cut by a proxy's idle limit is no failure: true to poll again at once (at the learned timeOut), without
   * a failing status or backoff. A cut-shaped failure after a hold past the timeOut is one, like a client timeout.
   */
  private idleCut(hold: Hold, err: unknown): boolean {
    if (this.interrupted || !isNoojeeError(err)) return false;
    const verdict = this.held.failed(hold, err);
    // A cut ends the held poll unanswered, as a restarting PBX does too: like any failure, a read follows (read-check.ts).
    if (verdict.cut || verdict.overdue) this.probeForRestart = true;
    return verdict.cut;
  }

  /** A group's extensions in the order they are watched (the order of `exten`). */
  private members(group: CursorGroup): string[] {
    return this.extensions.filter((e) => group.extensions.has(e));
  }

  /** A poll's answer came from a PBX whose counter went back: pass its entries on, then resynchronise from its seq. */
  private restartedWith(response: SubscribeResponse, sent: number): void {
    // First, so that the restart's outage begins at the answer before this one (outages.ts).
    this.restarted(response.seq, sent);
    // Entries of the restarted PBX are newer than anything we had: pass them on before the fresh read.
    const polled = this.extensions.filter((extension) => this.groups.groupOf(extension) !== undefined);
    this.emit(this.collect(response, false, (extension) => polled.includes(extension)));
    this.outages.answered(polled, this.options.now());
    this.options.onAnswer?.();
  }

  /** The answer from `sent` was too large to read: the group's extensions carry on from their current state. */
  private async skipBacklog(group: CursorGroup, sent: number, err: unknown): Promise<void> {
    const response = await this.request(this.members(group), 0, 0);
    if (response.seq < this.groups.maxCursor()) return this.restarted(response.seq, undefined, true);
    const read = this.members(group); // less any removed meanwhile
    if (read.length === 0) return;
    const reason = (err as Error).message;
    this.warn(skippedBacklogText({ from: sent, to: response.seq, extensions: read, since: this.cursorTimes.since(sent), reason }));
    // This read is newer than any check's still to settle: comparing that older read with it could send a state older
    // than one this read sent. An adopted extension's calls were never sent: they go out as in progress.
    const adopted = read.filter((e) => this.checks.isAdopting(e));
    for (const extension of read) this.checks.drop(extension);
    this.groups.add(read, response.seq, this.answerLife);
    if (adopted.length > 0) this.applySnapshot(adopted, response, true);
    const others = read.filter((e) => !adopted.includes(e));
    // Not initial: the table sends only what differs from what was sent.
    if (others.length > 0) this.applySnapshot(others, response, false);
    this.options.onAnswer?.();
  }

  /**
   * The PBX restarted (an answer's seq went back from `from`): `seq` is a cursor of its new life. The extensions read
   * carry on from it, so what changes after it reaches the flow, also before the next read; that read, once the polls
   * have caught up with it, brings what did not change since (read-check.ts). What the new life did before `seq` no
   * request can ask for. The position goes out at once (`store`, else the caller passes the answer's entries on first):
   * a process that carries on from it after a crash, or a replica's next term, polls from `seq` too. From the previous
   * life's cursor it would find the restart anew and resynchronise from a read of its own, skipping what changed since
   * `seq`.
   */
  private restarted(seq: number, from = this.groups.maxCursor(), store = false): void {
    this.warn(`PBX sequence went back from ${from} to ${seq}: the PBX restarted, resynchronising`);
    this.held.explained();
    this.lives.over(this.groups.list, this.resumeFrom, seq);
    this.answerLife = this.lives.current; // it showed the counter gone back: of the new life
    const polled = this.groups.list.flatMap((group) => [...group.extensions]);
    this.outages.restarted(polled);
    this.groups.reset(polled, seq, this.answerLife);
    this.checks.restarted();
    this.probeForRestart = true;
    if (store) this.options.onAnswer?.();
  }

  private applySnapshot(extensions: readonly string[], response: SubscribeResponse, initial: boolean): void {
    const wanted = new Set(extensions);
    const events = this.collect(response, initial, (extension) => wanted.has(extension), true);
    // Legs a current-state read no longer lists have ended (or died with a PBX restart): they end, said to be gone.
    const listed = listedLegs(response);
    const gone = initial ? [] : extensions.flatMap((extension) => goneLegs(this.table, extension, listed.get(extension) ?? new Set()));
    for (const extension of extensions) this.table.retainOnly(extension, listed.get(extension) ?? new Set());
    const now = this.options.now();
    this.emit([...events, ...vanishedEnds(this.table, gone, this.sequence, (e) => this.outages.mark(e, now, true))]);
    this.outages.answered(extensions, now);
    this.outages.caughtUp(extensions);
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
      this.outages.mark(event, now, read);
      events.push(event);
    }
    return events;
  }

  private emit(events: CallEvent[]): void {
    if (events.length > 0) this.options.onEvents(events);
  }

  private async request(extensions: string[], last: number, timeOutSec: number): Promise<SubscribeResponse> {
    const sentAt = this.lives.sent();
    const response = await this.abortable((signal) => this.options.api.subscribe(extensions, last, timeOutSec, signal));
    this.answerLife = this.lives.answered(response.seq, sentAt);
    this.cursorTimes.reached(response.seq, this.groups.list.map((group) => group.cursor));
    return response;
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }
}
