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
 * It is taken once the store has not answered within `earlyReadMs` (a store that answers at once costs no request),
 * one request per chunk of the extensions watched (the hub's URL budget), one at a time, as a loop polls; a chunk
 * whose read failed is read again, with the loops' backoff, until the wait ends. In the end the reads become a saved
 * position like any other: each chunk's extensions at their read's `seq`, the calls in progress sent as such
 * (initial), as a read at the end of the wait would send them, and recorded as sent. From there the poll loop does
 * what it does after any restart: a read compared with the polls (read-check.ts) finds what the early read listed
 * that has gone, and a PBX restart during the wait shows as the `seq` going back (resynchronised). Extensions watched
 * after the read, and those of a chunk never read, carry on from the lowest cursor (resume-points.ts).
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
  /** Default EARLY_READ_MS. */
  earlyReadMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

interface Read {
  extensions: string[];
  response: SubscribeResponse;
}

export class EarlyRead {
  private readonly reads: Read[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly abort = new AbortController();
  private attempt = 0;
  private closed = false;

  /** `watched`: the extensions watched now, one list per request (the hub's chunks). */
  constructor(private readonly api: SubscribeApi, private readonly watched: () => string[][], private readonly options: EarlyReadOptions = {}) {
    this.after(this.waitMs, () => void this.take());
  }

  /**
   * The store has answered: `position` if it holds a cursor to carry on from; otherwise the reads as a position (of
   * the extensions still `watched`), their calls in progress recorded in `table` as sent and handed to `send` as
   * initial events; otherwise (no read answered) `position`. No more reads either way.
   */
  settle(position: HubPosition | undefined, table: CallStateTable, watched: ReadonlySet<string>, send: (events: CallEvent[]) => void): HubPosition | undefined {
    this.close();
    if (position && new ResumeSource(position.polls).size > 0) return this.current(position);
    const polls: ResumePoint[] = [];
    const events: CallEvent[] = [];
    for (const { extensions, response } of this.reads) {
      // A seq of 0 is no cursor: a poll from it would read the current state again.
      if (!(response.seq > 0)) continue;
      const kept = extensions.filter((extension) => watched.has(extension));
      // Kept even when it names no extension any more: a cursor all the same, for the others (resume-points.ts).
      polls.push({ seq: response.seq, extensions: kept, fences: {} });
      // Malformed entries are the loop's to report: it meets them again in its own reads.
      for (const { extension, data, callId } of validEntries(response, (e) => kept.includes(e), () => undefined)) {
        const eventId = table.change(extension, data, callId);
        if (eventId !== undefined) events.push({ extension, data, callId, seq: response.seq, initial: true, eventId });
      }
    }
    if (polls.length === 0) return position;
    if (events.length > 0) send(events);
    return { polls, legs: [] };
  }

  /**
   * `position` with its cursors above the `seq` a read answered since put back to that `seq`: the PBX's counter went
   * back, so they are of its previous life (it restarted while Node-RED was down). Carried on from there, the changes
   * since the read still arrive (the resync a poll from such a cursor would cause starts only from its own read).
   */
  private current(position: HubPosition): HubPosition {
    const seqs = this.reads.map((read) => read.response.seq).filter((seq) => seq > 0);
    if (seqs.length === 0) return position;
    const latest = Math.max(...seqs);
    const stale = (point: ResumePoint): boolean => point.seq > latest || Object.values(point.fences).some((fence) => fence > latest);
    if (!position.polls.some(stale)) return position;
    return { ...position, polls: position.polls.map((point) => (stale(point) ? { ...point, seq: latest, fences: {} } : point)) };
  }

  /** The wait is over (or the hub closes): no more reads, the one in flight is abandoned. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
  }

  private get waitMs(): number {
    return this.options.earlyReadMs ?? EARLY_READ_MS;
  }

  private async take(): Promise<void> {
    try {
      // One request at a time; each chunk read once (the first read's cursor serves any later one's extensions).
      for (const extensions of this.watched().filter((list) => list.length > 0)) {
        if (this.reads.some((read) => read.extensions.some((e) => extensions.includes(e)))) continue;
        const response = await this.api.subscribe(extensions, 0, 0, this.abort.signal);
        if (this.closed) return;
        this.reads.push({ extensions, response });
      }
      // Nothing watched yet (the nodes register after the config node): looked at again.
      if (this.reads.length === 0) this.after(this.waitMs, () => void this.take());
    } catch {
      // The PBX unreachable too: tried again while the wait lasts (it shows as failing once the polls start).
      if (!this.closed) this.after(backoffDelay(++this.attempt, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random), () => void this.take());
    }
  }

  private after(ms: number, run: () => void): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      run();
    }, ms);
    this.timer.unref?.();
  }
}
