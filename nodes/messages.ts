/** The msgs our nodes send: the public contract that users' flows depend on. */
import type { NodeMessage } from "node-red";
import type { CallSummary } from "./lib/poll/call-tracker";
import type { CallEvent } from "./lib/poll/poll-loop";
import type { CallerInfo } from "./lib/numbers/caller-info";

/** The config node's callerInfo (see NoojeeConnection). */
export type CallerInfoLookup = (callerId: unknown, extension?: string) => CallerInfo;

/** Range of the subscribe node's long-poll timeout, in seconds (the editor enforces the same). */
export const MIN_TIMEOUT = 1;
export const MAX_TIMEOUT = 120;

/**
 * topic = the extension; payload = every CallData field as received, plus extension, callId, seq, eventId (the same
 * whenever this change is sent again), initial: true for calls already in progress when the extension was first read,
 * afterOutage: true for a change that arrived after an outage (it happened earlier, at an unknown moment), vanished:
 * true on the Hungup the client made up for a leg the PBX stopped listing (it died with a PBX restart), and on a
 * first msg that ends a leg (one per leg: call-tracker.ts) `missed` (true for an inbound call that never connected: no Connected seen, and no state
 * carrying a callStartTime, set once the call connected, when the PBX listed only the latest); with the config node's country and
 * phonebook, callerIdE164, callerIdKind, callerName and contact (see caller-info.ts), each only when it applies.
 * A fresh payload object per msg: flows may change it without touching our state table.
 */
export function toMessage(event: CallEvent, missed?: boolean, callers?: CallerInfoLookup): NodeMessage {
  const payload: Record<string, unknown> = { ...event.data, extension: event.extension, seq: event.seq, eventId: event.eventId };
  if (callers) Object.assign(payload, callers(event.data.callerId, event.extension));
  if (event.callId !== undefined) payload.callId = event.callId;
  if (event.initial) payload.initial = true;
  if (event.afterOutage) payload.afterOutage = true;
  if (event.vanished) payload.vanished = true;
  if (missed !== undefined) payload.missed = missed;
  return { topic: event.extension, payload };
}

/** A finished leg's summary (see CallTracker), topic = the extension. */
export function toSummaryMessage(summary: CallSummary, callers?: CallerInfoLookup): NodeMessage {
  const payload: Record<string, unknown> = { ...summary };
  if (callers) Object.assign(payload, callers(summary.callerId, summary.extension));
  return { topic: summary.extension, payload };
}
