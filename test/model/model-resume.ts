/**
 * What a kill of Node-RED must not lose, and what it may re-send: the model's reference for resuming (issue 23, "Tests
 * that do not trust the code under test"). It is decided from the outside world only: the PBX's history, what each
 * flow received, and what the store guarantees (the last write that became durable: acknowledged by a durable store,
 * or flushed by a lagging one; model-store.ts), with what the world knew when that write was made (WriteFacts). What
 * the hub chose to put in it is never looked at: a hub that writes too little must not excuse its own loss.
 *
 * Promises (README, "Resuming after a restart"):
 * - nothing lost: an extension a node id watches across the kill (watched at the kill, and in its configuration after
 *   it) gets every change (each change in the "every" style, each call's latest state in the "latest" style) from
 *   when its flow could first know the extension's calls, changes made while Node-RED was down included, provided the
 *   store holds a durable position that can carry on (WriteFacts.carries: its writer had a cursor of the PBX's current
 *   epoch, or started from such a position) and the store answers the read in the end (a read that stalls for good
 *   excuses the loss);
 *   (the PBX's `seq` is one counter for all extensions: an extension the durable write could not know yet is read
 *   from the position's cursor); one it watched without yet knowing its calls is owed what a first read gives;
 * - re-sends bounded: a state the flow got before that durable write is not sent again after the restart (only the
 *   same latest state replayed as `initial`); on an extension the durable write could not know yet (no answer for it
 *   since its writer started, nor in the position that writer started from) any, as it is read from the position's
 *   cursor, which may re-send what it delivered meanwhile.
 * Never a msg for an extension a node does not watch, never an older state after a newer one: model-world.ts.
 *
 * Each violation of these expectations names the fix of issue 23 that guards it (GUARDS): with that fix removed the
 * search finds the loss (the model's own check that it would have found items 1, 3 and 4; see hub.model.test.ts).
 */
import type { Carried, Chain, Continuation, NodeInstance, World } from "./model-world";
import type { Coverage } from "./model-checks";
import type { AwaitedWatch, ReadFault, WriteFacts } from "./model-store";

/** The fixes of issue 23 that these expectations hold the product to, named in the violations they explain. */
export const GUARDS = {
  /**
   * Nothing is written before the store's read has settled, nor a position without the cursors it started from (also
   * those no loop has taken yet: a subscriber that registers late, announced at the start, carries on from them).
   */
  item1: "issue 23 item 1 (a write before the read settled or the loops answered must not wipe the position)",
  /**
   * An extension the durable position does not know (added within a lagging store's flush interval, or whose first
   * read had not answered when it was written) is read from its cursor; so the position keeps a cursor even when no
   * extension it names has one yet (the one it had before the last of them was dropped: the PBX's seq is global).
   */
  item3: "issue 23 item 3 (an extension newer than the durable position must be read from its cursor)",
  /** A read that fails once or answers late is retried; the good position is not overwritten meanwhile. */
  item4: "issue 23 item 4 (a store read that failed once or answered late must be retried)",
  /**
   * Found by this model (fixed in resumed-reads.ts): after a restart, a subscriber registered after the first on a
   * resumed extension was handed the table as restored from the position before the resumed read had answered, which
   * may be older than what its flow got after that position was written.
   */
  staleReplay: "a subscriber that joins a resumed extension must not get the restored table's state before its read answers",
} as const;

/** What the last kill left for the re-send check (World.checkResend). */
export interface KillReference {
  /**
   * Per extension: states the flow got after this msg number (World.serial) may be re-sent. None for an extension
   * the durable position could not know (or when nothing was durable): any re-send is within the bound there.
   */
  covers: Record<string, number>;
  /** Extensions whose cursor the durable write held only from the position its process started from (GUARDS.item1). */
  fromStart: string[];
}

/** What the instances watching each extension had, for the instances that take over (a deploy, a resume). */
export function continuation(nodes: Iterable<NodeInstance>, epoch: number): Continuation {
  const out: Continuation = new Map();
  for (const node of nodes) {
    for (const [extension, interval] of node.intervals) {
      const carried = out.get(extension) ?? { legs: new Map<string, number>(), since: undefined, chains: new Map<string, Chain>() };
      const { legs } = carried;
      for (const [leg, index] of interval.prev) legs.set(leg, Math.max(index, legs.get(leg) ?? -1));
      for (const [leg, got] of interval.got) legs.set(leg, Math.max(...got, legs.get(leg) ?? -1));
      const since = interval.sync.get(epoch);
      if (since !== undefined) carried.since = Math.min(since, carried.since ?? Infinity);
      carried.chains.set(node.id, { t0: interval.chainT0, since, owed: interval.owed, expect: interval.expect });
      out.set(extension, carried);
    }
  }
  return out;
}

/**
 * Which extensions carry on across a kill (with what their flows could know, and from when every change is owed), from
 * the continuation at the kill, the last durable write's facts and the new process's read fault.
 */
export function carryAcrossKill(before: Continuation, durable: WriteFacts | undefined, fault: ReadFault | undefined, epoch: number):
  { carried: Continuation; reference: KillReference; inherits: boolean } {
  const usable = durable !== undefined && durable.carries && durable.epoch === epoch && fault !== "stalls";
  // A position from the PBX's previous life may be resumed from unawares (its counter caught up): no bound then.
  const reference: KillReference = { covers: usable ? durable.covers : {}, fromStart: usable ? durable.fromStart : [] };
  if (!usable) return { carried: new Map(), reference, inherits: false };
  const carried: Continuation = new Map();
  const cursors = Object.values(durable.cursorEpochs);
  // The position's cursor serves an extension it does not name (item 3) only if none of its cursors is stale.
  const clean = durable.lastEpoch === epoch && cursors.every((e) => e === epoch);
  for (const [extension, c] of before) {
    const chains = new Map<string, Chain>();
    const cursorEpoch = durable.cursorEpochs[extension];
    for (const [id, chain] of c.chains) {
      const expect: string[] = [];
      // A write before the read settled, or made while the cursor it started from was not carried on yet (a loop had not
      // answered for it, or its node had not registered: model-late.ts), must keep that cursor.
      if (!durable.loaded || durable.inherited || durable.fromStart.includes(extension)) expect.push(GUARDS.item1);
      // Its flow could know the calls before the write in this epoch: the write covers it (in the same ms: unknown).
      const known = cursorEpoch === epoch && chain.since !== undefined && chain.since < durable.at;
      if (!known) expect.push(GUARDS.item3);
      if (fault === "failsOnce" || fault === "late") expect.push(GUARDS.item4);
      let owed = chain.owed?.epoch === epoch ? chain.owed : undefined;
      // The position may hold a cursor of the PBX's previous life for it (a restart the hub must resynchronise from,
      // losing what changed meanwhile: the README says so), or serve it from such a cursor: nothing more owed.
      const stale = cursorEpoch === undefined ? !clean : cursorEpoch !== epoch;
      // From when its flow could know the extension's calls in this epoch (as without a kill: before that, the current
      // state is what it is owed), never from before the node id began watching it (a node that takes over an
      // extension in a deploy, or joins one the hub polls already, gets the calls in progress from the hub's table).
      const from = chain.since === undefined || stale ? undefined : Math.max(chain.t0, chain.since);
      if (from !== undefined && (!owed || from < owed.from)) owed = { from, epoch };
      chains.set(id, { ...chain, owed, expect, stale });
    }
    const next: Carried = { ...c, chains };
    carried.set(extension, next);
  }
  return { carried, reference, inherits: true };
}

/**
 * What each node id's flow already had, per leg, when a new process starts after a kill:
 * - what it got (any earlier instance) on an extension that carries on, or that it watched at the kill (whether or not
 *   the durable position can carry it on, a state its flow got is one it has: only what changed since must come);
 * - on an extension the durable position the new process reads was written with (with a cursor, of any epoch, whether
 *   or not that position can carry on: its legs restored from it count as sent, also through a resynchronisation;
 *   `durable.watchers` watching it then), what those node ids' flows had got up to that write (or, for a node awaited
 *   then, up to the position its watch was kept from), though they dropped it since (by msg, or a deploy):
 *   a store that lags (localfilesystem) or a write not yet acknowledged may keep the later position from being
 *   durable, no process can tell such a drop from a watch that never stopped, and the product carries on from that
 *   position (every change since, not the calls in progress those flows got), as for a node that takes an extension
 *   over from another across a kill.
 */
export function hadAcrossKill(receipts: Receipts, extensionOf: (leg: string) => string | undefined,
  layouts: ReadonlyArray<{ id: string; extensions: readonly string[] }>, history: (id: string) => Map<string, number> | undefined,
  counts: (id: string, extension: string) => boolean, durable: { watchers(extension: string): Watcher[] } | undefined):
  Map<string, Map<string, number>> {
  const had = new Map<string, Map<string, number>>();
  const put = (legs: Map<string, number>, leg: string, index: number): void => {
    legs.set(leg, Math.max(index, legs.get(leg) ?? -1));
  };
  for (const { id, extensions } of layouts) {
    const legs = new Map<string, number>();
    for (const [leg, index] of history(id) ?? []) {
      const extension = extensionOf(leg);
      if (extension !== undefined && counts(id, extension)) put(legs, leg, index);
    }
    for (const extension of extensions) {
      for (const { id: watcher, serial } of durable?.watchers(extension) ?? []) {
        for (const [leg, index] of receipts.gotUpTo(watcher, serial)) {
          if (extensionOf(leg) === extension) put(legs, leg, index);
        }
      }
    }
    had.set(id, legs);
  }
  return had;
}

/** A node id named as watching an extension by a durable write, and the msgs its flow had got by then (World.serial). */
export interface Watcher {
  id: string;
  serial: number;
}

/**
 * Who a durable write says watched each extension it holds a cursor for: the nodes of its process then, and the nodes
 * awaited then, whose watch the hub kept from the position it started from (a lagging store may have lost their drop of
 * it, as for any node: hadAcrossKill).
 */
export function durableWatchers(facts: WriteFacts): (extension: string) => Watcher[] {
  return (extension) => {
    if (facts.cursorEpochs[extension] === undefined) return [];
    const watchers = Object.keys(facts.watching).filter((id) => facts.watching[id].includes(extension)).map((id) => ({ id, serial: facts.serial }));
    for (const [id, watch] of Object.entries(facts.awaitedWatching)) {
      if (watch.extensions.includes(extension)) watchers.push({ id, serial: watch.serial });
    }
    return watchers;
  };
}

/** What a node awaited at a start watched, as the durable position that start resumes from says (itself awaited then, or not). */
export function awaitedWatch(facts: WriteFacts | undefined, id: string): AwaitedWatch | undefined {
  if (!facts) return undefined;
  const extensions = facts.watching[id];
  return extensions && extensions.length > 0 ? { extensions: [...extensions], serial: facts.serial } : facts.awaitedWatching[id];
}

/**
 * Every change owed since a kill has reached the flow: checked where the extension is polled (a request open, not
 * hung) by a hub that has its position, so its backlog has been read.
 */
export function checkOwed(world: World, cover: Coverage): void {
  if (!world.loaded) return;
  const every = world.pbx.options.style === "every";
  for (const node of world.nodes.values()) {
    for (const [extension, interval] of node.intervals) {
      const owed = interval.owed;
      if (!owed || owed.epoch !== world.pbx.epoch || !cover.healthy.has(extension)) continue;
      for (const leg of world.pbx.legs) {
        if (leg.extension !== extension || leg.epoch !== owed.epoch) continue;
        const last = leg.history.length - 1;
        const wanted = every ? leg.history.map((_, i) => i).filter((i) => leg.at[i] > owed.from) : leg.at[last] > owed.from ? [last] : [];
        const missing = wanted.filter((i) => !world.flowHad(node.id, leg.id, i));
        if (missing.length === 0) continue;
        const states = missing.map((i) => leg.history[i].status).join(", ");
        const why = interval.expect.length > 0 ? ` [${interval.expect.join("; ")}]` : "";
        world.violation(`${node.id} lost ${extension}:${leg.id} ${states} (owed since t=${owed.from}, across a kill)${why}`);
      }
    }
  }
}

/** What each node id's flow received (any instance), numbered: the re-send bound's measure (World.serial). */
export class Receipts {
  /** msgs received by all flows so far. */
  serial = 0;
  /** Per node id, per `leg#index`: the latest receipt and its process, and the first receipt. */
  private readonly byNode = new Map<string, Map<string, { serial: number; gen: number; first: number }>>();

  had(id: string, leg: string, index: number): boolean {
    return this.byNode.get(id)?.has(`${leg}#${index}`) === true;
  }

  /** Per leg, the highest state the node id's flow had got by msg number `serial`. */
  gotUpTo(id: string, serial: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, receipt] of this.byNode.get(id) ?? []) {
      if (receipt.first > serial) continue;
      const [leg, index] = key.split("#");
      out.set(leg, Math.max(Number(index), out.get(leg) ?? -1));
    }
    return out;
  }

  /**
   * Numbers a receipt. A state the flow got in an earlier process may come again only if it last got it after what
   * the store's last durable position at the kill covered there, or as the same latest state replayed (`replay`).
   * Returns what is wrong, if anything.
   */
  record(id: string, gen: number, leg: string, index: number, initial: boolean, replay: boolean, extension: string,
    kill: KillReference | undefined): string | undefined {
    this.serial += 1;
    const receipts = this.byNode.get(id) ?? new Map<string, { serial: number; gen: number; first: number }>();
    this.byNode.set(id, receipts);
    const key = `${leg}#${index}`;
    const before = receipts.get(key);
    receipts.set(key, { serial: this.serial, gen, first: before?.first ?? this.serial });
    if (!before || before.gen >= gen || replay || !kill) return undefined;
    const bound = kill.covers[extension];
    if (bound === undefined || before.serial > bound) return undefined;
    const why = initial ? ` [${GUARDS.staleReplay}]` : kill.fromStart.includes(extension) ? ` [${GUARDS.item1}]` : "";
    return `re-sent after the kill, though the flow last got it (msg #${before.serial}) before the store's last durable position (which covers msgs up to #${bound} there)${why}`;
  }
}
