/**
 * Which extensions' changes have waited in the PBX unseen, and since when. After a failed request, the next answer
 * for an extension brings the changes made while no poll was open: they happened at an unknown moment since the last
 * answer, not when they arrive. So do the changes of the first answer from a saved position (since the save) and
 * those a current-state read finds. The poll loop marks such changes (CallEvent.afterOutage) so that the call
 * summaries do not take their arrival for their time. Knows nothing of Node-RED.
 */
import type { CallEvent } from "./poll-types";

export class Outages {
  /** When the last answer came (the loop's clock): an outage starts there. */
  private lastAnswerAt: number | undefined;
  /** Extensions without an answer since a failure, with the start of their outage (undefined: before any answer). */
  private readonly blind = new Map<string, number | undefined>();

  /** A request failed: the watched extensions are blind from the last answer on, until an answer for them. */
  failed(extensions: readonly string[]): void {
    for (const extension of extensions) if (!this.blind.has(extension)) this.blind.set(extension, this.lastAnswerAt);
  }

  /**
   * Marks a change of an answer that came after an outage: `read` when a current-state read found it, `resumed` for
   * the first answer from a saved position (whose outage began at the save, which only the subscribers know).
   */
  mark(event: CallEvent, now: number, read: boolean, resumed: boolean): void {
    if (event.initial || !(read || resumed || this.blind.has(event.extension))) return;
    event.afterOutage = true;
    const since = this.blind.get(event.extension);
    if (since !== undefined) event.outageMs = now - since;
  }

  /** An answer came for these extensions: their changes from now on are seen as they happen. */
  answered(extensions: Iterable<string>, now: number): void {
    for (const extension of extensions) this.blind.delete(extension);
    this.lastAnswerAt = now;
  }
}
