/**
 * Tells an intermediary's idle cut of a long poll from a PBX failure, and learns the idle limit. Knows nothing of
 * Node-RED.
 *
 * A reverse proxy or load balancer in front of the PBX ends a request the upstream has not answered within its idle
 * limit (nginx's proxy_read_timeout and an AWS ALB's idle timeout are 60 s by default, Heroku's router 30 s,
 * Cloudflare 100 s): with a Long poll above it, every held poll ends in a 504 (502, 503, Cloudflare's 524) or a reset
 * connection after that limit. Nothing is lost (a failed poll never moves the cursor), so such a cut is no failure:
 * the poll loop retries at once and from then on asks for a timeOut safely below the limit.
 *
 * A failure is a cut when all of these hold:
 * - it has the shape of one: HTTP 502, 503, 504 or 524, or a connection reset (which includes "socket hang up", a
 *   connection closed without an answer);
 * - the poll was held at least MIN_HOLD (5 s): a refused connection or a PBX's own fast 5xx takes far less;
 * - the PBX was asked to hold it longer: the hold ended before the requested timeOut (plus 1 s, for a limit equal to
 *   the timeOut, where the proxy and the PBX race).
 * The timeOut asked from then on is 80 % of the hold, minus 1 s, rounded down (a 60 s limit gives 47 s): far enough
 * below it for the time a request takes to reach the PBX and the PBX's own lateness. It only ever goes down; a lower
 * one is learned when a cut comes again below the one learned (the limit itself went down, or several intermediaries
 * with different limits are in the path). Once that would fall below FLOOR (5 s) the cuts are not idle cuts any more
 * (something cuts every poll, however short): from then on they are failures, with backoff. So are cuts after less
 * than MIN_HOLD: when SHORT_REPEAT of them in a row come after about the same hold of a poll asked to hold longer,
 * something cuts every held poll at that limit. Either way the cause is said once, in one log line: each poll then
 * fails after the limit and the next one (a quick check) works, so the loop's status flaps, with no other clue why.
 *
 * A cut-shaped failure after a hold *past* the requested timeOut is a failure that is overdue: the PBX held the poll
 * longer than it was asked to, which behind a proxy stands for the client-side timeout the proxy's answer came
 * before (a restarted PBX may hold polls whose lastSequenceNumber is above its counter): the loop checks for a
 * restart, as after a timeout.
 *
 * Something on the path may also drop an idle request silently (a NAT or firewall that forgets the flow, a proxy that
 * drops it without an answer): the held poll then gets no answer at all and ends at the client's deadline (Long poll
 * + 10 s, kind "timeout"), while the quick check after it (timeOut=0) answers. judge() marks such a poll `lost`; the
 * loop calls dropped() when the quick check right after it answers, and answered() when a held poll answers. A PBX
 * that restarted and holds polls above its counter shows in that quick check (the loop then calls neither), a dead
 * PBX in its failure. DROP_REPEAT lost in a row, without a held poll answered between, are a silent drop: the timeOut
 * is halved (each further loss halves it again), down to FLOOR; a poll lost at FLOOR is a failure, with backoff. Said
 * once each, in one log line (the lost polls deliver each change a whole deadline late, with no other clue why).
 *
 * The learned timeOut is tried without after RETRY_MS (an hour), so a limit raised meanwhile is used without a restart;
 * a cut then learns it again, silently unless lower than the one said. Also after cuts were taken for failures: one
 * short cut (a proxy restarted with a short limit for a while) must not shorten the polls for the life of the process. The config node keeps one per connection (all
 * its polls share it); it is forgotten when Node-RED restarts or the connection's settings change.
 */
import { monotonicNow } from "../monotonic";
import type { NoojeeError } from "../client/errors";

export interface HoldLimitOptions {
  /** Length of one timeOut unit in ms: 1000 on a PBX; tests shrink it along with the fake PBX's timeOutUnitMs. */
  unitMs?: number;
  /** Monotonic clock in ms: a wall-clock step must not make a fast failure look held. */
  now?: () => number;
  /** The log line for a notice (the config node's takes the catalogue's); default holdNoticeText. */
  text?: (notice: HoldNotice, configuredSec: number) => string;
}

/** Shortest hold, in timeOut units (seconds), that can be an idle cut. */
export const MIN_HOLD = 5;
/** Lowest timeOut to learn; past it, cuts are failures. */
export const FLOOR = 5;
/** How long a learned timeOut is kept before the configured one is tried again. */
export const RETRY_MS = 3_600_000;
/** A hold this far past the requested timeOut still counts as ended at it (the proxy and the PBX racing). */
const RACE = 1;
/** Shortest hold, in units, of a cut that can tell of a limit below MIN_HOLD (a PBX's own 5xx comes faster). */
const SHORT_HOLD = 1;
/** Cuts in a row after about the same short hold that show a limit below MIN_HOLD. */
export const SHORT_REPEAT = 3;
/** Held polls lost in a row (each followed by a quick check that answered) that show a silent drop. */
export const DROP_REPEAT = 2;

const CUT_STATUSES = new Set([502, 503, 504, 524]);

/** What a poll asked for and when it was sent: from start(). */
export interface Hold {
  timeOutSec: number;
  at: number;
}

/** What the loop says in the log: once per timeOut learned, and once when it gives up (cuts, or silent drops). */
export interface HoldNotice {
  kind: "learned" | "gaveUp" | "dropped" | "droppedGaveUp";
  /** How long the cut poll was held, in whole seconds (units): about the intermediary's idle limit. For a silent drop: the timeOut of the lost poll. */
  heldSec: number;
  /** The timeOut asked for from now on. */
  timeOutSec: number;
  /** The failure as the client described it, e.g. "HTTP 504" (key-free). */
  reason: string;
}

export type HoldVerdict =
  /** An idle cut: not a failure; poll again at once with `timeOutSec`. */
  | { cut: true; timeOutSec: number; notice: HoldNotice | undefined }
  /**
   * A failure. `overdue`: held past its timeOut, so check for a PBX restart as after a timeout. `lost`: a held poll
   * that got no answer by the client's deadline; call dropped() if the quick check right after it answers.
   */
  | { cut: false; overdue: boolean; lost?: boolean; notice: HoldNotice | undefined };

/** True for the failures an intermediary gives when it ends a request at its idle limit. */
export function looksLikeCut(error: NoojeeError): boolean {
  if (error.kind === "http") return error.httpStatus !== undefined && CUT_STATUSES.has(error.httpStatus);
  // The client's wording for ECONNRESET, EPIPE and "socket hang up", also through a forward proxy.
  return error.kind === "network" && error.message.startsWith("connection reset");
}

export class HoldLimit {
  readonly unitMs: number;
  private readonly now: () => number;
  private learned: number | undefined;
  private learnedAt = 0;
  /** The lowest timeOut said in the log. */
  private said: number | undefined;
  /** Said that cuts are treated as failures: said once for the life of this limit. */
  private gaveUp = false;
  /** The cuts in a row after about the same hold below MIN_HOLD (held, in units, of the first). */
  private short: { held: number; count: number } | undefined;
  /** Held polls lost in a row, a quick check answering after each (dropped()); a held poll's answer ends the run. */
  private drops = 0;
  /** Said that held polls are dropped silently, and that they are treated as failures: each once. */
  private droppedSaid = false;
  private droppedGaveUp = false;
  readonly text: (notice: HoldNotice, configuredSec: number) => string;

  constructor(options: HoldLimitOptions = {}) {
    this.unitMs = options.unitMs ?? 1000;
    this.now = options.now ?? monotonicNow;
    this.text = options.text ?? holdNoticeText;
  }

  /** The timeOut learned so far, if any. */
  get learnedTimeOutSec(): number | undefined {
    return this.learned;
  }

  /** The timeOut to ask for: the configured one, or the learned one when lower. */
  timeOut(configuredSec: number): number {
    if (this.learned !== undefined && this.now() - this.learnedAt >= RETRY_MS) this.learned = undefined;
    return this.learned === undefined ? configuredSec : Math.min(configuredSec, this.learned);
  }

  /** Call as a poll is sent; pass the result to judge() if it fails. */
  start(timeOutSec: number): Hold {
    return { timeOutSec, at: this.now() };
  }

  judge(hold: Hold, error: NoojeeError): HoldVerdict {
    const held = (this.now() - hold.at) / this.unitMs;
    if (looksLikeCut(error) && held < MIN_HOLD) return this.shortCut(hold, held, error);
    this.short = undefined;
    if (!looksLikeCut(error)) {
      // No answer by the deadline, long after the PBX was to answer: lost on the way, or held by a restarted PBX.
      const lost = error.kind === "timeout" && hold.timeOutSec > 0 && held > hold.timeOutSec + RACE;
      return { cut: false, overdue: false, lost, notice: undefined };
    }
    if (held > hold.timeOutSec + RACE) return { cut: false, overdue: true, notice: undefined };
    const heldSec = Math.floor(held);
    const target = Math.max(1, Math.floor(held * 0.8 - 1));
    if (target < FLOOR) {
      // Too short a hold to learn from: a failure like any other (backoff, red). Said once, when it is plainly a cut
      // (well before the timeOut asked, or while learning); a reset just as a short Long poll ends is no news.
      // Not final: a later cut after a long hold is learned from again.
      const plain = this.learned !== undefined || held < hold.timeOutSec - RACE;
      return plain ? this.giveUp(heldSec, hold, error) : { cut: false, overdue: false, notice: undefined };
    }
    if (this.learned !== undefined && target >= this.learned) {
      // Cut again while asking for more than the learned timeOut (a poll sent before it was learned): nothing new.
      return { cut: true, timeOutSec: this.learned, notice: undefined };
    }
    this.learned = target;
    this.learnedAt = this.now();
    if (this.said !== undefined && target >= this.said) return { cut: true, timeOutSec: target, notice: undefined };
    this.said = target;
    return { cut: true, timeOutSec: target, notice: { kind: "learned", heldSec, timeOutSec: target, reason: error.message } };
  }

  /**
   * The quick check right after `hold` was lost (judge: `lost`) answered: the PBX and the path work, only the held poll
   * died. See the header: DROP_REPEAT in a row halve the timeOut, each further one again, down to FLOOR.
   */
  dropped(hold: Hold, reason: string): HoldNotice | undefined {
    this.drops += 1;
    if (this.drops < DROP_REPEAT) return undefined;
    if (hold.timeOutSec <= FLOOR) {
      if (this.droppedGaveUp) return undefined;
      this.droppedGaveUp = true;
      return { kind: "droppedGaveUp", heldSec: hold.timeOutSec, timeOutSec: hold.timeOutSec, reason };
    }
    const target = Math.max(FLOOR, Math.floor(hold.timeOutSec / 2));
    // Lost while asking for more than the learned timeOut (a poll sent before it was learned): nothing new.
    if (this.learned !== undefined && target >= this.learned) return undefined;
    this.learned = target;
    this.learnedAt = this.now();
    if (this.droppedSaid) return undefined;
    this.droppedSaid = true;
    return { kind: "dropped", heldSec: hold.timeOutSec, timeOutSec: target, reason };
  }

  /** A held poll (timeOut > 0) answered: held polls get through, at least at this timeOut. */
  answered(): void {
    this.drops = 0;
  }

  /**
   * A cut-shaped failure after less than MIN_HOLD: a failure. SHORT_REPEAT of them in a row after about the same hold
   * of a poll asked to hold longer are an intermediary's limit too short to learn, said once.
   */
  private shortCut(hold: Hold, held: number, error: NoojeeError): HoldVerdict {
    // A quick check's failure or a fast 5xx tells nothing either way: the run goes on.
    if (held < SHORT_HOLD || held >= hold.timeOutSec - RACE) return { cut: false, overdue: false, notice: undefined };
    const run = this.short;
    this.short = run && Math.abs(run.held - held) <= RACE ? { held: run.held, count: run.count + 1 } : { held, count: 1 };
    if (this.short.count < SHORT_REPEAT) return { cut: false, overdue: false, notice: undefined };
    return this.giveUp(Math.round(held), hold, error);
  }

  private giveUp(heldSec: number, hold: Hold, error: NoojeeError): HoldVerdict {
    if (this.gaveUp) return { cut: false, overdue: false, notice: undefined };
    this.gaveUp = true;
    return { cut: false, overdue: false, notice: { kind: "gaveUp", heldSec, timeOutSec: hold.timeOutSec, reason: error.message } };
  }
}

/** The log line for a notice. `configuredSec`: the Long poll set on the node(s). */
export function holdNoticeText(notice: HoldNotice, configuredSec: number): string {
  // The config node logs the catalogue's wording of these (noojee-config.json, holdLimit); this one is for plain use.
  if (notice.kind === "dropped" || notice.kind === "droppedGaveUp") {
    const now = notice.kind === "dropped" ? `polls now ask for ${notice.timeOutSec} s instead of ${configuredSec} s` : "treating them as failures";
    return `held polls of ${notice.heldSec} s get no answer (${notice.reason}), quick checks do: dropped on the way; ${now}`;
  }
  if (notice.kind === "gaveUp") {
    return `polls are cut after about ${notice.heldSec} s (${notice.reason}) though the PBX was asked to hold them ` +
      `${notice.timeOutSec} s: a reverse proxy, load balancer or firewall in front of the PBX ends requests idle for about ` +
      `${notice.heldSec} s, too short for a long poll (${FLOOR} s at least): treating the cuts as failures. Every held ` +
      `poll fails after ${notice.heldSec} s and the next one works, so the status goes from failing to listening and ` +
      `back. Raise that idle limit above ${configuredSec} s (nginx proxy_read_timeout, AWS ALB idle timeout)`;
  }
  return `a poll was cut after ${notice.heldSec} s (${notice.reason}), before the PBX answered: a reverse proxy or ` +
    `load balancer in front of the PBX has an idle limit of about ${notice.heldSec} s. Polls now ask for ` +
    `${notice.timeOutSec} s instead of ${configuredSec} s. To stop this, set Long poll below ${notice.heldSec} s, or ` +
    `raise the proxy's idle limit above ${configuredSec} s (nginx proxy_read_timeout, AWS ALB idle timeout)`;
}
