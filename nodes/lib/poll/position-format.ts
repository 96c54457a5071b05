/**
 * The saved form of a hub's position, wherever it is kept (the resume file, a Node-RED context store): what is
 * written, the checks on what is read back, and when a position read back may be carried on from. Knows nothing of
 * Node-RED.
 *
 * Never the API key: a saved position records the host, the sign-in mode, the polls, the legs and the subscribers'
 * own state (the call summaries collected so far).
 */
import type { CallData } from "../client/types";
import type { SavedLeg } from "./call-state-table";
import { invalid, isObject } from "../json-checks";
import type { HubPosition } from "./subscription-hub";

const FORMAT = "node-red-contrib-noojee/resume";
const VERSION = 1;
/** Legs kept at most (the newest): enough to recognise repeats of the states sent lately. */
const MAX_LEGS = 5000;
/**
 * How far the saving clock may be ahead of this one and still count as ordinary skew (two machines sharing a folder,
 * NTP not yet settled). More means this clock is behind (a Raspberry Pi without a real-time clock after a power cut)
 * or that one was wrong: the position is still used (the PBX's seq, and its restart detection, tell whether it still
 * applies), with a log line that says so.
 */
export const MAX_CLOCK_AHEAD_MS = 60_000;

/** Whom a position belongs to: the PBX origin (`https://host:port`) and the sign-in mode. */
export interface PositionOwner {
  host: string;
  authMode: string;
}

export interface SavedPosition extends HubPosition, PositionOwner {
  format: string;
  version: number;
  savedAt: number;
}

/**
 * `ageMs` is how long ago the position was saved by this machine's clock: negative when the saving clock was ahead
 * (past -MAX_CLOCK_AHEAD_MS, this clock is probably behind). "gaveUp": a store that did not answer for `triedMs`.
 */
export type LoadResult =
  | { position: HubPosition; ageMs: number }
  | { position: undefined; reason: "tooOld"; detail: string; ageMs: number }
  | { position: undefined; reason: "gaveUp"; detail: string; triedMs: number }
  | { position: undefined; reason: "missing" | "otherHost" | "unreadable" | "corrupt"; detail: string };

/**
 * The position as saved (its JSON text), within `maxBytes`: past it the oldest legs are left out (they only keep
 * repeats from being sent again), then the subscribers' state (summaries then start afresh, as without it), and last
 * who watched what (a subscriber that had stopped watching a resumed extension then misses its calls in progress).
 */
export function serialisePosition(position: HubPosition, owner: PositionOwner, savedAt: number, maxBytes: number): string {
  // Newest legs last: when the position would be too big, the oldest go first.
  let legs = position.legs.slice(-MAX_LEGS);
  let subscribers = position.subscribers;
  let watching = position.watching;
  for (;;) {
    const content: SavedPosition = {
      format: FORMAT, version: VERSION, host: owner.host, authMode: owner.authMode, savedAt, polls: position.polls, legs,
      ...(position.awaiting ? { awaiting: position.awaiting } : {}),
      ...(watching ? { watching } : {}),
      ...(subscribers && Object.keys(subscribers).length > 0 ? { subscribers } : {}),
    };
    const text = JSON.stringify(content);
    if (Buffer.byteLength(text) <= maxBytes) return text;
    if (legs.length > 0) legs = legs.slice(Math.ceil(legs.length / 2));
    else if (subscribers) subscribers = undefined;
    else if (watching) watching = undefined;
    else return text;
  }
}

/** A saved position's JSON text (undefined: none was there), checked as `checkSaved` does; text that is no JSON is corrupt. */
export function checkSavedText(text: string | undefined, owner: PositionOwner, maxAgeMs: number, now: number): LoadResult {
  if (text === undefined) return checkSaved(undefined, owner, maxAgeMs, now);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { position: undefined, reason: "corrupt", detail: (err as Error).message };
  }
  // null is what JSON.parse gives for "null": damaged, not missing.
  return checkSaved(raw ?? {}, owner, maxAgeMs, now);
}

/** What was read back (parsed JSON, or undefined when there was nothing), checked: the position, or why not. */
export function checkSaved(raw: unknown, owner: PositionOwner, maxAgeMs: number, now: number): LoadResult {
  if (raw === undefined || raw === null) return { position: undefined, reason: "missing", detail: "no saved position" };
  let content: SavedPosition;
  try {
    content = parseContent(raw);
  } catch (err) {
    return { position: undefined, reason: "corrupt", detail: (err as Error).message };
  }
  if (content.host !== owner.host) return { position: undefined, reason: "otherHost", detail: "saved for another host" };
  const ageMs = now - content.savedAt;
  if (ageMs > maxAgeMs) {
    return { position: undefined, reason: "tooOld", detail: `saved ${Math.round(ageMs / 60_000)} min ago`, ageMs };
  }
  // Saved "in the future": its age cannot be told, but refusing it would lose the downtime for certain. Whether the
  // PBX still honours it is for the poll to find out, as after any PBX restart (poll-loop.ts).
  const position: HubPosition = { polls: content.polls, legs: content.legs };
  if (content.subscribers) position.subscribers = content.subscribers;
  if (content.awaiting) position.awaiting = content.awaiting;
  if (content.watching) position.watching = content.watching;
  return { position, ageMs };
}

// ------------------------------------------------------------------ validation of what is read

// 0 is a position too (a PBX that had no change yet): it is saved, so it must load.
const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
/** An object of string lists (`awaiting`, `watching`). */
const isIdLists = (v: unknown): v is Record<string, string[]> =>
  isObject(v) && Object.values(v).every((list) => Array.isArray(list) && list.every((item) => typeof item === "string"));
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 1;

/** Checks every field of a parsed position; throws on anything it would not have written. */
export function parseContent(raw: unknown): SavedPosition {
  if (!isObject(raw) || raw.format !== FORMAT) invalid("format");
  if (raw.version !== VERSION) invalid("version");
  if (typeof raw.host !== "string" || typeof raw.authMode !== "string") invalid("host");
  if (typeof raw.savedAt !== "number" || !Number.isFinite(raw.savedAt)) invalid("savedAt");
  if (!Array.isArray(raw.polls) || !Array.isArray(raw.legs)) invalid("polls or legs");
  const polls = raw.polls.map((p: unknown) => {
    if (!isObject(p) || !isSeq(p.seq) || !Array.isArray(p.extensions) || !isObject(p.fences)) invalid("poll");
    if (!p.extensions.every((e: unknown) => typeof e === "string" && e !== "")) invalid("extensions");
    const fences: Record<string, number> = {};
    for (const [extension, seq] of Object.entries(p.fences)) {
      if (!isSeq(seq)) invalid("fence");
      fences[extension] = seq;
    }
    // Absent in positions saved before 1.2.0 kept PBX lives (pbx-lives.ts), and for life 0.
    if (p.life !== undefined && !isSeq(p.life)) invalid("life");
    return { seq: p.seq, extensions: p.extensions as string[], fences, ...(p.life ? { life: p.life } : {}) };
  });
  const legs = raw.legs.map((l: unknown): SavedLeg => {
    if (!isObject(l) || typeof l.extension !== "string" || !isObject(l.data)) invalid("leg");
    const data = l.data;
    if (typeof data.status !== "string" || typeof data.uniqueCallId !== "string") invalid("leg state");
    if (l.callId !== undefined && typeof l.callId !== "number") invalid("callId");
    const leg: SavedLeg = { extension: l.extension, data: data as CallData, callId: l.callId as number | undefined };
    // Absent in positions saved before 1.2.0 (and when each state came once): see CallStateTable.restore.
    if (l.occurrences !== undefined) {
      if (!isObject(l.occurrences) || !Object.values(l.occurrences).every(isCount)) invalid("occurrences");
      leg.occurrences = l.occurrences as Record<string, number>;
    }
    return leg;
  });
  const content: SavedPosition = {
    format: FORMAT, version: VERSION, host: raw.host, authMode: raw.authMode, savedAt: raw.savedAt, polls, legs,
  };
  // Absent in positions saved before 1.2.0, and when no subscriber waits for a resumed read (resumed-reads.ts).
  if (raw.awaiting !== undefined) {
    if (!isIdLists(raw.awaiting)) invalid("awaiting");
    content.awaiting = raw.awaiting as Record<string, string[]>;
  }
  if (raw.watching !== undefined) {
    if (!isIdLists(raw.watching)) invalid("watching");
    content.watching = raw.watching;
  }
  // Each subscriber checks its own state when it is handed back (CallTracker.restore).
  if (raw.subscribers !== undefined) {
    if (!isObject(raw.subscribers) || !Object.values(raw.subscribers).every(isObject)) invalid("subscribers");
    content.subscribers = raw.subscribers as Record<string, Record<string, unknown>>;
  }
  return content;
}
