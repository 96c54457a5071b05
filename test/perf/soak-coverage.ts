/**
 * When a change on an extension is required of the soak's flow, given msg-driven extension changes (definitions in
 * soak.ts): the watch segments of each extension, with their join fence and leave cut, from the watch model's
 * transitions (soak-extensions.ts) and the fake PBX's records of requests and answers.
 */
import type { PbxEvent, RecordedAnswer, RecordedRequest } from "../fake-pbx";
import type { WatchTransition } from "./soak-extensions";

/** A join with no request for the extension within this long (Node-RED's downtime not counted) is NEVER POLLED. */
export const DEAF_LIMIT_MS = 4000;
/** What the PBX answered this long before a leave must still have reached the flow. */
export const LEAVE_GRACE_MS = 200;

/** A point in the PBX's history: a seq within one server lifetime. */
export interface Fence {
  epoch: number;
  seq: number;
}

export interface Segment {
  exten: string;
  from: number;
  to: number;
  /** Set when the segment began with a join: changes up to the fence are excused (undefined: none is required). */
  join?: { at: number; cause: WatchTransition["cause"]; node?: string; refill?: boolean; fence: Fence | undefined; deaf: boolean; read: RecordedAnswer | undefined };
  /** Set when it ended with a leave: changes after the cut are excused (undefined: none is required). */
  leave?: { at: number; cut: Fence | undefined };
}

/** Whether a comma-separated `exten` list (a request's query, an answer's extensions) names `exten`. */
export const covers = (exten: string, list: string | undefined): boolean => (list ?? "").split(",").includes(exten);

/**
 * The current-state reads the client threw away: one whose seq is below the cursor the client holds tells it that the
 * PBX restarted (the new counter is still low), so it reads every extension again at once. That read of everything,
 * not the one thrown away, is what the client reports the calls in progress from: a read is thrown away when the very
 * next request of that PBX lifetime is a current-state read covering all its extensions, with no Node-RED kill in
 * between (a restarted process reads afresh whatever its predecessor took).
 */
export function discardedReads(
  answers: readonly RecordedAnswer[],
  requests: readonly RecordedRequest[],
  downs: ReadonlyArray<{ from: number; to: number }> = [],
): Set<RecordedAnswer> {
  const byEpoch = new Map<number, RecordedRequest[]>();
  for (const r of requests) {
    let list = byEpoch.get(r.epoch);
    if (!list) byEpoch.set(r.epoch, (list = []));
    list.push(r);
  }
  for (const list of byEpoch.values()) list.sort((a, b) => a.at - b.at);
  const out = new Set<RecordedAnswer>();
  for (const a of answers) {
    if (!a.snapshot) continue;
    const list = byEpoch.get(a.epoch) ?? [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].at < a.at) lo = mid + 1;
      else hi = mid;
    }
    const next = list[lo];
    if (!next || next.query.lastSequenceNumber !== "0") continue;
    if (downs.some((d) => d.from >= a.at && d.from <= next.at)) continue;
    const read = new Set((next.query.exten ?? "").split(","));
    if (a.exten.split(",").every((e) => read.has(e)) && read.size > a.exten.split(",").length) out.add(a);
  }
  return out;
}

/** The answers the client took: all but the current-state reads it threw away. */
export function takenAnswers(
  answers: readonly RecordedAnswer[],
  requests: readonly RecordedRequest[],
  downs: ReadonlyArray<{ from: number; to: number }> = [],
  aborts?: AbortEvidence,
): RecordedAnswer[] {
  const discarded = discardedReads(answers, requests, downs);
  const dropped = aborts ? droppedPolls(answers, requests, downs, aborts) : new Set<RecordedAnswer>();
  return answers.filter((a) => !discarded.has(a) && !dropped.has(a));
}

/** What tells a poll the client aborted: the causes (spans), and the changes and msgs that show an answer was taken. */
export interface AbortEvidence {
  /** When the client may abort a poll to ask again: the soak's msg changes of the extensions, deploys from sent to done. */
  spans: ReadonlyArray<{ from: number; to: number }>;
  events: readonly PbxEvent[];
  /** The msgs that reached the flow: leg, step and when (Date.now()). */
  received: ReadonlyArray<{ id: string; step: number; wall: number }>;
}

/**
 * The poll answers the client never took: the fake PBX wrote them to a poll the client had just aborted (its
 * extensions changed at a deploy or a msg) before the server saw the socket close. All three must show: a cause
 * while the poll was open (`aborts.spans`); no change the answer listed reaching the flow before another answer
 * listed it (a client that took the answer sends its changes); and the client's next poll of any of those
 * extensions, in the same PBX lifetime and the same process, asking again from the answer's own cursor or before.
 * Had it taken an answer that listed changes, every later cursor of those extensions would be past that answer's
 * cursor: a group merged at a lower cursor goes back only to a point after which none of them changed
 * (nodes/lib/poll/cursor-groups.ts), and the changes the answer listed were after its cursor. Without a cause
 * nearby, such an answer stays taken: a client that drops one on its own loses it.
 */
export function droppedPolls(
  answers: readonly RecordedAnswer[],
  requests: readonly RecordedRequest[],
  downs: ReadonlyArray<{ from: number; to: number }>,
  aborts: AbortEvidence,
): Set<RecordedAnswer> {
  const polls = requests.filter((r) => r.query.lastSequenceNumber !== "0").sort((a, b) => a.at - b.at);
  const out = new Set<RecordedAnswer>();
  // A change of the answer that reached the flow after it was written and before any other answer listed it.
  const sentFrom = (a: RecordedAnswer): boolean => aborts.events.some((e) => {
    if (e.epoch !== a.epoch || e.seq <= a.last || e.seq > a.seq || !covers(e.exten, a.exten)) return false;
    const other = answers.find((b) => b !== a && b.at >= a.at && b.epoch === a.epoch && covers(e.exten, b.exten) && b.seq >= e.seq && (b.snapshot || b.last < e.seq));
    const id = e.entry.CallData.uniqueCallId;
    const step = Number(e.entry.CallData.step);
    return aborts.received.some((m) => m.id === id && m.step === step && m.wall >= a.at && m.wall < (other?.at ?? Infinity));
  });
  for (const a of answers) {
    if (a.snapshot || a.entries === 0) continue;
    if (!aborts.spans.some((x) => x.from <= a.at && x.to >= a.requestedAt)) continue;
    const extens = a.exten.split(",");
    const next = polls.find((r) => r.at > a.at && r.epoch === a.epoch && extens.some((x) => covers(x, r.query.exten)));
    if (!next || downs.some((d) => d.from < next.at && d.to > a.at)) continue;
    if (Number(next.query.lastSequenceNumber) <= a.last && !sentFrom(a)) out.add(a);
  }
  return out;
}

/** The PBX's counter at time `t` (Date.now()): the newest change made by then, in the lifetime current then. */
function counterAt(events: readonly PbxEvent[], restarts: ReadonlyArray<{ epoch: number; at: number }>, t: number): Fence {
  const epoch = restarts.filter((r) => r.at <= t).reduce((e, r) => Math.max(e, r.epoch), 0);
  let seq = 0;
  for (const e of events) if (e.epoch === epoch && e.at <= t) seq = Math.max(seq, e.seq);
  return { epoch, seq };
}

export function segments(
  extensions: readonly string[],
  transitions: readonly WatchTransition[],
  requests: readonly RecordedRequest[],
  answers: readonly RecordedAnswer[],
  events: readonly PbxEvent[],
  restarts: ReadonlyArray<{ epoch: number; at: number }>,
  /** When Node-RED was down (killed, until its restart was up), Date.now(). */
  downs: ReadonlyArray<{ from: number; to: number }> = [],
): Map<string, Segment[]> {
  const out = new Map<string, Segment[]>();
  for (const exten of extensions) {
    const list: Segment[] = [];
    let open: Segment | undefined;
    for (const t of transitions.filter((x) => x.exten === exten).sort((a, b) => a.at - b.at)) {
      if (t.watched && !open) {
        open = { exten, from: t.at, to: Infinity, join: { at: t.at, cause: t.cause, node: t.node, refill: t.refill, fence: undefined, deaf: false, read: undefined } };
      } else if (!t.watched && open) {
        open.to = t.at;
        open.leave = { at: t.at, cut: undefined };
        list.push(open);
        open = undefined;
      }
    }
    if (open) list.push(open);
    for (const s of list) {
      if (s.join) {
        const j = s.join;
        // The window ends at the client's first cursor for the extension: the first answer for it asked after the join.
        // A Node-RED kill after that excuses nothing (the restarted client must carry on from that cursor or before).
        const from = j.at;
        const read = answers.find((a) => a.requestedAt >= from && a.requestedAt < s.to && covers(exten, a.exten));
        const asked = requests.find((r) => r.at >= from && r.at < s.to && covers(exten, r.query.exten));
        let limit = from + DEAF_LIMIT_MS;
        for (const d of downs) if (d.from < limit && d.to > j.at) limit = Math.max(limit, d.to + DEAF_LIMIT_MS);
        if (s.to > limit && (!asked || asked.at > limit)) {
          j.deaf = true;
          j.fence = counterAt(events, restarts, limit);
        } else if (read) {
          // A current-state read stands for the changes up to its seq; any other answer lists those after its cursor.
          j.fence = { epoch: read.epoch, seq: read.snapshot ? read.seq : read.last };
          j.read = read;
        }
      }
      if (s.leave) {
        const before = s.leave.at - LEAVE_GRACE_MS;
        const last = answers.filter((a) => a.at >= s.from && a.at <= before && covers(exten, a.exten)).at(-1);
        if (last) s.leave.cut = { epoch: last.epoch, seq: Math.max(last.seq, s.join?.fence?.epoch === last.epoch ? s.join.fence.seq : 0) };
      }
    }
    out.set(exten, list);
  }
  return out;
}

/** The segment watching `exten` at time `t`, if any. */
export function segmentAt(segs: readonly Segment[] | undefined, t: number): Segment | undefined {
  return segs?.find((x) => t >= x.from && t < x.to);
}

export const fenceAtOrBefore = (a: Fence, b: Fence): boolean => a.epoch < b.epoch || (a.epoch === b.epoch && a.seq <= b.seq);

export type Coverage = "required" | "window" | "unwatched";

/** Whether a change is required by the watch (the epoch rules come on top), excused by a join or leave window, or made while nobody watched its extension. */
export function coverage(e: PbxEvent, segs: readonly Segment[] | undefined): Coverage {
  const s = segmentAt(segs, e.at);
  if (!s) return "unwatched";
  if (s.join) {
    const f = s.join.fence;
    if (!f || e.epoch < f.epoch || (e.epoch === f.epoch && e.seq <= f.seq)) return "window";
  }
  if (s.leave) {
    const c = s.leave.cut;
    if (!c || e.epoch > c.epoch || (e.epoch === c.epoch && e.seq > c.seq)) return "window";
  }
  return "required";
}
