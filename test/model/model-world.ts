/**
 * The world the model-based hub tests act on: a ModelPbx, the current SubscriptionHub "process" (a generation; a kill
 * starts the next one), its subscribe nodes, the store its position is kept in (model-store.ts, written through the
 * project's ContextPosition), and what each node's flow received. The checks on it are in model-checks.ts; the
 * commands in hub.model.test.ts; what a kill must not lose, in model-resume.ts.
 */
import type { SinonFakeTimers } from "sinon";
import { type ContextPosition, READ_FOR_MS } from "../../nodes/lib/poll/context-position";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { type HubPosition, type HubStatus, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { LateNodes } from "./model-late";
import { indexOf, lastAnswer, ModelPbx, type ModelPbxOptions, names, now, type RequestRecord } from "./model-pbx";
import { skippedStates, vanishedEnd } from "./model-checks";
import { awaitedWatch, carryAcrossKill, continuation, durableWatchers, hadAcrossKill, type KillReference, Receipts } from "./model-resume";
import { ModelStore, type StoreParams, type WriteFacts } from "./model-store";

/** A cut after at least this hold is an idle limit the hub must learn and poll under (nodes/lib/poll/hold-limit.ts). */
export const LONG_CUT_MS = 7_500;

/** One watch of one extension by one node instance: from a join to a leave. */
export interface Interval {
  extension: string;
  t0: number;
  /** Epoch → when the node could first know this extension's calls in that epoch (see model-checks.ts). */
  sync: Map<number, number>;
  /** Each leg's index when the interval began (absent: the leg did not exist). */
  joinIndex: Map<string, number>;
  /** Per leg: the history indices received, in order. */
  got: Map<string, number[]>;
  /** A continuation of earlier instances (a deploy or a resumed restart): what they had, per leg. */
  prev: Map<string, number>;
  /** When the node id began watching the extension, through deploys and kills (the chain's first join). */
  chainT0: number;
  /**
   * After a kill that must lose nothing here (model-resume.ts): from when, and in which PBX epoch, every change on
   * the extension must reach the flow (changes made while Node-RED was down included).
   */
  owed?: { from: number; epoch: number };
  /** The fixes of issue 23 that guard this interval's expectations (named in violations, see model-resume.ts). */
  expect: string[];
}

export interface NodeInstance {
  id: string;
  gen: number;
  configured: string[];
  watched: string[];
  timeoutSec: number;
  alive: boolean;
  intervals: Map<string, Interval>;
  /** Per leg: the highest index this instance received. */
  max: Map<string, number>;
  statuses: HubStatus[];
  events: number;
}

export interface NodeLayout { id: string; extensions: string[]; timeoutSec: number }

/** Per extension: what the instances watching it had (per leg, the highest index) and when they could first know it. */
export type Continuation = Map<string, Carried>;

export interface Carried {
  legs: Map<string, number>;
  /** When the earlier instances could first know the extension's calls in this epoch (Interval.sync). */
  since: number | undefined;
  /** Per node id: its own watch of the extension, for the instance of the same id that takes over. */
  chains: Map<string, Chain>;
}

export interface Chain {
  t0: number;
  since: number | undefined;
  owed: { from: number; epoch: number } | undefined;
  expect: string[];
  /** Set at a kill: the durable position may hold a cursor of an earlier epoch of the PBX for the extension. */
  stale?: boolean;
}

export interface Stats {
  events: number;
  redelivered: number;
  kills: number;
  requests: number;
}

/**
 * How long a restarted process may wait for its position before it must poll without it: the README's "a failing
 * store is retried for 3 minutes" (READ_FOR_MS, a deadline of its own, not the sum of the pauses between reads).
 */
export const MAX_LOAD_MS = READ_FOR_MS + 500;

export class World {
  readonly pbx: ModelPbx;
  readonly store: ModelStore;
  gen = 1;
  hub: SubscriptionHub;
  writer: ContextPosition;
  /** When the last subscriber left the hub, if none has come since; `dropPending`: released meanwhile. */
  private parkedAt: number | undefined;
  private dropPending = false;
  /** The hub has its position (read, or none to read): until then its polls wait. */
  loaded = true;
  nodes = new Map<string, NodeInstance>();
  readonly violations: string[] = [];
  /** What each node id's flow received, numbered (model-resume.ts). */
  readonly receipts = new Receipts();
  /** What the last kill left: the re-send bound and the extensions it applies to (model-resume.ts). */
  kill: KillReference | undefined;
  /**
   * Who the durable position the current process reads says watched each extension (model-resume.ts,
   * durableWatchers): a node id that registers only after the start (a join, a deploy) is, for the product, the same
   * flow that position names (nothing tells a node deployed away and back from one that never left), so what that flow
   * had got by then counts as had, as for the nodes that start with the process. Also when that position cannot carry
   * on (its cursor of an epoch the hub could not tell apart, seed -413942774): the product restores its legs as sent
   * all the same, and the states counted are ones the flow did get.
   */
  private resumedWatchers: { watchers: ReturnType<typeof durableWatchers> } | undefined;
  /**
   * Per extension, the PBX epoch of the cursor the current process holds (from its own answers, else from the durable
   * position it started from; -1: a cursor of an unknown epoch, read after a restart the hub could not see).
   */
  private cursorEpochs = new Map<string, number>();
  /** The epoch of the latest cursor the current process (or the position it started from) had. */
  private lastEpoch: number | undefined;
  /** The epoch of the current process's own latest known answer. */
  private ownEpoch: number | undefined;
  /** Extensions the current process's polls had an answer for (while watched). */
  private answeredExtensions = new Set<string>();
  /**
   * Extensions the current process may read from its saved position's cursor (all it watches when it started from a
   * durable position that can carry on: whether that position names them is the hub's business, and one that does not
   * is read from its cursor too), until a current-state read of them.
   */
  private cursorServed = new Set<string>();
  /** What the durable position the current process started from covered (WriteFacts.covers). */
  private inheritedCovers: Record<string, number> = {};
  /** Per extension, for the current generation: when the hub first knew its calls in an epoch. */
  hubSync = new Map<string, { epoch: number; at: number }>();
  readonly stats: Stats = { events: 0, redelivered: 0, kills: 0, requests: 0 };
  /** Per node id, per leg: the highest index any earlier instance received (for counting re-deliveries). */
  private readonly history = new Map<string, Map<string, number>>();
  readonly log: string[] = [];
  readonly late = new LateNodes(); // nodes announced at a restart that register later (model-late.ts)
  /** Extensions whose cursor the current process holds only from the position it started from (no answer yet). */
  private fromStart = new Set<string>();
  /** Commands run so far. */
  commands = 0;

  constructor(readonly clock: SinonFakeTimers, options: ModelPbxOptions, readonly maxExtenBytes: number, store: StoreParams) {
    this.pbx = new ModelPbx(options);
    this.pbx.onAnswer = (record, response) => this.answered(record, response.seq);
    this.pbx.onOpen = (record) => this.opened(record);
    this.store = new ModelStore(store, (gen) => this.writeFacts(gen), () => this.pbx.epoch);
    this.writer = this.store.writerFor(this.gen, this.warn(this.gen));
    this.hub = this.newHub(undefined);
  }

  private warn(gen: number): (message: string) => void {
    return (message) => this.log.push(`warn(gen ${gen}): ${message}`);
  }

  private newHub(position: HubPosition | Promise<HubPosition | undefined> | undefined): SubscriptionHub {
    const gen = this.gen;
    const hub = new SubscriptionHub(this.pbx.apiFor(gen), {
      position,
      maxExtenBytes: this.maxExtenBytes,
      random: () => 0.5,
      onWarning: this.warn(gen),
      store: this.writer,
    });
    this.loaded = !(position instanceof Promise);
    if (!this.loaded) void hub.ready().then(() => gen === this.gen && (this.loaded = true));
    return hub;
  }

  /** What the world knows when the hub of `gen` writes its position (model-store.ts, WriteFacts). */
  private writeFacts(gen: number): Omit<WriteFacts, "gen" | "epoch" | "at"> {
    const epoch = this.pbx.epoch;
    const carries = gen === this.gen && this.lastEpoch === epoch;
    const own = gen === this.gen && this.ownEpoch === epoch;
    const covers: Record<string, number> = {};
    for (const extension of new Set([...this.answeredExtensions, ...Object.keys(this.inheritedCovers)])) {
      covers[extension] = this.answeredExtensions.has(extension) ? this.receipts.serial : this.inheritedCovers[extension];
    }
    return {
      serial: this.receipts.serial, loaded: gen === this.gen && this.loaded, carries, inherited: carries && !own, covers,
      cursorEpochs: Object.fromEntries(this.cursorEpochs), lastEpoch: this.lastEpoch,
      watching: gen === this.gen ? Object.fromEntries([...this.nodes.values()].map((n) => [n.id, [...n.watched]])) : {},
      awaitedWatching: gen === this.gen ? this.late.awaitedWatching() : {},
      fromStart: gen === this.gen ? [...this.fromStart].filter((e) => this.cursorEpochs.has(e)) : [],
    };
  }

  violation(text: string): void {
    this.violations.push(`[t=${now()}] ${text}`);
  }

  watchers(extension: string): NodeInstance[] {
    return [...this.nodes.values()].filter((n) => n.alive && n.watched.includes(extension));
  }

  watchedUnion(): Set<string> {
    const all = new Set<string>();
    for (const node of this.nodes.values()) for (const e of node.watched) all.add(e);
    return all;
  }

  // ---- node lifecycle ----

  register(layout: NodeLayout, continuation?: Continuation, had?: Map<string, number>): void {
    // Parked (no subscriber) for longer than its 60 s, the hub starts afresh (docs/design.md, "Sharing"): no cursor.
    if (this.parkedAt !== undefined && this.loaded && now() - this.parkedAt > 60_000) {
      [this.lastEpoch, this.ownEpoch, this.cursorEpochs, this.answeredExtensions] = [undefined, undefined, new Map(), new Set()];
      [this.inheritedCovers, this.hubSync] = [{}, new Map()];
    }
    this.parkedAt = undefined;
    const node: NodeInstance = {
      id: layout.id, gen: this.gen, configured: [...layout.extensions], watched: [], timeoutSec: layout.timeoutSec,
      alive: true, intervals: new Map(), max: new Map(), statuses: [], events: 0,
    };
    this.nodes.set(layout.id, node);
    this.join(node, layout.extensions, continuation);
    had ??= hadAcrossKill(this.receipts, (leg) => this.pbx.legById(leg)?.extension, [layout], () => undefined, () => false,
      this.resumedWatchers).get(layout.id);
    for (const [leg, index] of had ?? []) {
      const interval = node.intervals.get(this.pbx.legById(leg)?.extension ?? "");
      if (interval) interval.prev.set(leg, Math.max(index, interval.prev.get(leg) ?? -1));
    }
    this.hub.register(layout.id, {
      extensions: [...layout.extensions],
      timeoutSec: layout.timeoutSec,
      onEvent: (event) => this.received(node, event),
      onStatus: (status) => {
        if (!node.alive || node.gen !== this.gen) return;
        node.statuses.push(status);
        // A poll an intermediary cut after a long hold is no failure (issue 15, item 3): it must never turn a node red.
        if (status.state === "failing" && status.error.httpStatus === 504) {
          const last = [...this.pbx.requests].reverse().find((r) => r.gen === this.gen && r.outcome === "cut");
          if (last && last.closedAt === now() && (last.closedAt ?? 0) - last.openedAt >= LONG_CUT_MS) {
            this.violation(`${node.id} shows failing (${status.error.message}) after a poll cut after ${(last.closedAt ?? 0) - last.openedAt} ms held`);
          }
        }
      },
    });
    if (this.dropPending) this.dropUnwatched(); // the parked hub's reconfigure drops what nobody took back
    this.dropPending = false;
  }

  updateExtensions(id: string, extensions: string[]): void {
    const node = this.nodes.get(id);
    if (!node) return;
    const removed = node.watched.filter((e) => !extensions.includes(e));
    const added = extensions.filter((e) => !node.watched.includes(e));
    this.leave(node, removed);
    this.join(node, added);
    node.watched = [...extensions];
    this.hub.updateExtensions(id, extensions);
  }

  /** The node closes (deregister); resolves once the hub's promise does. */
  async deregister(id: string): Promise<void> {
    const node = this.nodes.get(id);
    if (!node) return;
    this.leave(node, node.watched, true);
    node.watched = [];
    node.alive = false;
    this.remember(node);
    this.nodes.delete(id);
    if (this.nodes.size === 0) this.parkedAt = now();
    await this.wait(this.hub.deregister(id), `deregister(${id})`);
  }

  /**
   * Node-RED dies: no close() reaches anything, its store writes in flight never land. `down` acts while it is down
   * (calls go on); then a new process starts from what the store holds. What it must deliver is decided from what
   * became durable, when, and what the flows had then (model-resume.ts), not from what the hub wrote. The nodes still
   * waiting to register start again; `late` (an id) announces itself and registers later (model-late.ts).
   */
  async killAndResume(down?: () => Promise<void>, late?: string): Promise<void> {
    this.stats.kills += 1;
    const layouts = [...this.nodes.values()].map((n) => ({ id: n.id, extensions: n.configured, timeoutSec: n.timeoutSec }));
    for (const node of this.nodes.values()) this.remember(node);
    const before = continuation(this.nodes.values(), this.pbx.epoch);
    layouts.push(...this.late.atKill(before, this.pbx.epoch));
    this.late.reset();
    this.pbx.kill(this.gen);
    this.store.kill(this.gen);
    for (const node of this.nodes.values()) node.alive = false;
    this.nodes = new Map();
    await down?.();
    this.gen += 1;
    this.hubSync = new Map();
    [this.parkedAt, this.dropPending] = [undefined, false];
    this.ownEpoch = undefined;
    this.answeredExtensions = new Set();
    const fault = this.store.start(this.gen);
    const durable = this.store.durable?.facts;
    const { carried, reference, inherits } = carryAcrossKill(before, durable, fault, this.pbx.epoch);
    this.kill = reference;
    // What the new process will read (unless its read stalls for good), whatever the reference makes of it.
    const read = fault !== "stalls" ? durable : undefined;
    this.cursorEpochs = new Map(Object.entries(read?.cursorEpochs ?? {}));
    this.fromStart = new Set(this.cursorEpochs.keys());
    this.lastEpoch = read?.lastEpoch;
    this.inheritedCovers = inherits && durable ? { ...durable.covers } : {};
    this.cursorServed = new Set(inherits ? layouts.flatMap((l) => l.extensions) : []);
    const resumable = inherits && durable !== undefined ? durable : undefined;
    this.resumedWatchers = read && { watchers: durableWatchers(read) };
    const had = hadAcrossKill(this.receipts, (leg) => this.pbx.legById(leg)?.extension, layouts, (id) => this.history.get(id),
      (id, extension) => carried.has(extension) || before.get(extension)?.chains.has(id) === true, this.resumedWatchers);
    this.writer = this.store.writerFor(this.gen, this.warn(this.gen));
    this.hub = this.newHub(this.store.positionFor(this.writer));
    for (const l of layouts) {
      if (l.id !== late) this.register(l, carried, had.get(l.id));
      else this.hub.expect(l.id); // as watch-node.ts does while its kept list is read
    }
    for (const l of layouts) if (l.id === late) this.late.announce(l, before, carried, had.get(l.id), this.pbx.epoch, awaitedWatch(resumable, l.id));
    this.releaseLingering();
  }

  /** A node announced at the restart registers now (or closes: `close`), with what it still carries on (model-late.ts). */
  async startLate(id: string, close = false): Promise<void> {
    const parked = this.parkedAt !== undefined && this.loaded && now() - this.parkedAt > 60_000; // as register() resets
    const taken = this.late.take(id, this.pbx.epoch, parked);
    if (!taken) return;
    if (close) await this.wait(this.hub.deregister(id), `deregister(${id})`);
    else this.register(taken.start.layout, taken.start.carried, taken.start.had);
    if (taken.releases) this.released();
  }

  /**
   * flows:started: the hub drops the extensions nobody took back, and their cursors, once the announced nodes are in (or
   * its wait is over: start-gate.ts); a parked hub (no subscriber) keeps its loops until the next subscriber registers.
   */
  releaseLingering(): void {
    const waits = this.late.flowsStarted(() => this.released()); // before the hub's timer of the same deadline
    this.hub.releaseLingering();
    if (!waits) this.released();
  }

  private released(): void {
    this.dropPending = this.nodes.size === 0;
    if (!this.dropPending) this.dropUnwatched();
  }

  private dropUnwatched(): void {
    const watched = this.watchedUnion();
    for (const extension of [...this.cursorEpochs.keys()]) if (!watched.has(extension)) this.cursorEpochs.delete(extension);
    // No longer in what is written (a late node's, once the wait is over): no bound on re-sends there.
    for (const extension of Object.keys(this.inheritedCovers)) if (!watched.has(extension)) delete this.inheritedCovers[extension];
  }

  /** Lets time run until the hub has its position (a violation past MAX_LOAD_MS: its polls would wait for ever). */
  async awaitLoaded(): Promise<void> {
    for (let waited = 0; !this.loaded && waited < MAX_LOAD_MS; waited += 500) await this.clock.tickAsync(500);
    if (!this.loaded) this.violation(`the restarted hub still waits for its position after ${MAX_LOAD_MS / 1000} s: its polls never start`);
  }

  private remember(node: NodeInstance): void {
    const legs = this.history.get(node.id) ?? new Map<string, number>();
    for (const [leg, index] of node.max) legs.set(leg, Math.max(index, legs.get(leg) ?? -1));
    this.history.set(node.id, legs);
  }

  private join(node: NodeInstance, extensions: readonly string[], continuation?: Continuation): void {
    this.late.saw(extensions);
    for (const extension of extensions) {
      if (node.watched.includes(extension) && node.intervals.has(extension)) continue;
      const at = now();
      const joinIndex = new Map<string, number>();
      for (const leg of this.pbx.legs) if (leg.extension === extension) joinIndex.set(leg.id, leg.history.length - 1);
      const interval: Interval = {
        extension, t0: at, sync: new Map(), joinIndex, got: new Map(), prev: new Map(), chainT0: at, expect: [],
      };
      const carried = continuation?.get(extension);
      if (carried) {
        for (const [leg, index] of carried.legs) interval.prev.set(leg, index);
        const chain = carried.chains.get(node.id);
        if (chain) {
          interval.chainT0 = chain.t0;
          interval.owed = chain.owed;
          interval.expect = chain.expect;
        }
        // A continuation must have had everything since its predecessors could first know it (unless what carries it
        // on may hold a cursor of the PBX's previous life: model-resume.ts).
        if (carried.since !== undefined && !chain?.stale) interval.sync.set(this.pbx.epoch, carried.since);
      } else if (this.hubSync.get(extension)?.epoch === this.pbx.epoch && this.watchers(extension).length > 0) {
        interval.sync.set(this.pbx.epoch, at); // the hub polls it already and knows its calls: from now on
      }
      node.intervals.set(extension, interval);
    }
    for (const extension of extensions) if (!node.watched.includes(extension)) node.watched.push(extension);
  }

  /** `lingering`: a deregister, after which the hub keeps polling the extension until releaseLingering(). */
  private leave(node: NodeInstance, extensions: readonly string[], lingering = false): void {
    for (const extension of extensions) {
      node.intervals.delete(extension);
      node.watched = node.watched.filter((e) => e !== extension);
      if (this.watchers(extension).length > 0) continue;
      this.hubSync.delete(extension);
      // Dropped from the polls (after lingering, at the latest), and from the position: no bound on re-sends there.
      this.answeredExtensions.delete(extension);
      delete this.inheritedCovers[extension];
      if (!lingering) this.cursorEpochs.delete(extension); // its cursor is gone with it (a re-add reads it afresh)
    }
  }

  // ---- what the PBX and the hub report ----

  private opened(record: RequestRecord): void {
    this.stats.requests += 1;
    if (record.gen !== this.gen) return;
    for (const other of this.pbx.openRequests(this.gen)) {
      if (other.id === record.id) continue;
      const shared = other.extensions.filter((e) => record.extensions.includes(e));
      if (shared.length > 0) {
        this.violation(`two requests in flight for ${shared.join(",")}: #${other.id} [${other.extensions}] last=${other.last} and #${record.id} [${record.extensions}] last=${record.last}`);
      }
    }
  }

  private answered(record: RequestRecord, seq: number): void {
    if (record.gen !== this.gen) return;
    // A read from a cursor: that cursor now covers every change the flows got there (a current-state read may be a
    // check that leaves the cursor where it was).
    if (record.last !== 0) for (const extension of record.extensions) if (this.watchers(extension).length > 0) this.answeredExtensions.add(extension);
    // The cursor this answer hands out is the epoch's own when it answers a current-state read, or when everything the
    // hub had heard about these extensions came from this epoch. Otherwise the answer has a lower seq (the hub must
    // read again) or comes after a restart whose counter has caught up with the hub's cursor, which the hub cannot
    // see (the numbers alone do not say which epoch a cursor is from): either way it does not know this epoch's calls.
    // A process's first cursor comes from the position it started from: known when that durable position was
    // written in this epoch (model-resume.ts), whatever earlier processes heard since.
    for (const e of record.extensions) if (record.last !== 0 || !this.cursorEpochs.has(e)) this.fromStart.delete(e);
    record.known = record.last === 0 || (seq >= record.last && record.extensions.every((e) => {
      const before = lastAnswer(this.pbx.requests, e, record);
      if (!before) return this.cursorEpochs.get(e) === this.pbx.epoch;
      return before.known === true && before.answerEpoch === this.pbx.epoch;
    }));
    const epoch = this.pbx.epoch;
    if (!record.known) {
      if (record.last !== 0) for (const extension of record.extensions) this.cursorEpochs.set(extension, -1);
      return;
    }
    // A current-state read may be a check that leaves the cursor where it was: it sets only a cursor not held yet.
    for (const extension of record.extensions) if (record.last !== 0 || !this.cursorEpochs.has(extension)) this.cursorEpochs.set(extension, epoch);
    this.lastEpoch = epoch;
    this.ownEpoch = epoch;
    const at = now();
    for (const extension of record.extensions) {
      // Read from a saved cursor, not for its current state: the calls in progress before that cursor do not come.
      if (this.cursorServed.has(extension) && record.last !== 0) continue;
      this.cursorServed.delete(extension);
      const current = this.hubSync.get(extension);
      if (record.last !== 0 && current?.epoch === epoch) continue;
      if (current?.epoch !== epoch) this.hubSync.set(extension, { epoch, at });
      for (const node of this.watchers(extension)) {
        const interval = node.intervals.get(extension);
        if (interval && !interval.sync.has(epoch)) interval.sync.set(epoch, at);
      }
    }
  }

  private received(node: NodeInstance, event: CallEvent): void {
    if (!node.alive || node.gen !== this.gen) return;
    this.stats.events += 1;
    node.events += 1;
    const leg = this.pbx.legById(event.data.uniqueCallId);
    const what = `${node.id} got ${event.extension}:${event.data.uniqueCallId}:${event.data.status}${event.initial ? " (initial)" : ""}`;
    const interval = node.intervals.get(event.extension);
    if (!interval || !node.watched.includes(event.extension)) return this.violation(`${what}: it does not watch ${event.extension}`);
    if (!leg || leg.extension !== event.extension) return this.violation(`${what}: no such leg on that extension`);
    if (event.vanished) {
      const wrong = vanishedEnd(leg, event);
      return wrong ? this.violation(`${what}: ${wrong}`) : undefined;
    }
    const index = indexOf(leg, event.data);
    if (index < 0) return this.violation(`${what}: a state the leg never had`);
    const earlier = this.history.get(node.id)?.get(leg.id);
    if (earlier !== undefined && index <= earlier) this.stats.redelivered += 1;
    const resent = this.receipts.record(node.id, node.gen, leg.id, index, event.initial, event.initial && index === earlier,
      event.extension, this.kill);
    if (resent) this.violation(`${what}: ${resent}`);
    const got = interval.got.get(leg.id) ?? [];
    const max = node.max.get(leg.id) ?? -1;
    const firstHere = got.length === 0;
    if (index < max) this.violation(`${what}: older than ${leg.history[max].status} (state ${max}) it already got [${names(leg, got)}]`);
    else if (index === max && !(firstHere && event.initial)) this.violation(`${what}: a duplicate [${names(leg, got)}]`);
    else if (this.pbx.options.style === "every") {
      const skipped = skippedStates(leg, interval, got, index, event.initial);
      if (skipped) this.violation(`${what}: ${skipped}`);
    }
    got.push(index);
    interval.got.set(leg.id, got);
    node.max.set(leg.id, Math.max(max, index));
  }

  /** The node id's flow (any instance) has received this state of the leg. */
  flowHad(id: string, leg: string, index: number): boolean {
    return this.receipts.had(id, leg, index);
  }

  /** Waits for a promise while the fake clock runs. */
  async wait(promise: Promise<unknown>, what: string): Promise<void> {
    let done = false;
    void promise.then(() => (done = true), () => (done = true));
    for (let i = 0; i < 200 && !done; i++) await this.clock.tickAsync(i < 20 ? 0 : 10);
    if (!done) this.violation(`${what} never resolved`);
  }
}
