/**
 * Saved poll positions (from the resume file) while Node-RED starts. Knows nothing of Node-RED.
 *
 * One source is shared by every loop of a hub: an extension is carried on from its saved position at most once, by
 * whichever loop gets it first. Taken again (removed and added back while the flows start, or moved to another chunk)
 * it would replay changes that already reached the flow.
 *
 * An extension watched as the flows start that no position covers (added by a deploy or a msg shortly before a crash,
 * when the store had not yet flushed the position that held it) is *adopted*: it carries on from the lowest saved
 * cursor. The PBX's `seq` is one counter for every extension, so that cursor is no later than anything the extension
 * was polled from before the crash: it re-sends what may have reached the flow already, and loses nothing. A cursor
 * tells only what changed since; the calls in progress that did not change are for the poll loop to find (its
 * read-check.ts).
 *
 * A saved cursor of an older PBX life than another saved beside it is *stale*: the newer life began with a restart
 * after it was answered, so what it would ask for is gone, and a counter that climbed past it would answer without the
 * changes in between. Its extension carries on from the lowest cursor of the newest life instead (or its own, when
 * lower: the life may have been counted without a restart, see `carried`), as an adopted one does (re-sending, losing
 * nothing), and its read ends the calls its flow was sent that the PBX no longer lists.
 */

/** Where a poll stood: enough to carry on from there in another process (see resume-file.ts). */
export interface ResumePoint {
  seq: number;
  /** The extensions whose changes up to `seq` have been emitted. */
  extensions: string[];
  /** Extension → seq of its own current-state read, when above `seq` (files written by 1.0.0). */
  fences: Record<string, number>;
  /** The PBX life the cursor is of (pbx-lives.ts); absent in positions saved before it was kept, and for 0. */
  life?: number;
  /**
   * Saved while the read that resynchronises these extensions after a PBX restart had not settled (or carried on from
   * a stale cursor, see below): the calls the position holds may have died with that restart. Carried on, their read
   * is checked as a restart's, which ends those calls without finding the cursor's life over (a late subscriber's
   * cursor of the same life is kept). Absent when settled, and in positions saved before 1.2.0.
   */
  resyncing?: true;
}

/**
 * Where an extension carries on from; `adopted` when no saved position covered it, `stale` when its own cursor was of an
 * older life than the newest saved (see above).
 */
export interface ResumeCursor {
  cursor: number;
  adopted: boolean;
  life: number;
  stale?: true;
  /** Saved before its restart's resynchronising read settled (ResumePoint.resyncing): its check is a restart's. */
  resyncing?: true;
}

interface Saved {
  cursor: number;
  life: number;
  resyncing?: true;
}

/** A position to save: `extensions` carry on from `seq` of PBX life `life` (`resyncing`: see ResumePoint). */
export const resumePoint = (seq: number, extensions: string[], life: number, resyncing = false): ResumePoint =>
  ({ seq, extensions, fences: {}, ...(life > 0 ? { life } : {}), ...(resyncing ? { resyncing: true as const } : {}) });
const point = resumePoint;

export class ResumeSource {
  private readonly cursors = new Map<string, Saved>();
  /**
   * Extensions given a cursor (each is, once), adopted when the flows had started, or whose cursor a PBX restart made
   * stale: none of them is adopted (again).
   */
  private readonly given = new Set<string>();
  private readonly adopted = new Set<string>();
  /**
   * Extensions whose own cursor a PBX restart made stale: the table still holds what their flows were sent, so their
   * read ends the calls it no longer lists (PollLoop), rather than starting afresh.
   */
  private readonly dropped = new Set<string>();
  /**
   * The lowest saved cursor of the newest life: for the extensions no position covers (none once the flows have
   * started), and for those whose own is stale.
   */
  private lowest: Saved | undefined;
  private open = true;

  constructor(points: readonly ResumePoint[]) {
    this.add(points);
  }

  /** More saved positions (read after the loops were made). */
  add(points: readonly ResumePoint[]): void {
    for (const point of points) {
      const life = point.life ?? 0;
      // A point that names no extension is a cursor all the same (the hub's last, kept when no extension had one).
      const low = this.lowest;
      if (point.seq > 0 && (low === undefined || life > low.life || (life === low.life && point.seq < low.cursor))) this.lowest = { cursor: point.seq, life };
      for (const extension of point.extensions) {
        const cursor = Math.max(point.seq, point.fences[extension] ?? 0);
        // A position at 0 is no position: the PBX would answer a current-state read, not the changes since.
        if (cursor <= 0) continue;
        const known = this.cursors.get(extension);
        const saved: Saved = { cursor, life, ...(point.resyncing ? { resyncing: true as const } : {}) };
        // Of two positions naming it, the newer life's (else the higher cursor) is where it stood last; of two alike,
        // a resync unsettled in either is still to settle.
        if (!known || life > known.life || (life === known.life && cursor > known.cursor)) this.cursors.set(extension, saved);
        else if (life === known.life && cursor === known.cursor && saved.resyncing) known.resyncing = true;
      }
    }
  }

  get size(): number {
    return this.cursors.size + (this.open && this.lowest !== undefined ? 1 : 0);
  }

  /** True when `extension` would carry on from a cursor (its own, or the lowest one while the flows start). */
  has(extension: string): boolean {
    return this.cursors.has(extension) || this.adoptable(extension);
  }

  /** The cursor to carry `extension` on from, once; undefined when it has none (or it was taken). */
  take(extension: string): ResumeCursor | undefined {
    const own = this.cursors.get(extension);
    if (own !== undefined) {
      this.cursors.delete(extension);
      this.given.add(extension);
      const adopted = this.adopted.delete(extension);
      const { cursor, life } = this.carried(own);
      // An adopted one had no table of its own: nothing sent to end.
      if (adopted) return { cursor, life, adopted };
      return { cursor, life, adopted, ...(life !== own.life ? { stale: true as const } : {}), ...(own.resyncing ? { resyncing: true as const } : {}) };
    }
    if (!this.adoptable(extension)) return undefined;
    this.given.add(extension);
    return { ...(this.lowest as Saved), adopted: true };
  }

  /** True, once, when `extension` had a cursor of its own that a PBX restart made stale (see `dropped`). */
  takeDropped(extension: string): boolean {
    return this.dropped.delete(extension);
  }

  /**
   * The cursors not yet taken (of `extensions` when given), as positions: a hub that saves before its loops have
   * carried them on must still cover them, or a crash then would lose what they cover. While the flows start, the
   * lowest one too (bare when no extension has it): a subscriber that registers late (announced, its list still being
   * read) adopts from it the extensions no position covers, also after a crash before it came.
   */
  points(extensions?: ReadonlySet<string>): ResumePoint[] {
    const byCursor = new Map<string, ResumePoint>();
    for (const [extension, saved] of this.cursors) {
      if (extensions && !extensions.has(extension)) continue;
      // A stale one where it would carry on from: its own cursor would lose what the newest life did before it. Its
      // check is still a restart's, as is one's whose resync had not settled (ResumePoint.resyncing).
      const { cursor, life } = this.carried(saved);
      const resyncing = saved.resyncing === true || life !== saved.life;
      const key = `${cursor}/${life}/${resyncing}`;
      byCursor.set(key, point(cursor, [...(byCursor.get(key)?.extensions ?? []), extension], life, resyncing));
    }
    const lowest = this.lowest;
    const at = (resyncing: boolean): string => `${lowest?.cursor}/${lowest?.life}/${resyncing}`;
    if (this.open && lowest !== undefined && !byCursor.has(at(false)) && !byCursor.has(at(true))) {
      byCursor.set("lowest", point(lowest.cursor, [], lowest.life));
    }
    return [...byCursor.values()];
  }

  /**
   * The flows have started: only `extensions` (watched then, not yet placed) may still carry on, those no position
   * covers from the lowest cursor; an extension watched later gets a current-state read.
   */
  retainOnly(extensions: ReadonlySet<string>): void {
    for (const extension of [...this.cursors.keys()]) if (!extensions.has(extension)) this.cursors.delete(extension);
    // What a flow gone was sent is no one's to end.
    for (const extension of [...this.dropped]) if (!extensions.has(extension)) this.dropped.delete(extension);
    for (const extension of extensions) {
      if (!this.adoptable(extension)) continue;
      this.cursors.set(extension, this.lowest as Saved);
      this.adopted.add(extension);
    }
    this.open = false;
  }

  /**
   * A loop found the PBX life `life` over (its calls differ from what its polls of that life reported, or its counter
   * went back): the cursors of that life or an older one are dropped (their extensions get a current-state read, which
   * ends the calls it no longer lists), and nothing is adopted any more. Those of a newer life were answered after a
   * restart had been seen (pbx-lives.ts): they carry on, checked by the read that starts their loop.
   */
  forgetLife(life: number): void {
    this.drop(([, saved]) => saved.life <= life);
    this.open = false;
  }

  /**
   * The PBX restarted, its counter now at `seq`: a cursor above it is of the PBX's previous life and is dropped (its
   * extension gets a current-state read). One at or below it may be of the new life (saved by a chunk that had seen the
   * restart, beside one whose poll was still held from before it) and still holds the changes made while Node-RED was
   * down: it is kept, checked by the read that starts its loop, as a loop keeps its own such cursors.
   */
  forgetAbove(seq: number): void {
    this.drop(([, saved]) => saved.cursor > seq);
  }

  private drop(stale: (entry: [string, Saved]) => boolean): void {
    // A stale cursor is judged where it would carry on from.
    for (const [extension, saved] of [...this.cursors]) {
      if (!stale([extension, this.carried(saved)])) continue;
      this.cursors.delete(extension);
      // One adopted had no table of its own to end; one resumed had what its flow was sent (see `dropped`).
      if (!this.adopted.delete(extension)) this.dropped.add(extension);
      // Nor adopted: a read, not a forgotten table, ends its calls that died with the restart.
      this.given.add(extension);
    }
    if (this.lowest !== undefined && stale(["", this.lowest])) this.lowest = undefined;
  }

  /**
   * Where a saved cursor carries on from: when it is of an older life (stale, see above), the lower of its own and the
   * newest life's lowest, as of that life. Its own when lower: a life counted where the PBX had not restarted (answers
   * read out of order, pbx-lives.ts) must not move it past what it had still to deliver; after a real restart the
   * counter passed the newest life's lowest, so polling from below it re-sends at worst.
   */
  private carried(saved: Saved): Saved {
    const newest = this.lowest;
    if (newest === undefined || saved.life >= newest.life) return saved;
    return { cursor: Math.min(saved.cursor, newest.cursor), life: newest.life };
  }

  private adoptable(extension: string): boolean {
    return this.open && this.lowest !== undefined && !this.given.has(extension) && !this.cursors.has(extension);
  }
}

/**
 * The highest cursor of the positions a hub stores, kept bare (naming no extension) in one where no extension has a
 * cursor (the last watched ones were replaced, the new ones are still being read): after a crash then, the extensions
 * watched at the start carry on from it, as from any saved position (the PBX's seq is one counter for all extensions).
 */
export class LastCursor {
  private last: Saved | undefined;

  /** `polls` as they are to be stored: the last cursor, bare, when none has one. */
  keep(polls: ResumePoint[]): ResumePoint[] {
    if (polls.length > 0) {
      // The newest life's highest cursor.
      const life = Math.max(...polls.map((p) => p.life ?? 0));
      this.last = { cursor: Math.max(...polls.filter((p) => (p.life ?? 0) === life).map((p) => p.seq)), life };
    } else if (this.last !== undefined) return [point(this.last.cursor, [], this.last.life)];
    return polls;
  }

  /** A loop's answer: its highest cursor is the latest. */
  note(seq: number, life: number): void {
    if (seq > 0) this.last = { cursor: seq, life };
  }

  forget(): void {
    this.last = undefined;
  }
}
