/**
 * One call of the traffic generator while it runs: its legs, its summary, and the one wait (a sleep, or ringing
 * until the API answers) it is in, which an API hangup or a stop cancels with `Aborted`.
 */
import type { CallSummary } from "./call-summary";
import type { CallData } from "./pbx-types";
import type { Random } from "./random";

export class Aborted extends Error {
  constructor(readonly reason: "hangup" | "stopped") {
    super(`call ${reason}`);
  }
}

export interface LegState {
  exten: string;
  data: CallData;
  ended: boolean;
}

interface Pending {
  cancel: (err: Aborted) => void;
  /** For a wait on a ringing leg: the leg, and what to do when the API answers it. */
  answerLeg?: string;
  onAnswer?: () => void;
}

export class CallRun {
  readonly legs = new Map<string, LegState>();
  pending: Pending | undefined;
  abortReason: "hangup" | "stopped" | undefined;
  connectedAt: number | undefined;

  constructor(
    readonly rng: Random,
    readonly summary: CallSummary,
  ) {}

  /** Ends the wait the call is in (if any) with `Aborted`; every later wait fails at once too. */
  abort(reason: "hangup" | "stopped"): void {
    this.abortReason ??= reason;
    const pending = this.pending;
    this.pending = undefined;
    pending?.cancel(new Aborted(this.abortReason));
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.abortReason) return reject(new Aborted(this.abortReason));
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve();
      }, ms);
      this.pending = {
        cancel: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** Waits `ms` for the API to answer the ringing leg `id`: "api" when it did, "timeout" otherwise. */
  waitAnswer(id: string, ms: number): Promise<"api" | "timeout"> {
    return new Promise<"api" | "timeout">((resolve, reject) => {
      if (this.abortReason) return reject(new Aborted(this.abortReason));
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve("timeout");
      }, ms);
      this.pending = {
        cancel: (err) => {
          clearTimeout(timer);
          reject(err);
        },
        answerLeg: id,
        onAnswer: () => {
          clearTimeout(timer);
          this.pending = undefined;
          resolve("api");
        },
      };
    });
  }
}
