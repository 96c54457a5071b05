/**
 * Lives of the PBX as a hub has seen them: a number that only grows, given to each poll cursor, so that saved cursors
 * of two lives can be told apart. Knows nothing of Node-RED.
 *
 * The PBX's counter only climbs within a life, and the API gives no other sign of a restart. So the hub counts a new
 * life whenever an answer's `seq` is below one answered before (by any loop), and whenever a loop finds a life over
 * (its counter gone back from a cursor, or its calls disagreeing with a read). A cursor carries the life current when
 * it was answered (a resumed one, the life it was saved with). When a loop finds the life of one of its cursors over,
 * the saved cursors still untaken of that life or an older one are over too; a newer one was answered after a restart
 * had been seen, by a PBX that was counting again, and is kept (checked by the read that starts its own loop).
 * Numbers counted too often only keep a cursor longer, to be checked by its own read; a restart whose counter passed
 * every cursor before anything answered cannot be seen at all (docs/design.md).
 */
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

  /** An answer at `seq`: below one answered before in this life, the PBX restarted since. */
  answered(seq: number): void {
    if (seq < this.high) this.life += 1;
    this.high = seq < this.high ? seq : Math.max(this.high, seq);
  }

  /** A loop found the life `over` ended: the cursors answered from now on are of a newer one. */
  ended(over: number): void {
    this.life = Math.max(this.life, over) + 1;
    this.high = 0;
  }
}
