/** The msgs of the presence node: part of the public contract, like messages.ts, whose call payloads it reuses. */
import type { NodeMessage } from "node-red";
import type { CallerInfo } from "./lib/numbers/caller-info";
import type { CallEvent } from "./lib/poll/poll-loop";
import type { Presence } from "./lib/presence/presence-table";
import { CallerInfoLookup, toMessage } from "./messages";

/**
 * Each call's caller info, looked up once per call (a phonebook lookup per call in progress at every event is what
 * made events slow with many calls and a large phonebook); forgotten when the call ends. Each use gets its own copy.
 */
export class CallCallers {
  private readonly cache = new Map<string, { callerId: unknown; info: CallerInfo }>();

  constructor(private readonly lookup: CallerInfoLookup) {}

  /** A lookup that answers for this call (its caller ID as the event carries it). */
  forCall(event: CallEvent): CallerInfoLookup {
    return (callerId, extension) => {
      const key = `${event.extension}\u0000${event.data.uniqueCallId}`;
      let hit = this.cache.get(key);
      if (!hit || hit.callerId !== callerId) this.cache.set(key, (hit = { callerId, info: this.lookup(callerId, extension) }));
      return structuredClone(hit.info);
    };
  }

  /** Only these calls of the extension are in progress: the others' entries go. */
  retain(extension: string, calls: readonly CallEvent[]): void {
    const live = new Set(calls.map((event) => `${extension}\u0000${event.data.uniqueCallId}`));
    for (const key of this.cache.keys()) if (key.startsWith(`${extension}\u0000`) && !live.has(key)) this.cache.delete(key);
  }
}

/**
 * payload = { extension, state, previous, since (ISO), count, calls }, each call as subscribe's msg payload describes
 * it (its latest state), `initial: true` on the msgs sent at start; while the extension is still to be read, state
 * "unknown" (never "idle": nothing is known yet) and `unknown: true`. A fresh object per msg.
 */
export function toPresencePayload(presence: Presence, initial = false, callers?: CallerInfoLookup | CallCallers): Record<string, unknown> {
  const lookup = (event: CallEvent): CallerInfoLookup | undefined => (callers instanceof CallCallers ? callers.forCall(event) : callers);
  const payload: Record<string, unknown> = {
    extension: presence.extension,
    state: presence.unknown ? "unknown" : presence.state,
    previous: presence.previous,
    since: new Date(presence.since).toISOString(),
    count: presence.calls.length,
    calls: presence.calls.map((event) => toMessage(event, undefined, lookup(event)).payload),
  };
  if (initial) payload.initial = true;
  if (presence.unknown) payload.unknown = true;
  return payload;
}

export function toPresenceMessage(presence: Presence, initial = false, callers?: CallerInfoLookup | CallCallers): NodeMessage {
  return { topic: presence.extension, payload: toPresencePayload(presence, initial, callers) };
}
