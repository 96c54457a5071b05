/**
 * One owner of the long polls of a config node, shared by every subscribe and presence node that uses it (the
 * register/deregister pattern of Node-RED's MQTT broker node). Each subscriber gets only its own extensions' events.
 *
 * The extensions of all subscribers are polled in as few long polls as the URL length allows: usually one. A too long
 * `exten` list is split into chunks, each polled by its own PollLoop with its own `seq` (never shared: each poll sends
 * back the `seq` of its own previous answer). Chunks are stable: an extension stays in its chunk while watched, a new
 * one goes into the first chunk with room, an empty chunk stops: adding or removing a node keeps the others' cursors.
 *
 * An extension whose last subscriber leaves lingers in its poll until the deploy is over (`releaseLingering`, on flows:
 * started) or at most `parkMs` (60 s), its changes kept for the one that takes it back (lingering.ts). One removed at
 * runtime (updateExtensions) leaves at once. No subscriber is sent a state it has already (sent-states.ts).
 *
 * After each answer, and when the watched set changes, the hub's position (each poll's cursors and the last state
 * sent for each leg) goes to a PositionStore; a hub given one at start carries on from it (PollLoop's `resumeFrom`)
 * for the extensions watched when the flows have started (`releaseLingering()`, which waits for the subscribers that
 * announced themselves with `expect`); those added later are read. A position is stored only once every change it
 * covers has reached a subscriber (not while a lingering extension's buffer, a replay or the changes kept for a late
 * subscriber wait): a Node-RED that died before they were handed on would lose them. Nothing is stored before the
 * saved position has been read, and until the loops have carried on from its cursors they stay in what is stored.
 */
import { CallStateTable } from "./call-state-table";
import type { HubOptions, HubPosition, HubStatus, PollHub, Subscriber } from "./hub-types";
import { changedStatus, type Chunk, extenBytes } from "./hub-chunks";
import { CallEvent, LoopStatus, PollLoop, SubscribeApi } from "./poll-loop";
import { EarlyRead } from "./early-read";
import { monotonicNow } from "../monotonic";
import { HoldLimit } from "./hold-limit";
import { LateSubscribers, lateReplay } from "./late-subscribers";
import { SentStates } from "./sent-states";
import { LingeringExtensions } from "./lingering";
import { LastCursor, ResumePoint, ResumeSource } from "./resume-points";
import { PbxLives } from "./pbx-lives";
import { currentEvents, ResumedReads } from "./resumed-reads";
import { StartGate } from "./start-gate";
import { SubscriberStates } from "./subscriber-states";
export type { HubOptions, HubPosition, HubStatus, PollHub, PositionStore, Subscriber } from "./hub-types";
export { MAX_BUFFERED } from "./lingering";
export { extenBytes } from "./hub-chunks";

export class SubscriptionHub implements PollHub {
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly byExtension = new Map<string, Set<Subscriber>>();
  private readonly pendingReplays = new Map<Subscriber, CallEvent[]>();
  private readonly sentStates = new SentStates();
  private chunks: Chunk[] = [];
  private readonly owner = new Map<string, Chunk>();
  private readonly lingering: LingeringExtensions;
  /** One table for all chunks: their extensions are disjoint, and the bound on legs holds per config node. */
  private table: CallStateTable;
  private parkedAt: number | undefined;
  private status: HubStatus = { state: "connecting" };
  private running = false;
  private readonly now: () => number;
  private readonly maxExtenBytes: number;
  /** The saved positions of the start, shared by the chunks' loops (each extension is taken once). */
  private resumeSource: ResumeSource | undefined;
  private readonly states = new SubscriberStates();
  private readonly resumedReads = new ResumedReads<Subscriber>();
  private readonly lastCursor = new LastCursor();
  /** The PBX lives seen, shared by the loops, so that the cursors stored tell two lives apart (pbx-lives.ts). */
  private lives = new PbxLives();
  /** Changes kept for the subscribers the saved position names that have not registered yet (late-subscribers.ts). */
  private readonly late = new LateSubscribers((message) => this.options.onWarning?.(message));
  /** The saved position is still being read: the polls start once it is there, and nothing is stored before. */
  private loading: Promise<void> | undefined;
  private earlyRead: EarlyRead | undefined;
  /** A save asked for while loading: done once the saved position is there. */
  private saveAfterLoad = false;
  /** flows:started has come and the expected subscribers are in: the saved positions keep only what is watched. */
  private retained = false;
  private readonly gate: StartGate;
  private readonly capture = (): HubPosition | undefined => (this.holdsChanges() ? undefined : this.position());
  /** An answer came while changes were held back: store the position once they are handed on. */
  private saveWhenDelivered = false;

  /** One for all chunks: a proxy's idle limit is learned, and said, once. */
  private readonly holdLimit: HoldLimit;

  constructor(private readonly api: SubscribeApi, private readonly options: HubOptions = {}) {
    this.holdLimit = options.holdLimit ?? new HoldLimit();
    // Intervals only (parking, lingering): a wall clock stepped back must not stretch them.
    this.now = options.now ?? monotonicNow;
    this.lingering = new LingeringExtensions({
      parkMs: options.parkMs ?? 60_000,
      now: this.now,
      onWarning: options.onWarning,
      onExpiry: (expired) => {
        if (expired && this.running) this.reconfigure();
        this.savePositionIfDelivered();
      },
    });
    this.table = new CallStateTable({ now: this.now });
    this.maxExtenBytes = options.maxExtenBytes ?? api.subscribeExtenBudget?.() ?? Infinity;
    this.gate = new StartGate((gaveUp) => this.release(gaveUp), options.expectMs);
    const position = options.position;
    if (position instanceof Promise) {
      this.status = { state: "reading" };
      this.resumeSource = new ResumeSource([]);
      this.earlyRead = new EarlyRead(api, () => this.chunks.map((c) => [...c.extensions]), options);
      this.loading = position.catch(() => undefined).then((loaded) => this.loaded(loaded));
    } else if (position) this.restore(position);
  }

  private restore(position: HubPosition): void {
    // The states already sent, so that the PBX repeating one of them does not send it again.
    this.table.restore(position.legs);
    this.resumeSource ??= new ResumeSource([]);
    this.resumeSource.add(position.polls);
    this.lives.restored(position.polls);
    this.resumedReads.restored(position.polls, position.awaiting, this.subscribers, position.watching);
    this.late.restored(position.watching, position.awaiting, this.subscribers);
    this.lastCursor.keep(position.polls);
    this.states.restore(position.subscribers);
    for (const [id, subscriber] of this.subscribers) this.states.handBack(id, subscriber);
  }

  /** The position read asynchronously is there (or none is: then the read taken meanwhile, early-read.ts): the polls may start. */
  private loaded(position: HubPosition | undefined): void {
    this.loading = undefined;
    position = this.earlyRead?.settle(position, this.table, this.watchedNow(), (events) => this.dispatch(events)) ?? position;
    if (position) this.restore(position);
    if (this.retained) this.retainWatched();
    this.status = { state: "connecting" };
    if (this.chunks.length > 0) this.showStatus(this.status);
    if (this.running) for (const chunk of this.chunks) chunk.loop.start();
    if (this.saveAfterLoad) this.savePosition();
  }

  /** Resolves once the saved position given at construction has been read (at once when there was none to read). */
  async ready(): Promise<void> {
    await this.loading;
  }

  /** Where the polls stand (for a PositionStore): the loops' cursors, and the saved ones no loop carried on from yet. */
  position(): HubPosition {
    const polls: ResumePoint[] = [];
    for (const chunk of this.chunks) polls.push(...chunk.loop.resumePoints());
    if (this.resumeSource) polls.push(...this.resumeSource.points(this.retained ? this.watchedNow() : undefined));
    const subscribers = this.states.export(this.subscribers);
    const watching = { ...this.late.watching(), ...Object.fromEntries([...this.subscribers].map(([id, subscriber]) => [id, [...subscriber.extensions]])) };
    const awaiting = this.late.withAwaiting(this.resumedReads.awaiting());
    return { polls: this.lastCursor.keep(polls), legs: this.table.export(), ...awaiting, watching, ...(subscribers ? { subscribers } : {}) };
  }

  /** The loop of the first chunk, if any, and one loop per chunk of extensions (for tests and diagnostics). */
  get pollLoop(): PollLoop | undefined { return this.chunks[0]?.loop; }
  get pollLoops(): readonly PollLoop[] { return this.chunks.map((c) => c.loop); }

  get size(): number { return this.subscribers.size; }

  register(id: string, subscriber: Subscriber): void {
    if (this.subscribers.has(id)) this.detach(id);
    this.resumeOrReset();
    if (!this.loading) this.states.handBack(id, subscriber);
    this.attach(id, subscriber, subscriber.extensions);
    this.reconfigure();
    this.running = true;
    if (!this.loading) for (const chunk of this.chunks) chunk.loop.start();
    this.gate.settled(id);
  }

  /**
   * A subscriber with this id will register once it knows its extensions (read from an asynchronous store): the start
   * waits for it (at most `expectMs`); the changes passed on for its extensions meanwhile are kept (late-subscribers.ts).
   */
  expect(id: string): void {
    if (!this.subscribers.has(id)) this.gate.expect(id);
  }

  /** Changes a subscriber's extensions at runtime: those it gains get their current state, the others carry on. */
  updateExtensions(id: string, extensions: readonly string[]): void {
    const current = this.subscribers.get(id);
    if (!current) return;
    const gained = extensions.filter((e) => !current.extensions.includes(e));
    const kept = (this.pendingReplays.get(current) ?? []).filter((event) => extensions.includes(event.extension)); // unflushed
    const holds = this.resumedReads.take(current);
    this.detach(id, false);
    const next = Object.assign(Object.create(Object.getPrototypeOf(current) as object) as Subscriber, current, {
      extensions: [...extensions],
    });
    this.attach(id, next, gained);
    this.resumedReads.give(next, holds, extensions);
    if (kept.length > 0) {
      const fresh = this.pendingReplays.get(next);
      this.pendingReplays.set(next, [...kept, ...(fresh ?? [])]);
      if (!fresh) setImmediate(() => this.flushReplay(next));
    }
    this.reconfigure();
  }

  private attach(id: string, subscriber: Subscriber, replayFor: readonly string[]): void {
    this.subscribers.set(id, subscriber);
    this.resumedReads.watches(id, subscriber.extensions); // one it dropped, if taken back, is a new watch
    for (const extension of subscriber.extensions) {
      let set = this.byExtension.get(extension);
      if (!set) this.byExtension.set(extension, (set = new Set()));
      set.add(subscriber);
    }
    // Extensions someone already watches: the table holds their current state; hand it to the newcomer (once the read
    // of a resumed one has answered: resumed-reads.ts). A lingering extension: the state when left, then the changes.
    const replay: CallEvent[] = [];
    const known: string[] = [];
    const late = this.late.take(id, subscriber.extensions);
    for (const extension of subscriber.extensions) {
      const wanted = replayFor.includes(extension);
      const loop = this.owner.get(extension)?.loop;
      const held = this.resumedReads.holds(id, extension, loop !== undefined);
      if (wanted && held) this.resumedReads.hold(subscriber, id, extension);
      // One that watched it before the restart carries on from the cursor (given the changes kept, if late: `carried`).
      const carried = late?.get(extension);
      const settled = !held && (carried ? !this.resumedReads.has(extension) : !this.resumedReads.continues(id, extension)) && loop?.isSettled(extension) === true;
      if (wanted && settled) known.push(extension);
      const left = this.lingering.take(extension);
      if (carried) {
        if (wanted) replay.push(...lateReplay(carried, held || !settled ? [] : this.currentOf(extension)));
        continue;
      }
      if (left) {
        if (wanted) replay.push(...left.replay, ...left.buffered);
        continue;
      }
      if (wanted && settled) replay.push(...this.currentOf(extension));
    }
    if (replay.length > 0) {
      // Not from inside the node's constructor: the nodes it is wired to may not exist yet during a deploy.
      this.pendingReplays.set(subscriber, replay);
      setImmediate(() => this.flushReplay(subscriber));
    }
    if (known.length > 0 && subscriber.onCurrentState) {
      setImmediate(() => this.subscribers.get(id) === subscriber && this.announce(known, subscriber));
    }
    // While the saved position is read nothing polls: a node without extensions says so itself.
    if (this.loading ? subscriber.extensions.length > 0 : this.running) subscriber.onStatus(this.status);
  }

  /** The calls in progress on `extension` as the table holds them (initial events). */
  private currentOf(extension: string): CallEvent[] {
    return currentEvents(extension, this.table.activeLegs(extension), this.owner.get(extension)?.loop.sequence ?? 0);
  }

  /** Hands the calls in progress of these extensions (as the table holds them) to their subscribers, or to one. */
  private announce(extensions: readonly string[], only?: Subscriber): void {
    for (const extension of extensions) {
      const seq = this.owner.get(extension)?.loop.sequence ?? 0;
      for (const subscriber of only ? [only] : [...(this.byExtension.get(extension) ?? [])]) {
        if (!subscriber.onCurrentState || !subscriber.extensions.includes(extension)) continue;
        this.flushReplay(subscriber); // the events that led there first
        subscriber.onCurrentState(extension, this.table.activeLegs(extension).map((leg) => ({ extension, ...leg, seq, initial: true })));
      }
    }
  }

  /** Resolves once the shared polls no longer serve this subscriber (at once when others remain). */
  async deregister(id: string): Promise<void> {
    this.late.drop(id);
    this.gate.settled(id);
    if (!this.detach(id)) return;
    this.resumedReads.watches(id, []); // its node is gone: a next one with this id is a new flow, owed calls in progress
    if (this.subscribers.size > 0) {
      this.reconfigure();
      return;
    }
    // Parked: the loops keep their cursors and the table for a while, in case the nodes come back (a redeploy).
    this.parkedAt = this.now();
    this.running = false;
    // Stored as it is now: an answer still on its way is kept for the nodes that come back, and nothing is stored while
    // it is, so a close next (a full deploy, a replica's next term) would carry on from older and send what came since.
    this.savePosition(true);
    await Promise.all(this.chunks.map((c) => c.loop.stop()));
  }

  /** Stops everything: the config node is closing. */
  async close(): Promise<void> {
    this.gate.close();
    this.earlyRead?.close();
    this.lingering.close();
    this.subscribers.clear();
    this.byExtension.clear();
    this.pendingReplays.clear();
    const chunks = this.chunks;
    this.chunks = [];
    this.owner.clear();
    this.running = false;
    await Promise.all(chunks.map((c) => c.loop.stop()));
  }

  /** flows:started: drops the lingering extensions and the saved positions nobody watches, once the `expect`ed are in. */
  releaseLingering(): void {
    this.gate.flowsStarted();
  }

  /** Told each time such a start or deploy is over (presence variables clean up then); returns how to stop. */
  onStarted(listener: () => void): () => boolean {
    this.gate.listeners.add(listener);
    return () => this.gate.listeners.delete(listener);
  }

  /** The deploy or start is over (`gaveUp`: the announced subscribers it stopped waiting for). */
  private release(gaveUp: readonly string[]): void {
    this.retained = true;
    if (!this.loading) this.retainWatched();
    this.late.release(gaveUp);
    if (this.lingering.size > 0) {
      this.lingering.clear();
      if (this.running) this.reconfigure();
    }
    this.savePositionIfDelivered();
  }

  /** flows:started comes before the loops have made their first request: what is watched now may still resume. */
  private retainWatched(): void {
    this.resumeSource?.retainOnly(this.watchedNow());
    this.states.retainOnly(new Set(this.subscribers.keys()));
  }

  private watchedNow(): Set<string> {
    return new Set([...this.byExtension.keys(), ...this.lingering.keys()]);
  }

  private detach(id: string, linger = true): boolean {
    const subscriber = this.subscribers.get(id);
    if (!subscriber) return false;
    this.subscribers.delete(id);
    this.resumedReads.take(subscriber);
    if (linger) this.states.keep(id, subscriber);
    // A replay it was never handed (it left within the tick it came): it has had nothing since it arrived, so the
    // replay is what the next subscriber must get, changes included.
    const pending = this.pendingReplays.get(subscriber);
    this.pendingReplays.delete(subscriber);
    for (const extension of subscriber.extensions) {
      const set = this.byExtension.get(extension);
      set?.delete(subscriber);
      if (set?.size !== 0) continue;
      this.byExtension.delete(extension);
      if (!linger) continue;
      const loop = this.owner.get(extension)?.loop;
      let replay: CallEvent[] = [];
      let buffered: CallEvent[] = [];
      if (pending) {
        replay = pending.filter((event) => event.extension === extension && event.initial);
        buffered = pending.filter((event) => event.extension === extension && !event.initial);
      } else if (loop?.isSettled(extension) && !this.resumedReads.has(extension)) {
        replay = this.currentOf(extension);
      }
      this.lingering.leave(extension, replay, buffered);
    }
    this.savePositionIfDelivered();
    return true;
  }

  /** After a long park the cursors and states may be stale: start afresh. */
  private resumeOrReset(): void {
    const parkMs = this.options.parkMs ?? 60_000;
    // Still reading the saved position: nothing has polled yet, there is nothing stale to drop.
    if (!this.running && !this.loading && this.parkedAt !== undefined && this.now() - this.parkedAt > parkMs) {
      this.chunks = []; // all stopped while parked
      this.owner.clear();
      this.lingering.clear();
      this.table = new CallStateTable({ now: this.now });
      this.status = { state: "connecting" };
      this.resumeSource = undefined;
      this.resumedReads.clear();
      this.lastCursor.forget();
      this.lives = new PbxLives();
      this.states.forget();
    }
    this.parkedAt = undefined;
  }

  private newChunk(): Chunk {
    const chunk: Chunk = { loop: undefined as unknown as PollLoop, extensions: new Set(), bytes: 0, status: { state: "connecting" } };
    chunk.loop = new PollLoop({
      ...this.options,
      holdLimit: this.holdLimit,
      api: this.api,
      table: this.table,
      timeoutSec: 30,
      resumeFrom: this.resumeSource,
      lives: this.lives,
      onAnswer: () => {
        this.lastCursor.note(chunk.loop.sequence, chunk.loop.sequenceLife);
        this.savePosition();
      },
      onEvents: (events) => this.dispatch(events),
      onSnapshot: (extensions) => {
        // Held subscribers first get the calls in progress they were not sent (resumed-reads.ts).
        this.resumedReads.read(extensions, (extension) => this.currentOf(extension), (subscriber) => this.flushReplay(subscriber));
        this.announce(extensions);
      },
      onStatus: (status) => this.onChunkStatus(chunk, status),
    });
    this.chunks.push(chunk);
    return chunk;
  }

  /** Brings the chunks in line with the extensions watched now; extensions that stay never move. */
  private reconfigure(): void {
    const touched = new Set<Chunk>();
    for (const [extension, chunk] of this.owner) {
      if (this.byExtension.has(extension) || this.lingering.has(extension)) continue;
      chunk.extensions.delete(extension);
      chunk.bytes = extenBytes(chunk.extensions);
      this.owner.delete(extension);
      touched.add(chunk);
    }
    for (const extension of this.byExtension.keys()) {
      if (this.owner.has(extension)) continue;
      const cost = encodeURIComponent(extension).length;
      // A chunk always takes at least one extension, whatever the budget.
      let chunk = this.chunks.find((c) => c.extensions.size > 0 && c.bytes + 3 + cost <= this.maxExtenBytes);
      chunk ??= this.chunks.find((c) => c.extensions.size === 0) ?? this.newChunk();
      chunk.extensions.add(extension);
      chunk.bytes = extenBytes(chunk.extensions);
      this.owner.set(extension, chunk);
      touched.add(chunk);
    }
    let timeoutSec = Infinity;
    for (const subscriber of this.subscribers.values()) timeoutSec = Math.min(timeoutSec, subscriber.timeoutSec);
    for (const chunk of [...this.chunks]) {
      if (Number.isFinite(timeoutSec)) chunk.loop.setTimeoutSec(timeoutSec);
      if (chunk.extensions.size === 0) {
        // Its extensions are gone: its cursor is of no use to anyone.
        this.chunks = this.chunks.filter((c) => c !== chunk);
        chunk.loop.setExtensions([]);
        void chunk.loop.stop();
      } else {
        if (touched.has(chunk)) chunk.loop.setExtensions([...chunk.extensions]);
        // A chunk made after the start (a node that began with no extensions, one emptied and filled again by msg, an
        // add past the URL budget) must poll too.
        if (this.running && !this.loading) chunk.loop.start();
      }
    }
    this.refreshStatus();
    // The stored position must not keep an extension nobody watches any more: after a restart, a node that watches it
    // again must get its current state, not carry on from a position whose changes went to a node that has left.
    if (touched.size > 0) this.savePosition();
  }

  /** Failing as soon as any chunk fails; connecting while any chunk connects; else listening. */
  private onChunkStatus(chunk: Chunk, status: LoopStatus): void {
    chunk.status = status;
    if (!this.chunks.includes(chunk)) return;
    // Every failure report goes out (its attempt and delay change); steady states once.
    if (status.state === "failing") this.showStatus(status);
    else this.refreshStatus();
  }

  /** The status the chunks add up to, shown when it changed (e.g. a failing chunk was removed). */
  private refreshStatus(): void {
    const status = this.loading ? undefined : changedStatus(this.chunks, this.status); // "reading" until the position is there
    if (status) this.showStatus(status);
  }

  private showStatus(status: HubStatus): void {
    this.status = status;
    for (const subscriber of this.subscribers.values()) subscriber.onStatus(status);
  }

  private dispatch(events: CallEvent[]): void {
    for (const event of events) {
      this.late.keep(event);
      const subscribers = this.byExtension.get(event.extension);
      if (!subscribers) {
        this.lingering.buffer(event);
        continue;
      }
      for (const subscriber of subscribers) {
        this.flushReplay(subscriber); // the current state first, then what changed since
        this.send(subscriber, event);
      }
    }
  }

  private flushReplay(subscriber: Subscriber): void {
    const replay = this.pendingReplays.get(subscriber);
    if (!replay) return;
    this.pendingReplays.delete(subscriber);
    for (const event of replay) this.send(subscriber, event);
    this.savePositionIfDelivered();
  }

  private send(subscriber: Subscriber, event: CallEvent): void {
    if (this.sentStates.repeats(subscriber, event)) return;
    this.sentStates.sent(subscriber, event);
    this.resumedReads.sent(subscriber, event);
    subscriber.onEvent(event);
  }

  /** Changes (not replays of a current state) that the loops passed on and no subscriber has had yet. */
  private holdsChanges(): boolean {
    if (this.lingering.buffered > 0 || this.late.buffered > 0) return true;
    for (const replay of this.pendingReplays.values()) if (replay.some((event) => !event.initial)) return true;
    return false;
  }

  /** The position not stored for changes held back: store it now if they have all been handed on (or dropped). */
  private savePositionIfDelivered(): void {
    if (this.saveWhenDelivered) this.savePosition();
  }

  /** `now`: the position as it is at this instant, not when the write starts. */
  private savePosition(now = false): void {
    if (!this.options.store) return;
    // Never over the saved position before it has been read: a crash then would leave nothing to resume from.
    this.saveAfterLoad = this.loading !== undefined;
    if (this.saveAfterLoad) return;
    this.saveWhenDelivered = this.holdsChanges();
    if (this.saveWhenDelivered) return;
    const position = now ? structuredClone(this.position()) : undefined;
    this.options.store.save(position ? () => position : this.capture);
  }
}
