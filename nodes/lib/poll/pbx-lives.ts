/**
 * Lives of the PBX as a hub has seen them: a number that only grows, given to each poll cursor, so that saved cursors
 * of two lives can be told apart. Knows nothing of Node-RED.
 *
 * The PBX's counter only climbs within a life, and the API gives no other sign of a restart. So the hub counts a new
 * life whenever an answer's `seq` is below one answered before in this life (by any loop), and whenever a loop finds a
 * life over (its counter gone back from a cursor, or its calls disagreeing with a read). Each answer's cursor carries
 * the life it is of (`answered`; a resumed one, the life it was saved with). When a loop finds the life of one of its
 * cursors over, the saved cursors still untaken of that life or an older one are over too; a newer one was answered
 * after a restart had been seen, by a PBX that was counting again, and is kept (checked by the read that starts its
 * own loop).
 *
 * Two loops' answers may be read out of order (one held up on its connection): one the PBX gave at c, read after
 * another's at c + 1, counts a life where there was none. That errs the safe way: a cursor of an older life than the
 * newest saved is stale, and carries on from the lower of its own and the newest life's lowest (resume-points.ts),
 * which re-sends at worst. Not counting one would not: a cursor of the new life labelled with the old one's number
 * looks current beside the old life's, which is then polled on from past the new counter. An answer to a request
 * sent before a newer life was found may be of either life: it gets the life it was sent in (the older: stale at
 * worst). A restart whose counter passed every cursor before anything answered cannot be seen at all
 * (docs/design.md).
 */
import type { CursorGroup } from "./cursor-groups";
import type { ResumeSource } from "./resume-points";

/** The life when a request was sent (PbxLives.sent). */
export interface SentAt {
  readonly life: number;
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

  /** The life a request is sent in: its answer is judged with it (`answered`). */
  sent(): SentAt {
    return { life: this.life };
  }

  /**
   * An answer at `seq` to a request sent at `at`; returns the life its cursor is of. Below one answered before in this
   * life: the PBX restarted since (or the answers crossed, see above).
   */
  answered(seq: number, at: SentAt): number {
    if (at.life !== this.life) return at.life;
    if (seq < this.high) [this.life, this.high] = [this.life + 1, seq];
    else this.high = Math.max(this.high, seq);
    return this.life;
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
