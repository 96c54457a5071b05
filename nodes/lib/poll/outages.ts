/**
 * Which extensions' changes have waited in the PBX unseen, and since when. After a failed request, the next answer
 * for an extension brings the changes made while no poll was open: they happened at an unknown moment since the last
 * answer, not when they arrive. So do the changes of the first answer from a saved position (since the save) and
 * those a current-state read finds (since the answer before the one that showed the PBX restarted). The poll loop
 * marks such changes (CallEvent.afterOutage, with outageMs when the outage began in this process) so that the call
 * summaries do not take their arrival for their time. Knows nothing of Node-RED.
 */
import type { CallEvent } from "./poll-types";

export class Outages {
  /** When the last answer came (the loop's clock): an outage starts there. */
  private lastAnswerAt: number | undefined;
  /** When the one before it came: a PBX restart that the last answer showed may have begun there. */
  private previousAnswerAt: number | undefined;
  /** Extensions without an answer since a failure, with the start of their outage (undefined: before any answer). */
  private readonly blind = new Map<string, number | undefined>();

  /** A request failed: the watched extensions are blind from the last answer on, until an answer for them. */
  failed(extensions: readonly string[]): void {
    for (const extension of extensions) if (!this.blind.has(extension)) this.blind.set(extension, this.lastAnswerAt);
  }

  /**
   * Marks a change of an answer that came after an outage: `read` when a current-state read found it, `resumed` for
   * the first answer from a saved position. No outageMs when the outage began before this process's first answer: at
   * the save, which only the subscribers know.
   */
  mark(event: CallEvent, now: number, read: boolean, resumed: boolean): void {
    const blind = this.blind.has(event.extension);
    if (event.initial || !(read || resumed || blind)) return;
    event.afterOutage = true;
    const since = blind ? this.blind.get(event.extension) : read && !resumed ? this.previousAnswerAt : undefined;
    if (since !== undefined) event.outageMs = now - since;
  }

  /** An answer came for these extensions: their changes from now on are seen as they happen. */
  answered(extensions: Iterable<string>, now: number): void {
    for (const extension of extensions) this.blind.delete(extension);
    this.previousAnswerAt = this.lastAnswerAt;
    this.lastAnswerAt = now;
  }
}
