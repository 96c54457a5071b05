/**
 * One poll loop's held polls, judged through the connection's HoldLimit (hold-limit.ts): an intermediary's idle cut,
 * which is no failure, and a held poll lost on the way (no answer by the client's deadline) while the quick check
 * right after it answers, a silent drop. Knows nothing of Node-RED.
 *
 * While held polls are being lost the loop reports failing, also after the quick check's answer: that answer shows the
 * PBX is there, not that a held poll gets through, and events wait a whole deadline for the next quick check. Only a
 * held poll's answer ends that run (turnEndsFailures), or a cause found otherwise (a PBX restart, another failure).
 */
import type { NoojeeError } from "../client/errors";
import type { Hold, HoldLimit } from "./hold-limit";

export class HeldPolls {
  /** A held poll lost at the client's deadline, until the quick check after it. */
  private lost: { hold: Hold; error: NoojeeError } | undefined;
  private lostSinceHeld = false;

  constructor(
    private readonly limit: HoldLimit,
    private readonly warn: (message: string) => void,
    /** The Long poll set on the node(s), for the log lines. */
    private readonly configuredSec: () => number,
  ) {}

  /** Held polls were lost and the quick checks after them worked, with no held poll answered since. */
  get unproven(): boolean {
    return this.lostSinceHeld;
  }

  /** A poll failed (not cut short on purpose). `cut`: an idle cut, poll again at once; `overdue`: check for a restart. */
  failed(hold: Hold, error: NoojeeError): { cut: boolean; overdue: boolean } {
    const verdict = this.limit.judge(hold, error);
    if (verdict.notice) this.warn(this.limit.text(verdict.notice, this.configuredSec()));
    if (!verdict.cut && verdict.lost) this.lost = { hold, error };
    return { cut: verdict.cut, overdue: !verdict.cut && verdict.overdue };
  }

  /** The loop backs off after `err`: any failure but the lost poll itself explains it otherwise. */
  backingOff(err: unknown): void {
    if (this.lost?.error !== err) this.explained();
  }

  /** A poll answered: a held one shows held polls get through; a quick one right after a lost held poll, a drop. */
  answered(hold: Hold): void {
    if (hold.timeOutSec > 0) {
      this.lostSinceHeld = false;
      this.limit.answered();
      return;
    }
    if (!this.lost) return;
    const notice = this.limit.dropped(this.lost.hold, this.lost.error.message);
    if (notice) this.warn(this.limit.text(notice, this.configuredSec()));
    this.lost = undefined;
    this.lostSinceHeld = true;
  }

  /** The lost held poll has another cause (the PBX restarted and held it above its counter): no silent drop. */
  explained(): void {
    this.lost = undefined;
    this.lostSinceHeld = false;
  }
}
