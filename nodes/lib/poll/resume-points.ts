/**
 * Saved poll positions (from the resume file) while Node-RED starts. Knows nothing of Node-RED.
 *
 * One source is shared by every loop of a hub: an extension is carried on from its saved position at most once, by
 * whichever loop gets it first. Taken again (removed and added back while the flows start, or moved to another chunk)
 * it would replay changes that already reached the flow.
 */

/** Where a poll stood: enough to carry on from there in another process (see resume-file.ts). */
export interface ResumePoint {
  seq: number;
  /** The extensions whose changes up to `seq` have been emitted. */
  extensions: string[];
  /** Extension → seq of its own current-state read, when above `seq` (files written by 1.0.0). */
  fences: Record<string, number>;
}

export class ResumeSource {
  private readonly cursors = new Map<string, number>();

  constructor(points: readonly ResumePoint[]) {
    this.add(points);
  }

  /** More saved positions (read after the loops were made). */
  add(points: readonly ResumePoint[]): void {
    for (const point of points) {
      for (const extension of point.extensions) {
        const cursor = Math.max(point.seq, point.fences[extension] ?? 0);
        // A position at 0 is no position: the PBX would answer a current-state read, not the changes since.
        if (cursor <= 0) continue;
        this.cursors.set(extension, Math.max(cursor, this.cursors.get(extension) ?? 0));
      }
    }
  }

  get size(): number {
    return this.cursors.size;
  }

  has(extension: string): boolean {
    return this.cursors.has(extension);
  }

  /** The cursor to carry `extension` on from, once; undefined when it has none (or it was taken). */
  take(extension: string): number | undefined {
    const cursor = this.cursors.get(extension);
    this.cursors.delete(extension);
    return cursor;
  }

  /**
   * The cursors not yet taken (of `extensions` when given), as positions: a hub that saves before its loops have
   * carried them on must still cover them, or a crash then would lose what they cover.
   */
  points(extensions?: ReadonlySet<string>): ResumePoint[] {
    const byCursor = new Map<number, string[]>();
    for (const [extension, cursor] of this.cursors) {
      if (extensions && !extensions.has(extension)) continue;
      byCursor.set(cursor, [...(byCursor.get(cursor) ?? []), extension]);
    }
    return [...byCursor].map(([seq, list]) => ({ seq, extensions: list, fences: {} }));
  }

  /** The flows have started: only `extensions` (watched then, not yet placed) may still carry on. */
  retainOnly(extensions: ReadonlySet<string>): void {
    for (const extension of [...this.cursors.keys()]) if (!extensions.has(extension)) this.cursors.delete(extension);
  }

  /** The positions are of no use any more (the PBX restarted): every extension gets a current-state read. */
  forget(): void {
    this.cursors.clear();
  }
}
