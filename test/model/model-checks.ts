/**
 * The checks run after every command of the model-based hub tests, once the world has settled, against the plain
 * reference in model-world.ts (what each node watches, what it got, what the PBX holds). The checks made as each msg
 * arrives (no foreign extension, nothing older than already sent, no duplicate, nothing skipped in "every" style) and
 * as each request opens (no extension in two requests at once) are in model-world.ts.
 *
 * When a node "could know" a leg (Interval.sync): from the first successful answer to the hub on a request that covers
 * the extension after it joined (or at once when the hub was already polling it with a known cursor); after a PBX
 * restart, from the first answer the hub could tell apart from the old counter (a current-state read, or an answer on a
 * cursor the new counter issued). A leg that ended before that moment may be missed: the current-state read that
 * joins an extension lists calls in progress, and a restarted PBX forgets what happened before it is read again.
 * A node that took over from earlier instances (a deploy; a kill, on the extensions that carry on: model-resume.ts)
 * inherits their moment and what they had: changes made during a deploy or while Node-RED was down count.
 *
 * Relaxed on purpose (each is behaviour by design, or something no client can know):
 * - a repeat is allowed as the first msg (initial: true) of a new watch of an extension: a re-add's current-state
 *   read, a newcomer's replay from the table, a redeployed node's lingering replay (docs/design.md, "Lingering");
 * - after a kill or a deploy, re-deliveries of states an earlier instance of the node got are allowed (counted in the
 *   totals); what an earlier instance of the same node id had counts as had on the extensions that resume;
 * - a leg that ended before its node could know it (above) may be missed; a restart whose counter has caught up with
 *   the hub's cursor is invisible to the hub, so it excuses the legs of that epoch until a current-state read;
 * - Busy / No Answer are terminal for the hub's table: a newcomer served from it need not get a leg in that state;
 * - which loop made a request is invisible from outside, so while any request hangs or waits for a retry, every
 *   watched extension may wait (coverage), and statuses are only checked where the truth is plain;
 * - an intermediary's cut (504 after its idle limit) after a short hold counts as a failure; after a long one, as
 *   nothing at all: the hub must poll on at once and stay listening.
 */
import { indexOf, type Leg, names, now, type RequestRecord } from "./model-pbx";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { checkOwed } from "./model-resume";
import { type Interval, LONG_CUT_MS, type World } from "./model-world";

/** The longest backoff (60 s) and a little: a watched extension may wait that long after a failure. */
export const MAX_RETRY_MS = 61_000;

const ENDING = new Set(["Busy", "No Answer"]);

/** The poll loop's pause after an early empty answer (1 s), and a little. */
const IDLE_GAP_MS = 1_200;


export interface Coverage {
  /** Watched extensions with no open request and no excuse. */
  unpolled: string[];
  /** Watched extensions waiting for a retry after a failure. */
  backingOff: Set<string>;
  /** Watched extensions held back by a request of the hub that hangs or waits for its retry. */
  stalled: Set<string>;
  /** Watched extensions in a request that is open and not hung. */
  healthy: Set<string>;
  hung: boolean;
  /**
   * Watched extensions whose last held poll (timeOut > 0) got no answer by the client's deadline, or was cut short by an
   * idle limit below the floor: a node may show failing while no held poll has answered since, also after a quick
   * check's answer (held-polls.ts).
   * Which loop polled which is not visible from outside (the hub shows one status), so any such excuses every node.
   */
  unproven: Set<string>;
}

export function coverage(world: World): Coverage {
  const open = world.pbx.openRequests(world.gen);
  const result: Coverage = {
    unpolled: [], backingOff: new Set(), stalled: new Set(), healthy: new Set(), hung: open.some((r) => r.hung), unproven: new Set(),
  };
  const at = now();
  const recent = (r: RequestRecord | undefined): boolean => r !== undefined && at - (r.closedAt ?? at) <= MAX_RETRY_MS;
  // A poll an intermediary cut after holding it long (7.5 s or more, so that a timeOut of at least 5 s can be learned
  // below it) is no PBX failure (issue 15, item 3): the hub must poll again at once and stay listening, so such a cut
  // excuses nothing. A cut after a short hold is a failure like any other: retried after a pause, shown as failing.
  const longCut = (r: RequestRecord | undefined): boolean => r?.outcome === "cut" && (r.closedAt ?? 0) - r.openedAt >= LONG_CUT_MS;
  const retrying = (r: RequestRecord | undefined): boolean =>
    recent(r) && (r?.outcome === "fault" || r?.outcome === "timeout" || (r?.outcome === "cut" && !longCut(r)));
  // A loop polls one request at a time: while one of its requests hangs, or it waits to retry a failed one (which may
  // have asked for only some of its extensions, e.g. a current-state read of one just added), its other extensions
  // wait too. Which loop made a request is not visible from outside, so any such wait excuses every extension.
  const failed = world.pbx.requests.filter((r) => r.gen === world.gen && retrying(r) &&
    !world.pbx.requests.some((later) => later.gen === world.gen && later.openedAt >= (r.closedAt ?? 0) && later.id !== r.id &&
      later.extensions.some((e) => r.extensions.includes(e))));
  const anyFailure = world.pbx.requests.some((r) => r.gen === world.gen && retrying(r));
  for (const extension of world.watchedUnion()) {
    // Its last held poll lost (no answer by the deadline) or cut short by an idle limit below the floor: held polls
    // do not get through, whatever the quick checks answer, until one does (held-polls.ts) — also once the limit is
    // gone, which nothing outside shows before then (seed -1925261669).
    const lastHeld = lastClosed(world, extension, true);
    if (lastHeld?.outcome === "timeout" || (lastHeld?.outcome === "cut" && !longCut(lastHeld))) result.unproven.add(extension);
    const mine = open.filter((r) => r.extensions.includes(extension));
    if (mine.length > 0) {
      if (mine.every((r) => !r.hung)) result.healthy.add(extension);
      continue;
    }
    const last = lastClosed(world, extension);
    // After an empty answer that looked early the loop pauses 1 s (idleGapMs) by design, e.g. after the wall clock
    // stepped back during a hold, for a loop that measures on it.
    const pausing = last?.outcome === "answer" && at - (last.closedAt ?? at) <= IDLE_GAP_MS;
    // A loop backing off keeps its extensions waiting, new ones too, whatever was polled since by other loops (a
    // chunk made for an add): fine while the nodes say so (failing), never under a green dot.
    const shownFailing = anyFailure && world.watchers(extension).some((n) => n.statuses.at(-1)?.state === "failing");
    if (retrying(last)) result.backingOff.add(extension);
    else if (pausing || !world.loaded) result.stalled.add(extension); // the polls wait for the position being read
    else if (result.hung || failed.length > 0 || shownFailing) result.stalled.add(extension);
    else result.unpolled.push(extension);
  }
  return result;
}

function lastClosed(world: World, extension: string, held = false): RequestRecord | undefined {
  for (let i = world.pbx.requests.length - 1; i >= 0; i--) {
    const r = world.pbx.requests[i];
    // Our own abort (an extension added, a node gone) says nothing on whether held polls get through (seed 1930192847).
    if (held && (r.timeOut === 0 || r.outcome === "aborted")) continue;
    if (r.gen === world.gen && r.closedAt !== undefined && r.extensions.includes(extension)) return r;
  }
  return undefined;
}

/** Lets everything due happen: small steps of fake time until no request is opened, closed or answered for 300 ms. */
export async function settle(world: World, maxMs = 3000): Promise<void> {
  await world.clock.tickAsync(0);
  let quiet = 0;
  for (let elapsed = 0; elapsed < maxMs; elapsed += 100) {
    const before = world.pbx.activity;
    await world.clock.tickAsync(100);
    quiet = world.pbx.activity === before && !world.pbx.answersDue ? quiet + 1 : 0;
    if (quiet >= 3 && coverage(world).unpolled.length === 0) return;
  }
}

export function checkAll(world: World): void {
  const cover = coverage(world);
  const watched = world.watchedUnion();
  const nodesOf = (extension: string): string => world.watchers(extension).map((n) => n.id).join(",");
  for (const extension of cover.unpolled) {
    const last = lastClosed(world, extension);
    const why = last ? `its last request #${last.id} ended: ${last.outcome}` : "no request ever asked for it";
    world.violation(`${extension} is watched (by ${nodesOf(extension)}) but no request polls it (${why})`);
  }
  const open = world.pbx.openRequests(world.gen);
  if (open.length > world.hub.pollLoops.length) {
    world.violation(`${open.length} requests in flight for ${world.hub.pollLoops.length} poll loop(s): ${open.map((r) => `#${r.id} [${r.extensions.join(" ")}]`).join(", ")}`);
  }
  for (const r of open) {
    const extra = r.extensions.filter((e) => !watched.has(e));
    if (extra.length > 0) world.violation(`request #${r.id} polls ${extra.join(",")}, which no node watches`);
  }
  checkStatuses(world, cover);
  checkFinalStates(world, cover);
  checkOwed(world, cover);
}

function checkStatuses(world: World, cover: Coverage): void {
  if (cover.hung) return; // a request that hangs: the hub cannot know yet
  const allPolled = cover.unpolled.length === 0 && cover.backingOff.size === 0 && cover.stalled.size === 0;
  for (const node of world.nodes.values()) {
    if (node.watched.length === 0) continue; // whatever the hub says is fine (the node says "no extensions")
    const state = node.statuses.at(-1)?.state ?? "(none)";
    const failing = node.watched.filter((e) => cover.backingOff.has(e));
    if (failing.length > 0 && state !== "failing") {
      world.violation(`${node.id} shows ${state} while ${failing.join(",")} waits for a retry after a failure`);
    } else if (allPolled && state !== "listening" && !(state === "failing" && cover.unproven.size > 0)) {
      world.violation(`${node.id} shows ${state} while all its extensions are polled and nothing fails`);
    }
  }
}

function checkFinalStates(world: World, cover: Coverage): void {
  const epoch = world.pbx.epoch;
  for (const node of world.nodes.values()) {
    for (const [extension, interval] of node.intervals) {
      if (!cover.healthy.has(extension)) continue;
      const since = interval.sync.get(epoch);
      if (since === undefined) continue;
      for (const leg of world.pbx.legs) {
        if (leg.extension !== extension || leg.epoch !== epoch) continue;
        if (leg.endedAt !== undefined && leg.endedAt <= since) continue;
        const got = interval.got.get(leg.id) ?? [];
        const have = got.at(-1) ?? interval.prev.get(leg.id);
        const want = leg.history.length - 1;
        if (have === want) continue;
        // Busy / No Answer end a leg for the hub (CallStateTable's terminal states), so a newcomer served from the
        // table does not get a leg in that state, where a current-state read would list it: by design, the Hungup that
        // follows still reaches it. Only a node that had the leg since it joined must have its latest state.
        if (got.length === 0 && ENDING.has(leg.history[want].status)) continue;
        const had = have === undefined ? "nothing" : leg.history[have].status;
        const why = interval.expect.length > 0 ? ` [${interval.expect.join("; ")}]` : "";
        world.violation(`${node.id} has ${had} for ${extension}:${leg.id} but the PBX has ${leg.history[want].status} [got: ${names(leg, got)}; history: ${names(leg, leg.history.map((_, i) => i))}]${why}`);
      }
    }
  }
}

/**
 * "every": a msg is each later change, none skipped; what is wrong with `index` as the next state a node got on `leg`
 * (after `got` on this watch, `initial`: a current state), if anything.
 */
export function skippedStates(leg: Leg, interval: Interval, got: readonly number[], index: number, initial: boolean): string | undefined {
  if (got.length > 0) return index === got[got.length - 1] + 1 ? undefined : `skipped states after ${leg.history[got[got.length - 1]].status} [${names(leg, got)}]`;
  if (initial) return undefined;
  const sync = interval.sync.get(leg.epoch);
  if (leg.epoch > 0 && (sync === undefined || leg.createdAt < sync)) return undefined; // a restart the hub could not see yet
  // Nothing from before the node id began this watch (a state made while it watched something else is not owed).
  const atStart = leg.at.filter((t) => t <= interval.chainT0).length - 1;
  const base = Math.max(interval.prev.get(leg.id) ?? interval.joinIndex.get(leg.id) ?? -1, atStart);
  // A node that joins while a leg is Busy / No Answer is not replayed it (the table holds it as ended: see
  // checkFinalStates); its first state after that may be the Hungup that follows.
  const skipped = leg.history.slice(base + 1, index);
  if (skipped.length > 0 && skipped.every((state) => ENDING.has(state.status))) return undefined;
  return index > base + 1 ? "its first state here, but states before it were not sent" : undefined;
}

/**
 * What is wrong with an end the client made up for a leg a read no longer listed, if anything: sound only for a leg
 * that died with a PBX restart or ended (its end in a gap the client skipped), as a Hungup of one of its states. It is
 * no state of the leg's history.
 */
export function vanishedEnd(leg: Leg, event: CallEvent): string | undefined {
  if (!leg.dropped && leg.endedAt === undefined) return "vanished, yet the PBX still has the call";
  const asHungup = leg.history.some((data) => indexOf({ ...leg, history: [{ ...data, status: "Hungup" }] }, event.data) === 0);
  return asHungup ? undefined : "vanished, but not a Hungup of a state the leg had";
}
