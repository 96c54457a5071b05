/** The shapes the poll loop shares with the hub and the nodes. Knows nothing of Node-RED. */
import type { BackoffOptions } from "./backoff";
import type { CallStateTable } from "./call-state-table";
import type { NoojeeError } from "../client/errors";
import type { HoldLimit } from "./hold-limit";
import type { ResumePoint, ResumeSource } from "./resume-points";
import type { PbxLives } from "./pbx-lives";
import type { CallData, SubscribeResponse } from "../client/types";

export interface CallEvent {
  extension: string;
  data: CallData;
  callId: number | undefined;
  seq: number;
  /** True for calls already in progress when the extension was first read. */
  initial: boolean;
  /**
   * The change's id (event-id.ts): the same however often this change is sent, by any process. A current state
   * (initial) carries the id of the change that led to it.
   */
  eventId: string;
  /**
   * True when the change reached us only after an outage (the polls failing, a restart from a saved position, or found
   * by a current-state read): it happened at an unknown moment of the outage, not when it arrived.
   */
  afterOutage?: boolean;
  /** How long the outage had lasted when the change arrived, when known (ms). */
  outageMs?: number;
  /**
   * True on the end of a leg the PBX stopped listing without reporting its end (it died with a PBX restart): a
   * `Hungup` of its last state, made up by the client, found by a current-state read (so afterOutage too).
   */
  vanished?: boolean;
}
export type LoopStatus =
  | { state: "connecting" }
  | { state: "listening" }
  | { state: "failing"; error: NoojeeError; attempt: number; retryInMs: number };

export interface SubscribeApi {
  subscribe(
    extensions: readonly string[],
    lastSequenceNumber: number,
    timeOutSec: number,
    signal?: AbortSignal,
  ): Promise<SubscribeResponse>;
  /** Bytes the percent-encoded `exten` value of one request may take, so the whole URL stays short enough. */
  subscribeExtenBudget?(): number;
}

export interface PollLoopOptions {
  api: SubscribeApi;
  timeoutSec: number;
  onEvents: (events: CallEvent[]) => void;
  onStatus: (status: LoopStatus) => void;
  onWarning?: (message: string) => void;
  backoff?: BackoffOptions;
  /** Least wait after the PBX rejects the key: retrying fast cannot help. */
  authRetryMs?: number;
  /** Wait after an empty answer that came back long before its timeOut. */
  idleGapMs?: number;
  random?: () => number;
  now?: () => number;
  table?: CallStateTable;
  /** Saved positions to carry on from instead of a current-state read (shared by the loops of a hub). */
  resumeFrom?: ResumeSource | readonly ResumePoint[];
  /** Called once the events of an answer have been handed to onEvents (the position moved). */
  onAnswer?: () => void;
  /** The table holds these extensions' whole current state (after a read, or a resumed one's first answer). */
  onSnapshot?: (extensions: readonly string[]) => void;
  /**
   * Tells a proxy's idle cut of a held poll from a failure and learns the limit (hold-limit.ts); its `unitMs` is the
   * length of one timeOut unit. Share one between the loops of a connection so that they learn, and say it, once.
   */
  holdLimit?: HoldLimit;
  /** The PBX lives the hub has seen, shared by its loops, so that saved cursors of two lives are told apart. */
  lives?: PbxLives;
}
