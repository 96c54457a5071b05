/**
 * Which extensions' changes have waited in the PBX unseen, and since when. After a failed request, the next answer
 * for an extension brings the changes made while no poll was open: they happened at an unknown moment since the last
 * answer, not when they arrive. So do the changes of the first answer from a saved position (since the save, which
 * only the subscribers know) and those a current-state read finds after a PBX restart (since the answer before the one
 * that showed it). The poll loop marks such changes (CallEvent.afterOutage, with outageMs when the outage began in
 * this process) so that the call summaries do not take their arrival for their time. A first read's calls in progress
 * (initial) are never marked. Knows nothing of Node-RED.
 *
 * The loop calls `answered` once per answer, after all of that answer's changes are marked: an answer whose own
 * changes and a read check's come in several batches must mark them all.
 */
import type { CallEvent } from "./poll-types";

export class Outages {
  /** When the last answer that passed changes on came (the loop's clock): an outage starts there. */
  private lastAnswerAt: number | undefined;
  /** Every change of the next answer is late: after failures, or from a saved position (start undefined: unknown). */
  private readonly blind = new Map<string, number | undefined>();
  /** The PBX restarted: what a read finds is late, since the last answer of its previous life. */
  private readonly resync = new Map<string, number | undefined>();

  /** A request failed: the watched extensions are blind from the last answer on, until an answer for them. */
  failed(extensions: Iterable<string>): void {
    for (const extension of extensions) if (!this.blind.has(extension)) this.blind.set(extension, this.lastAnswerAt);
  }

  /** Carried on from a saved position: the changes of their first answer happened since the save. */
  resumed(extensions: Iterable<string>): void {
    for (const extension of extensions) this.blind.set(extension, undefined);
  }

  /** An answer or a read showed a PBX restart; call it before `answered` for that answer. */
  restarted(extensions: Iterable<string>): void {
    for (const extension of extensions) if (!this.resync.has(extension)) this.resync.set(extension, this.lastAnswerAt);
  }

  /**
   * Marks a change that came after an outage: any change of an extension that is blind; one a current-state read
   * found (`read`) otherwise, with the restart's outage when one is being resynchronised, or no length.
   */
  mark(event: CallEvent, now: number, read: boolean): void {
    if (event.initial) return;
    const { extension } = event;
    if (!this.blind.has(extension) && !read) return;
    event.afterOutage = true;
    const since = this.blind.has(extension) ? this.blind.get(extension) : this.resync.get(extension);
    if (since !== undefined) event.outageMs = now - since;
  }

  /** An answer came for these extensions: their changes from now on are seen as they happen. */
  answered(extensions: Iterable<string>, now: number): void {
    for (const extension of extensions) this.blind.delete(extension);
    this.lastAnswerAt = now;
  }

  /** A read's calls have been compared or applied: the restart's resynchronisation is over for these. */
  caughtUp(extensions: Iterable<string>): void {
    for (const extension of extensions) this.resync.delete(extension);
  }

  /** No longer watched. */
  drop(extension: string): void {
    this.blind.delete(extension);
    this.resync.delete(extension);
  }
}
