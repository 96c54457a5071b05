/**
 * A backlog too large to read. Knows nothing of Node-RED.
 *
 * After a long outage on a busy PBX, the answer from a cursor lists every change since: it can exceed the client's
 * cap on an answer (DEFAULT_MAX_ANSWER_BYTES). The same cursor can only bring the same answer again, so retrying it
 * would leave the loop deaf for good, and a saved position at that cursor would do the same after every restart.
 * Instead the loop reads the current state of the cursor's extensions and carries on from there: the CallStateTable
 * sends what differs from what the flow had, and the changes in between are skipped, with one warning saying which.
 */
import { isNoojeeError } from "../client/errors";

/** True for a failure that only a different request can get past: the answer is larger than the client reads. */
export function isTooLarge(err: unknown): boolean {
  return isNoojeeError(err) && err.tooLarge;
}

/** How many extensions a warning names; the rest are counted. */
const NAMED = 10;

/** When each cursor was reached (monotonic ms), so that a warning can say how long a skipped backlog covers. */
export class CursorTimes {
  private readonly times = new Map<number, number>();

  constructor(private readonly now: () => number) {}

  /** An answer brought `seq`; only the cursors still held (`keep`) are remembered. */
  reached(seq: number, keep: Iterable<number>): void {
    if (!this.times.has(seq)) this.times.set(seq, this.now());
    const held = new Set(keep);
    for (const cursor of this.times.keys()) if (!held.has(cursor) && cursor !== seq) this.times.delete(cursor);
  }

  /** "since 12 min ago", or how else the cursor came about (a saved position, read before this process started). */
  since(seq: number): string {
    const at = this.times.get(seq);
    if (at === undefined) return "since the saved position";
    return `since ${describeAge(this.now() - at)} ago`;
  }
}

export interface SkippedBacklog {
  /** The cursor whose answer was too large, and the seq of the current-state read that replaced it. */
  from: number;
  to: number;
  extensions: readonly string[];
  since: string;
  /** The client's failure, e.g. "answer larger than 8 MiB". */
  reason: string;
}

export function skippedBacklogText(skipped: SkippedBacklog): string {
  const { extensions } = skipped;
  const named = extensions.slice(0, NAMED).join(", ") + (extensions.length > NAMED ? ` and ${extensions.length - NAMED} more` : "");
  const noun = extensions.length === 1 ? "extension" : "extensions";
  return `the changes after seq ${skipped.from} (${skipped.since}) are more than one answer can hold (${skipped.reason}): ` +
    `skipped the changes up to seq ${skipped.to} on ${noun} ${named} and carried on from their current state. Calls ` +
    "in progress now are sent as they are. Calls that ended in between are not reported: no msg says that they ended, " +
    "also for those the flow was sent before (presence drops them, from the current state)";
}

function describeAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.round(minutes / 60)} h`;
}
