/** The msgs our nodes send: the public contract that users' flows depend on. */
import type { NodeMessage } from "node-red";
import type { CallEvent } from "./lib/poll-loop";

/** Range of the subscribe node's long-poll timeout, in seconds (the editor enforces the same). */
export const MIN_TIMEOUT = 1;
export const MAX_TIMEOUT = 120;

/**
 * topic = the extension; payload = every CallData field as received, plus extension, callId, seq,
 * and initial: true for calls already in progress when the extension was first read.
 * A fresh payload object per msg: flows may change it without touching our state table.
 */
export function toMessage(event: CallEvent): NodeMessage {
  const payload: Record<string, unknown> = { ...event.data, extension: event.extension, seq: event.seq };
  if (event.callId !== undefined) payload.callId = event.callId;
  if (event.initial) payload.initial = true;
  return { topic: event.extension, payload };
}
