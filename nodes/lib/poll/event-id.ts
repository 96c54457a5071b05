/**
 * The ids of subscribe's msgs (`msg.payload.eventId`): the same for the same change of the same call leg however
 * often it is sent (a re-send after a crash, a replay after a deploy, a takeover from a saved position), different for
 * two different changes. They are derived from what identifies a change, never from a process's own counters or
 * clock, so any process computes the same id. Knows nothing of Node-RED.
 *
 * A change is (extension, uniqueCallId, the state's fingerprint, the occurrence of that state for the leg: 1 the
 * first time the leg is in it, 2 when it comes back to it later). A leg ends once: its `Hungup` has one id whatever
 * its fields, also when the node made it up for a call the PBX stopped listing (`vanished`), so that a flow dropping
 * re-sends by id sees one end when a crash re-sends it in the other form. A summary is one per leg.
 */
import { createHash } from "node:crypto";

/** 128 bits of a SHA-256, base64url: 22 characters. */
function digest(text: string, bytes: number): string {
  return createHash("sha256").update(text).digest().subarray(0, bytes).toString("base64url");
}

/** A short digest of a state's fingerprint: the key under which a leg counts how often it was in that state. */
export function stateKey(fingerprint: string): string {
  return digest(fingerprint, 12);
}

/** The id of a leg's change into the state with this key, its `occurrence`-th time in it. */
export function changeId(extension: string, uniqueCallId: string, stateKeyOfChange: string, occurrence: number): string {
  return digest(`change\u0000${extension}\u0000${uniqueCallId}\u0000${stateKeyOfChange}\u0000${occurrence}`, 16);
}

/** The id of a leg's end (its Hungup, however the PBX or the node wrote it): one per leg. */
export function endId(extension: string, uniqueCallId: string): string {
  return digest(`end\u0000${extension}\u0000${uniqueCallId}`, 16);
}

/** The id of a leg's summary: one per leg. */
export function summaryId(extension: string, uniqueCallId: string): string {
  return digest(`summary\u0000${extension}\u0000${uniqueCallId}`, 16);
}
