/**
 * Lives of the PBX as a hub has seen them: a number that only grows, given to each poll cursor, so that saved cursors
 * of two lives can be told apart. Knows nothing of Node-RED.
 *
 * The PBX's counter only climbs within a life, and the API gives no other sign of a restart. So the hub counts a new
 * life whenever an answer's `seq` is below one answered (by any loop) before its request was sent, and whenever a
 * loop finds a life over
 * (its counter gone back from a cursor, or its calls disagreeing with a read). A cursor carries the life current when
 * it was answered (a resumed one, the life it was saved with). When a loop finds the life of one of its cursors over,
 * the saved cursors still untaken of that life or an older one are over too; a newer one was answered after a restart
 * had been seen, by a PBX that was counting again, and is kept (checked by the read that starts its own loop).
 * Only before the request was sent: the answers of two loops may arrive out of order (one held up on its connection),
 * and one the PBX gave at c, read after another's at c + 1, is no restart. A life counted where there was no restart
 * would make the older cursors beside it stale (resume-points.ts): carried on from a newer one, past what they had
 * still to deliver. A restart whose counter passed every cursor before anything answered cannot be seen at all
 * (docs/design.md).
 */
import type { CursorGroup } from "./cursor-groups";
import type { ResumeSource } from "./resume-points";

/** The life and highest answered seq when a request was sent (PbxLives.sent). */
export interface SentAt {
  readonly life: number;
  readonly high: number;
}

export class PbxLives {
  private life = 0;
  /** The highest seq answered in the current life. */
  private high = 0;

  /** The life of the cursors answered now. */
  get current(): number {
    return this.life;
  }

  /** Saved cursors (life absent: saved before lives were kept, 0). */
  restored(points: ReadonlyArray<{ seq: number; life?: number }>): void {
    for (const point of points) {
      const life = point.life ?? 0;
      if (life > this.life) [this.life, this.high] = [life, 0];
      if (life === this.life) this.high = Math.max(this.high, point.seq);
    }
  }

  /** Where the counter stood when a request was sent: its answer is compared with that (`answered`). */
  sent(): SentAt {
    return { life: this.life, high: this.high };
  }

  /** An answer at `seq` to a request sent at `at`: below what had been answered then, the PBX restarted since. */
  answered(seq: number, at: SentAt): void {
    // A newer life was found while it was on its way: it may be of either life, and tells nothing more.
    if (at.life !== this.life) return;
    if (seq < at.high) [this.life, this.high] = [this.life + 1, seq];
    else this.high = Math.max(this.high, seq);
  }

  /**
   * A loop found a life over: that of its cursors above `seq` (its counter went back to it), or of `extensions`'
   * cursors (their calls disagree with a read). The cursors answered from now on are of a newer life.
   */
  over(groups: readonly CursorGroup[], source: ResumeSource | undefined, seq?: number, extensions: readonly string[] = []): void {
    const over = groups.filter((g) => (seq !== undefined && g.cursor > seq) || extensions.some((e) => g.extensions.has(e)));
    const life = Math.max(0, ...over.map((group) => group.life));
    this.life = Math.max(this.life, life) + 1;
    this.high = 0;
    // Gone back: those above it are of the previous life; one at or below it may be of the new (saved by a loop that
    // had seen the restart, or before lives were kept): kept, checked by its own read. Otherwise the untaken cursors
    // of that life or an older one are dropped.
    if (seq !== undefined) source?.forgetAbove(seq);
    else source?.forgetLife(life);
  }
}
