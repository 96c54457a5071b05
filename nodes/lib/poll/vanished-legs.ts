/**
 * Calls a current-state read no longer lists, with no end from the PBX: they died with a PBX restart (seen, or unseen:
 * its new counter already past the cursor), or ended in a backlog that was skipped. Each ends with a `Hungup` of its
 * last state, made up and marked `vanished`, so that flows, presence and summaries end it too. Knows nothing of
 * Node-RED.
 */
import type { ActiveLeg, CallStateTable } from "./call-state-table";
import type { CallEvent } from "./poll-types";

/** A leg in progress that a read no longer lists. */
export interface GoneLeg {
  extension: string;
  leg: ActiveLeg;
}

/** The legs in progress on `extension` (as the table holds them) that `listed` does not name. */
export function goneLegs(table: CallStateTable, extension: string, listed: ReadonlySet<string>): GoneLeg[] {
  return table.activeLegs(extension).filter((leg) => !listed.has(leg.data.uniqueCallId)).map((leg) => ({ extension, leg }));
}

/** These legs, as the table holds them in progress. */
export function legsNamed(table: CallStateTable, legs: ReadonlyArray<{ extension: string; uniqueCallId: string }>): GoneLeg[] {
  return legs.flatMap(({ extension, uniqueCallId }) =>
    table.activeLegs(extension).filter((leg) => leg.data.uniqueCallId === uniqueCallId).map((leg) => ({ extension, leg })));
}

/**
 * Their ends, recorded in the table (as ended: a repeat is no change). `seq`: the cursor they are reported at; `mark`
 * marks each as found by a read (afterOutage: its moment is unknown).
 */
export function vanishedEnds(table: CallStateTable, gone: readonly GoneLeg[], seq: number, mark: (event: CallEvent) => void): CallEvent[] {
  const events: CallEvent[] = [];
  for (const { extension, leg } of gone) {
    const data = { ...leg.data, status: "Hungup" };
    const eventId = table.change(extension, data, leg.callId);
    if (eventId === undefined) continue;
    const event: CallEvent = { extension, data, callId: leg.callId, seq, initial: false, eventId, vanished: true };
    mark(event);
    events.push(event);
  }
  return events;
}
