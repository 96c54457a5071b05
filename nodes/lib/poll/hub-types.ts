/** The types of the subscription hub (subscription-hub.ts): what it is given, what it gives, and to whom. */
import type { SavedLeg } from "./call-state-table";
import type { CallEvent, LoopStatus, PollLoopOptions } from "./poll-loop";
import type { ResumePoint } from "./resume-points";
import type { StatefulSubscriber, SubscriberState } from "./subscriber-states";

/** Where a hub's polls stand, the last state sent for each leg, and each subscriber's own state (by its id). */
export interface HubPosition {
  polls: ResumePoint[];
  legs: SavedLeg[];
  subscribers?: Record<string, SubscriberState>;
  /** Extension → ids of subscribers still owed its calls in progress (resumed-reads.ts). */
  awaiting?: Record<string, string[]>;
  /**
   * Subscriber id → the extensions it watched when the position was written (resumed-reads.ts): after a restart, a
   * subscriber that did not watch a resumed extension then is owed its calls in progress. Absent before 1.2.0.
   */
  watching?: Record<string, string[]>;
}

/**
 * Takes the hub's position after each answer, e.g. to a file (resume-file.ts). `capture` gives the position as it is
 * when called, or undefined while changes it covers have not reached a subscriber yet (the hub calls save again once
 * they have).
 */
export interface PositionStore {
  save(capture: () => HubPosition | undefined): void;
}

/**
 * The polls' status as the subscribers see it; `reading`: the saved position is still being read, nothing polls.
 * With replicas (nodes/lib/replicas): `standby`, another replica (`holder`, its name) holds the lease and polls, or
 * (`ownFormer`) the key still holds this replica's own former term, lost unrenewed, which nobody uses: it waits it out;
 * `coordinationLost`, Redis cannot be reached (or the lease could not be renewed in time), so this replica does not
 * poll (`reason`: short, no secret).
 */
export type HubStatus =
  | LoopStatus
  | { state: "reading" }
  | { state: "standby"; holder: string | undefined; ownFormer?: true }
  | { state: "coordinationLost"; reason: string };

export interface Subscriber extends StatefulSubscriber {
  extensions: readonly string[];
  timeoutSec: number;
  onEvent(event: CallEvent): void;
  onStatus(status: HubStatus): void;
  /** The calls in progress on an extension, whole, whenever the hub learns them: calls not listed have ended. */
  onCurrentState?(extension: string, calls: CallEvent[]): void;
  /**
   * It mirrors state (a presence node): with replicas, on a standby it is handed the calls in progress the holder
   * shared (onCurrentState), where other subscribers get nothing (nodes/lib/replicas/standby-mirror.ts).
   */
  mirror?: boolean;
}

export type LoopOptions = Omit<PollLoopOptions, "api" | "onEvents" | "onStatus" | "timeoutSec" | "table" | "resumeFrom" | "onAnswer" | "onSnapshot">;

export interface HubOptions extends Partial<LoopOptions> {
  /**
   * A saved position to carry on from (after a Node-RED restart). While one that is read asynchronously (from a
   * context store) is on its way, the polls wait for it.
   */
  position?: HubPosition | Promise<HubPosition | undefined>;
  /** Where the position goes after each answer; nothing is written there before the saved one has been read. */
  store?: PositionStore;
  /**
   * How long flows:started waits for the subscribers that announced themselves (`expect`) to register before the
   * saved positions of extensions nobody watches are dropped. Default START_WAIT_MS (start-gate.ts): as long as
   * their kept lists are read.
   */
  expectMs?: number;
  /**
   * How long a saved position read asynchronously may take before a current-state read is taken to start from, should
   * none come (early-read.ts). Default EARLY_READ_MS (1 s).
   */
  earlyReadMs?: number;
  /** How long a loop with no subscriber keeps its cursor, so a redeployed node resumes without a gap. */
  parkMs?: number;
  /**
   * Most bytes the percent-encoded `exten` value of one request may take. Default: what the API says its URLs leave
   * for it (`subscribeExtenBudget()`), else unlimited.
   */
  maxExtenBytes?: number;
}

/**
 * What the nodes use of a config node's polls: a SubscriptionHub, or with replicas one that runs a SubscriptionHub
 * only while this replica holds the lease (nodes/lib/replicas).
 */
export interface PollHub {
  register(id: string, subscriber: Subscriber): void;
  expect(id: string): void;
  updateExtensions(id: string, extensions: readonly string[]): void;
  deregister(id: string): Promise<void>;
  releaseLingering(): void;
  onStarted(listener: () => void): () => boolean;
  close(): Promise<void>;
}
