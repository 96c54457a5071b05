/** What the traffic generator can be told: the kinds of calls and their mix, the timings, and its options. */
import type { Range } from "./random";

export type GeneratedKind = "inbound" | "missed" | "busy" | "outbound" | "internal" | "queue" | "transfer";
/** "dial": a call placed through the API's dial method and played out by the generator. */
export type CallKind = GeneratedKind | "dial";

export const GENERATED_KINDS: readonly GeneratedKind[] = ["inbound", "missed", "busy", "outbound", "internal", "queue", "transfer"];

/** Relative weights of the kinds of generated calls. */
export const DEFAULT_MIX: Readonly<Record<GeneratedKind, number>> = {
  inbound: 35,
  missed: 15,
  busy: 8,
  outbound: 17,
  internal: 8,
  queue: 10,
  transfer: 7,
};

/** Durations in milliseconds, each drawn uniformly from its range. */
export interface TrafficTiming {
  /** Ringing before the person picks up. */
  answerMs: Range;
  /** Ringing before the PBX gives up (`No Answer`); also an outbound call nobody answers. */
  ringTimeoutMs: Range;
  /** Conversation. */
  talkMs: Range;
  /** An outbound call's ringing before the far end picks up. */
  farEndAnswerMs: Range;
  /** From `No Answer` or `Busy` to `Hungup`. */
  endDelayMs: Range;
  /** Conversation before a transfer starts. */
  transferAfterMs: Range;
  /** A transfer's consultation: ringing at the target, then talking to it. */
  consultMs: Range;
  /** A queue's ringing on one agent before it tries the next. */
  queueRingMs: Range;
}

export const DEFAULT_TIMING: Readonly<TrafficTiming> = {
  answerMs: { min: 2_000, max: 12_000 },
  ringTimeoutMs: { min: 15_000, max: 25_000 },
  talkMs: { min: 5_000, max: 60_000 },
  farEndAnswerMs: { min: 2_000, max: 8_000 },
  endDelayMs: { min: 300, max: 1_000 },
  transferAfterMs: { min: 3_000, max: 15_000 },
  consultMs: { min: 2_000, max: 6_000 },
  queueRingMs: { min: 8_000, max: 12_000 },
};

export interface TrafficOptions {
  /** The PBX's extensions (bare numbers). */
  extensions: readonly string[];
  /** Mean rate of new calls (a Poisson process). 0: no calls of its own; API dials are still played out. Default 6. */
  callsPerMinute?: number;
  /** Seed of the generator. Default: a random one (see `seed` to print it). */
  seed?: string | number;
  /** Extensions that get a larger share of the calls, like a reception desk. */
  focus?: readonly string[];
  /** Share of the calls that go to (or come from) a `focus` extension. Default 0.5. */
  focusShare?: number;
  /** Relative weights of the kinds of calls. Missing kinds keep their default weight. */
  mix?: Partial<Record<GeneratedKind, number>>;
  timing?: Partial<TrafficTiming>;
  /** Delay before the first call. Default 1000 ms. */
  firstCallMs?: number;
}
