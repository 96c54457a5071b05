/** A call event on extension 410 as the poll loop gives it, for the CallTracker tests. */
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import type { CallData } from "../../nodes/lib/client/types";

export const event = (uniqueCallId: string, status: string, extra: Partial<CallData> = {}, initial = false): CallEvent => ({
  extension: "410",
  data: { uniqueCallId, status, inbound: true, callerId: "0412345678", ...extra },
  callId: 7,
  seq: 1,
  initial,
  eventId: `${uniqueCallId}/${status}`,
});

/** The same, arriving after an outage (of `outageMs` when known): its moment is unknown. */
export const lateEvent = (uniqueCallId: string, status: string, extra: Partial<CallData> = {}, outageMs?: number): CallEvent => ({
  ...event(uniqueCallId, status, extra),
  afterOutage: true,
  ...(outageMs === undefined ? {} : { outageMs }),
});
