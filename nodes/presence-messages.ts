/** The msgs of the presence node: part of the public contract, like messages.ts, whose call payloads it reuses. */
import type { NodeMessage } from "node-red";
import type { Presence } from "./lib/presence/presence-table";
import { CallerInfoLookup, toMessage } from "./messages";

/**
 * payload = { extension, state, previous, since (ISO), count, calls }, each call as subscribe's msg payload describes
 * it (its latest state), `initial: true` on the msgs sent at start, `unknown: true` while the extension is still to be
 * read. A fresh object per msg.
 */
export function toPresencePayload(presence: Presence, initial = false, callers?: CallerInfoLookup): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    extension: presence.extension,
    state: presence.state,
    previous: presence.previous,
    since: new Date(presence.since).toISOString(),
    count: presence.calls.length,
    calls: presence.calls.map((event) => toMessage(event, undefined, callers).payload),
  };
  if (initial) payload.initial = true;
  if (presence.unknown) payload.unknown = true;
  return payload;
}

export function toPresenceMessage(presence: Presence, initial = false, callers?: CallerInfoLookup): NodeMessage {
  return { topic: presence.extension, payload: toPresencePayload(presence, initial, callers) };
}
