/**
 * The cursors of one poll loop. Knows nothing of Node-RED.
 *
 * The PBX has one cursor per request (`lastSequenceNumber`), not one per extension, and its entries carry no `seq`:
 * an answer from cursor `c` lists the changes in (c, seq] of every extension asked for, and nothing tells which of them
 * came before a given point inside that window. So an extension read at `F` (its current state, when it is added)
 * cannot simply join a poll whose cursor `M` is below `F`: on a PBX that lists every change, that poll's next answer
 * would repeat its changes in (M, F], older than the state already sent.
 *
 * Instead every extension belongs to a group polled from the group's own cursor, and each group knows how far back it
 * has been quiet: no change on any of its extensions in (quietFrom, cursor]. Such a group may be polled from any seq in
 * [quietFrom, cursor] without losing or repeating anything. Two groups whose ranges overlap are merged at the lower
 * cursor. A loop with several groups polls the one with the lowest cursor with timeOut=0: its answer either carries
 * changes (passed on, exactly those after its cursor) or is empty, which makes its range reach every other group's
 * cursor, so they merge. This holds whether the PBX lists every change or each changed call's latest state.
 */

export interface CursorGroup {
  readonly extensions: Set<string>;
  /** The `seq` of the last answer for these extensions: what the next poll sends. */
  cursor: number;
  /** No change on any of the extensions in (quietFrom, cursor]. */
  quietFrom: number;
  /** The PBX life the cursor is of (pbx-lives.ts). */
  life: number;
}

export class CursorGroups {
  private groups: CursorGroup[] = [];

  get size(): number {
    return this.groups.length;
  }

  get list(): readonly CursorGroup[] {
    return this.groups;
  }

  has(group: CursorGroup): boolean {
    return this.groups.includes(group);
  }

  groupOf(extension: string): CursorGroup | undefined {
    return this.groups.find((g) => g.extensions.has(extension));
  }

  /** The highest cursor: any later answer with a lower `seq` comes from a PBX whose counter went back. */
  maxCursor(): number {
    return this.groups.reduce((max, g) => Math.max(max, g.cursor), 0);
  }

  /** The group with the lowest cursor (the one to poll while there are several). */
  oldest(): CursorGroup | undefined {
    return this.groups.reduce<CursorGroup | undefined>((low, g) => (low === undefined || g.cursor < low.cursor ? g : low), undefined);
  }

  /** Everything at one cursor (a current-state read of all of them). */
  reset(extensions: Iterable<string>, cursor: number, life = 0): void {
    this.groups = [];
    this.add(extensions, cursor, life);
  }

  clear(): void {
    this.groups = [];
  }

  /** Extensions whose changes up to `cursor` have been passed on (read at `cursor`, or resumed from it). */
  add(extensions: Iterable<string>, cursor: number, life = 0): void {
    const set = new Set(extensions);
    for (const extension of set) this.remove(extension);
    if (set.size === 0) return;
    this.groups.push({ extensions: set, cursor, quietFrom: cursor, life });
    this.merge();
  }

  remove(extension: string): void {
    const group = this.groupOf(extension);
    if (!group) return;
    group.extensions.delete(extension);
    if (group.extensions.size === 0) this.groups = this.groups.filter((g) => g !== group);
    // Fewer extensions never make a group less quiet; no merge can become possible that was not already.
  }

  /** An answer for `group` from its cursor: `changed` when it carried any entry. */
  advance(group: CursorGroup, seq: number, changed: boolean, life = group.life): void {
    if (!this.has(group)) return;
    group.quietFrom = changed ? seq : Math.min(group.quietFrom, seq);
    group.cursor = seq;
    group.life = life;
    this.merge();
  }

  /** Merges groups whose ranges [quietFrom, cursor] overlap, at the lower of their cursors. */
  private merge(): void {
    for (let merged = true; merged; ) {
      merged = false;
      outer: for (let i = 0; i < this.groups.length; i++) {
        for (let j = i + 1; j < this.groups.length; j++) {
          const a = this.groups[i];
          const b = this.groups[j];
          const from = Math.max(a.quietFrom, b.quietFrom);
          const cursor = Math.min(a.cursor, b.cursor);
          if (from > cursor) continue;
          // The life of the cursor kept (of the newer, when both are there).
          const life = a.cursor === b.cursor ? Math.max(a.life, b.life) : a.cursor < b.cursor ? a.life : b.life;
          const joined: CursorGroup = { extensions: new Set([...a.extensions, ...b.extensions]), cursor, quietFrom: from, life };
          this.groups = [...this.groups.filter((g) => g !== a && g !== b), joined];
          merged = true;
          break outer;
        }
      }
    }
  }
}
