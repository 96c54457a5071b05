/** What the traffic generator reports: each finished call's summary and its one-line description, and the counts. */
import type { CallKind } from "./traffic-options";

export type CallOutcome =
  | "answered"
  | "transferred"
  | "missed"
  | "busy"
  | "no answer"
  /** A queue call that found no free agent. */
  | "abandoned"
  /** Hung up through the API before it connected. */
  | "hung up";

export interface CallSummary {
  /** 1, 2, ... in the order the calls started. */
  id: number;
  kind: CallKind;
  /** The caller: an outside number or an extension. */
  from: string;
  /** The number called: an extension, an outside number, or "queue". */
  to: string;
  /** The extensions that rang or were reached, in order (a queue's agents, a transfer's target). */
  path: string[];
  outcome: CallOutcome;
  answeredBy?: "api" | "phone" | "far end";
  /** From the first ring (or dial) to the connection. */
  answeredAfterMs?: number;
  /** From the connection to the end. */
  talkMs?: number;
  /** A missed or unanswered call's ringing time. */
  ringMs?: number;
  hungUpViaApi: boolean;
  /** The uniqueCallIds of the call's legs. */
  legs: string[];
  startedAt: number;
  endedAt: number;
}

export interface TrafficStats {
  /** Calls that ended, by kind and by outcome. */
  byKind: Record<CallKind, number>;
  byOutcome: Record<CallOutcome, number>;
  ended: number;
  inProgress: number;
  /** Arrivals dropped because no extension was free. */
  skipped: number;
  /** Legs answered through the API. */
  answeredViaApi: number;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** One line describing a finished call, e.g. `#12 inbound  0355501234 -> 410: answered via the API after 0.4 s, talked 23 s`. */
export function describeCall(s: CallSummary): string {
  const route =
    s.kind === "queue"
      ? `${s.from} -> queue${s.path.length > 0 ? ` -> ${s.path.join(", ")}` : ""}`
      : s.kind === "outbound" || s.kind === "internal" || s.kind === "dial"
        ? `${s.from} -> ${s.to}`
        : `${s.from} -> ${s.path.join(" -> ")}`;
  const by = s.answeredBy === "api" ? " via the API" : "";
  const after = s.answeredAfterMs !== undefined ? ` after ${seconds(s.answeredAfterMs)}` : "";
  const talked = s.talkMs !== undefined ? `, talked ${seconds(s.talkMs)}` : "";
  let what: string;
  switch (s.outcome) {
    case "answered":
      what = s.answeredBy === "far end" ? `connected${after}${talked}` : `answered${by}${after}${talked}`;
      break;
    case "transferred":
      what = `answered${by}${after}, transferred to ${s.path[s.path.length - 1]}${talked}`;
      break;
    case "missed":
      what = `missed (no answer, rang ${seconds(s.ringMs ?? 0)})`;
      break;
    case "busy":
      what = "busy";
      break;
    case "no answer":
      what = `no answer after ${seconds(s.ringMs ?? 0)}`;
      break;
    case "abandoned":
      what = "no agent free, the caller gave up";
      break;
    case "hung up":
      what = `hung up after ${seconds(s.endedAt - s.startedAt)}`;
      break;
  }
  const hungUp = s.hungUpViaApi && s.outcome !== "hung up" ? ", hung up via the API" : "";
  const kind = s.kind === "dial" ? "dial(API)" : s.kind;
  return `#${s.id} ${kind.padEnd(9)} ${route}: ${what}${hungUp}`;
}
