/**
 * A current-state read taken while a hub waits for its saved position from a slow or failing context store (tried
 * for up to 3 minutes, retried-read.ts). Should the store give up, or answer with no position to carry on from, the
 * polls carry on from this read rather than from a read of their own at the end of the wait: the calls that began
 * and ended while it waited still reach the flow (only those made while Node-RED was down are lost). Should the
 * store answer with a position, that wins and this read is dropped. Nothing is delivered or stored before the wait is
 * over. Knows nothing of Node-RED.
 *
 * Only documented behaviour is relied on: a read (lastSequenceNumber=0) lists the calls in progress at its `seq`, and
 * `seq` is one counter for every extension, so a poll from it brings every change since, on any extension.
 *
 * It is taken once the store has not answered within `afterMs` (a store that answers at once costs no request), one
 * request per chunk of the extensions watched (the hub's URL budget), one at a time, and again for those registered
 * later in a chunk of their own; a failed read is tried again with the loops' backoff until the wait ends. In the end it becomes a saved position like any other: each chunk's extensions
 * at their read's `seq`, the read's calls sent as in progress (initial), as a read at the end of the wait would send
 * them, and recorded as sent. From there the poll loop does what it does after any restart: a read compared with the
 * polls (read-check.ts) finds what the first read listed that has gone, and a PBX restart during the wait shows as
 * the `seq` going back (resynchronised); extensions that joined after the read carry on from the lowest cursor
 * (resume-points.ts).
 */
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from "./backoff";
import type { CallStateTable } from "./call-state-table";
import type { SubscribeResponse } from "../client/types";
import type { HubPosition } from "./hub-types";
import type { CallEvent, SubscribeApi } from "./poll-types";
import { type ResumePoint, ResumeSource } from "./resume-points";
import { validEntries } from "./answer-entries";

/** How long the store may take before the read is taken, by default. */
export const EARLY_READ_MS = 1000;

export interface EarlyReadOptions {
  api: SubscribeApi;
  /** The extensions watched now, one list per request (the hub's chunks). */
  watched: () => string[][];
  /** Default EARLY_READ_MS. */
  afterMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

interface Read {
  extensions: string[];
  response: SubscribeResponse;
}

/** Where the polls start instead of a read at the end of the wait, and the calls in progress to send first. */
export interface EarlyStart {
  position: HubPosition;
  events: CallEvent[];
}

/** True when `position` holds a cursor to carry on from (one without is no position: the read is used instead). */
export function carriesOn(position: HubPosition | undefined): boolean {
  return position !== undefined && new ResumeSource(position.polls).size > 0;
}

export class EarlyRead {
  private reads: Read[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly abort = new AbortController();
  /** The store has kept the hub waiting past `afterMs`. */
  private due = false;
  private reading = false;
  private attempt = 0;
  private closed = false;

  constructor(private readonly options: EarlyReadOptions) {
    this.after(options.afterMs ?? EARLY_READ_MS, () => {
      this.due = true;
      void this.take();
    });
  }

  /** Extensions were registered: read those not read yet, if the wait is long already. */
  watch(): void {
    if (this.due && !this.reading && this.timer === undefined) void this.take();
  }

  /**
   * The store gave no usable position: the read as a position (of the extensions still `watched`), its calls in
   * progress recorded in `table` as sent and returned as initial events; undefined when no read answered.
   */
  start(table: CallStateTable, watched: ReadonlySet<string>): EarlyStart | undefined {
    const polls: ResumePoint[] = [];
    const events: CallEvent[] = [];
    for (const { extensions, response } of this.reads) {
      // A seq of 0 is no cursor: a poll from it would read the current state again.
      if (!(response.seq > 0)) continue;
      const kept = extensions.filter((extension) => watched.has(extension));
      // Kept even when it names no extension any more: a cursor all the same, for those that joined (resume-points.ts).
      polls.push({ seq: response.seq, extensions: kept, fences: {} });
      // Malformed entries are the loop's to report: it meets them again in its own reads.
      for (const { extension, data, callId } of validEntries(response, (e) => kept.includes(e), () => undefined)) {
        const eventId = table.change(extension, data, callId);
        if (eventId !== undefined) events.push({ extension, data, callId, seq: response.seq, initial: true, eventId });
      }
    }
    return polls.length > 0 ? { position: { polls, legs: [] }, events } : undefined;
  }

  /** The wait is over (or the hub closes): no more reads, the one in flight is abandoned. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
  }

  private async take(): Promise<void> {
    this.reading = true;
    try {
      // One request at a time, as a loop polls. A chunk whose read failed leaves the others' reads standing: its
      // extensions then carry on from their cursor (the counter is one), and only it is read again.
      for (;;) {
        const covered = new Set(this.reads.flatMap((read) => read.extensions));
        // Each extension read once: a second read would skip what changed between the two.
        const extensions = this.options.watched().map((list) => list.filter((extension) => !covered.has(extension))).find((list) => list.length > 0);
        // Nothing (more) watched: a registration reads what it adds (watch()).
        if (this.closed || extensions === undefined) return;
        const response = await this.options.api.subscribe(extensions, 0, 0, this.abort.signal);
        if (this.closed) return;
        this.reads.push({ extensions, response });
      }
    } catch {
      // The PBX unreachable too: tried again while the wait lasts (it shows as failing once the polls start).
      if (!this.closed) this.after(backoffDelay(++this.attempt, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random), () => void this.take());
    } finally {
      this.reading = false;
    }
  }

  private after(ms: number, run: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      run();
    }, ms);
    this.timer.unref?.();
  }
}
