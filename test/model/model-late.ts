/**
 * Subscribe nodes that register late after a restart, for the model-based hub tests: a node whose kept extension list
 * is still being read from a context store announces itself as it starts (hub.expect, as watch-node.ts's openWatch
 * does) and registers once its list is in (WatchStart). Meanwhile calls change, answers arrive, positions are written,
 * Node-RED may be killed again. The hub's start gate (start-gate.ts) waits for it up to START_WAIT_MS after
 * flows:started: until then the saved cursors of its extensions must stay in every position written (GUARDS.item1) and
 * it carries on from them when it registers.
 *
 * What the late node is owed is decided as for any node across a kill (model-resume.ts): the continuation the kill
 * left for its id, the store's durable facts, what its flow got. It is not owed more than a newcomer on an extension
 * another node of the same process watched before it came (the hub polls that one for the other node, whose flow got
 * what changed: the late one joins it and gets the calls in progress), nor once the gate's wait is over, the PBX has
 * restarted, or the hub was parked past its 60 s (each gives it a current-state read, as documented).
 *
 * Not modelled (the commands start the late node first): another node leaving while it is awaited (its extensions
 * linger until the wait ends), or joining, or gaining an extension by msg then. An extension gained while the start
 * gate waits that the saved position holds carries on from its cursor with the restored table, so a node that had
 * dropped it before or at the restart gets none of its calls in progress (the table says they were sent, and its flow
 * did get them before the kill), where after the gate it gets them from a current-state read: an open question for
 * the reference (what such a node's flow had), not a loss of changes.
 */
import { START_WAIT_MS } from "../../nodes/lib/poll/start-gate";
import { now } from "./model-pbx";
import type { AwaitedWatch } from "./model-store";
import type { Continuation, NodeLayout } from "./model-world";

interface Pending {
  layout: NodeLayout;
  /** What the kill left for it where it carries on (its own chains in it), in the PBX epoch of that kill. */
  carried: Continuation;
  /** Its extensions it watched at that kill: its flow has what it got there, whether or not they carry on. */
  watched: Set<string>;
  had: Map<string, number> | undefined;
  epoch: number;
  /** Its extensions another node of this process watched before it registered. */
  joined: Set<string>;
  /** What the durable position this process started from says it watched (kept for it by the hub meanwhile). */
  inherited: AwaitedWatch | undefined;
}

/** What a late node registers with: the continuation where it still carries on, and what its flow had. */
export interface LateStart {
  layout: NodeLayout;
  carried: Continuation | undefined;
  had: Map<string, number> | undefined;
}

export class LateNodes {
  private readonly pending = new Map<string, Pending>();
  /** Extensions a node of the current process has watched. */
  private readonly seen = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The gate's wait ran out: the pending nodes will be read afresh. */
  private expired = false;

  /** A new process starts: nothing pending, nothing seen. */
  reset(): void {
    this.pending.clear();
    this.seen.clear();
    this.stopTimer();
    this.expired = false;
  }

  has(id: string): boolean {
    return this.pending.has(id);
  }

  get size(): number {
    return this.pending.size;
  }

  ids(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * The node starts and announces itself; it registers later (take). `before`: the continuation at the kill;
   * `inherited`: what the durable position the process starts from says it watched.
   */
  announce(layout: NodeLayout, before: Continuation, carried: Continuation, had: Map<string, number> | undefined, epoch: number,
    inherited?: AwaitedWatch): void {
    const joined = new Set(layout.extensions.filter((e) => this.seen.has(e)));
    const watched = new Set(layout.extensions.filter((e) => before.get(e)?.chains.has(layout.id)));
    this.pending.set(layout.id, { layout, carried, watched, had, epoch, joined, inherited });
  }

  /** For a write made now (WriteFacts.awaitedWatching): the watches the hub keeps for the nodes it still waits for. */
  awaitedWatching(): Record<string, AwaitedWatch> {
    if (this.expired) return {};
    return Object.fromEntries([...this.pending].flatMap(([id, p]) => (p.inherited ? [[id, p.inherited]] : [])));
  }

  /** A node of this process watches these extensions now. */
  saw(extensions: Iterable<string>): void {
    for (const extension of extensions) {
      this.seen.add(extension);
      for (const p of this.pending.values()) if (p.layout.extensions.includes(extension)) p.joined.add(extension);
    }
  }

  /**
   * flows:started (the hub's releaseLingering): the gate waits for the pending nodes, at most START_WAIT_MS from the
   * first call; `expire` runs when that wait runs out. Returns whether it waits. Scheduled before the hub's own timer (same deadline), so that the
   * world drops what the hub drops before anything the hub does then is written.
   */
  flowsStarted(expire: () => void): boolean {
    if (this.pending.size === 0 || this.expired) return false;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.expired = true;
      expire();
    }, START_WAIT_MS);
    return true;
  }

  /**
   * The node registers (or closes); returns what it registers with, and whether that lets the gate release (it was
   * the last one waited for). `fresh`: the hub starts afresh (parked too long). What its flow had counts in any case:
   * the hub's table (restored from the position) knows those states were sent.
   */
  take(id: string, epoch: number, fresh: boolean): { start: LateStart; releases: boolean } | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    const releases = this.pending.size === 0 && !this.expired;
    if (this.pending.size === 0) this.stopTimer();
    const carries = !fresh && !this.expired && p.epoch === epoch;
    const carried = carries ? new Map([...p.carried].filter(([extension]) => !p.joined.has(extension))) : undefined;
    return { start: { layout: p.layout, carried, had: p.had }, releases };
  }

  /**
   * At a kill: the layouts of the nodes still pending (configured, so they start again), and their own chains added
   * to what the registered ones leave (`before`), as for a node that watched its extensions at the kill: the chain it
   * carried on where it still does (the gate's wait not over, no other node took the extension, the same PBX epoch),
   * else one that begins now and is owed nothing (what its flow got there counts as had all the same).
   */
  atKill(before: Continuation, epoch: number): NodeLayout[] {
    for (const [id, p] of this.pending) {
      const carries = !this.expired && p.epoch === epoch;
      for (const extension of p.watched) {
        const c = p.carried.get(extension);
        const own = carries && !p.joined.has(extension) ? c?.chains.get(id) : undefined;
        const into = before.get(extension) ?? { legs: new Map<string, number>(), since: undefined, chains: new Map() };
        if (own && c) {
          for (const [leg, index] of c.legs) into.legs.set(leg, Math.max(index, into.legs.get(leg) ?? -1));
          if (own.since !== undefined) into.since = Math.min(own.since, into.since ?? Infinity);
        }
        into.chains.set(id, own ?? { t0: now(), since: undefined, owed: undefined, expect: [] });
        before.set(extension, into);
      }
    }
    return [...this.pending.values()].map((p) => p.layout);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
