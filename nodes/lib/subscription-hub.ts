/**
 * One long poll per config node, shared by every subscribe node that uses it (the register/deregister pattern of
 * Node-RED's MQTT broker node). Each subscriber gets only its own extensions' events. Knows nothing of Node-RED.
 */
import { CallEvent, LoopStatus, PollLoop, PollLoopOptions, SubscribeApi } from "./poll-loop";

export interface Subscriber {
  extensions: readonly string[];
  timeoutSec: number;
  onEvent(event: CallEvent): void;
  onStatus(status: LoopStatus): void;
}

export interface HubOptions extends Partial<Omit<PollLoopOptions, "api" | "onEvents" | "onStatus" | "timeoutSec">> {
  /** How long a loop with no subscriber keeps its cursor, so a redeployed node resumes without a gap. */
  parkMs?: number;
}

export class SubscriptionHub {
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly byExtension = new Map<string, Set<Subscriber>>();
  private readonly pendingReplays = new Map<Subscriber, CallEvent[]>();
  private loop: PollLoop | undefined;
  private parkedAt: number | undefined;
  private status: LoopStatus = { state: "connecting" };
  private readonly now: () => number;

  constructor(private readonly api: SubscribeApi, private readonly options: HubOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The running loop, if any (for tests and diagnostics). */
  get pollLoop(): PollLoop | undefined {
    return this.loop;
  }

  get size(): number {
    return this.subscribers.size;
  }

  register(id: string, subscriber: Subscriber): void {
    if (this.subscribers.has(id)) this.detach(id);
    this.attach(id, subscriber, subscriber.extensions);
    this.reconfigure();
    this.loop?.start();
  }

  /**
   * Changes a subscriber's extensions at runtime: extensions it gains get their current state,
   * the others carry on from the shared cursor.
   */
  updateExtensions(id: string, extensions: readonly string[]): void {
    const current = this.subscribers.get(id);
    if (!current) return;
    const gained = extensions.filter((e) => !current.extensions.includes(e));
    this.detach(id);
    const next = Object.assign(Object.create(Object.getPrototypeOf(current) as object) as Subscriber, current, {
      extensions: [...extensions],
    });
    this.attach(id, next, gained);
    this.reconfigure();
  }

  private attach(id: string, subscriber: Subscriber, replayFor: readonly string[]): void {
    this.subscribers.set(id, subscriber);
    for (const extension of subscriber.extensions) {
      let set = this.byExtension.get(extension);
      if (!set) this.byExtension.set(extension, (set = new Set()));
      set.add(subscriber);
    }
    const loop = this.ensureLoop();
    // Extensions someone already watches: the table holds their current state; hand it to the newcomer.
    const replay: CallEvent[] = [];
    for (const extension of replayFor) {
      if (!loop.isSettled(extension)) continue;
      for (const leg of loop.table.activeLegs(extension)) {
        replay.push({ extension, data: leg.data, callId: leg.callId, seq: loop.sequence, initial: true });
      }
    }
    if (replay.length > 0) {
      // Not from inside the node's constructor: the nodes it is wired to may not exist yet during a deploy.
      this.pendingReplays.set(subscriber, replay);
      setImmediate(() => this.flushReplay(subscriber));
    }
    if (loop.isRunning) subscriber.onStatus(this.status);
  }

  /** Resolves once the shared poll no longer serves this subscriber (at once when others remain). */
  async deregister(id: string): Promise<void> {
    if (!this.detach(id)) return;
    if (this.subscribers.size > 0) {
      this.reconfigure();
      return;
    }
    const loop = this.loop;
    this.parkedAt = this.now();
    await loop?.stop();
  }

  /** Stops everything: the config node is closing. */
  async close(): Promise<void> {
    this.subscribers.clear();
    this.byExtension.clear();
    this.pendingReplays.clear();
    const loop = this.loop;
    this.loop = undefined;
    await loop?.stop();
  }

  private detach(id: string): boolean {
    const subscriber = this.subscribers.get(id);
    if (!subscriber) return false;
    this.subscribers.delete(id);
    this.pendingReplays.delete(subscriber);
    for (const extension of subscriber.extensions) {
      const set = this.byExtension.get(extension);
      set?.delete(subscriber);
      if (set?.size === 0) this.byExtension.delete(extension);
    }
    return true;
  }

  private ensureLoop(): PollLoop {
    const parkMs = this.options.parkMs ?? 60_000;
    if (this.loop && !this.loop.isRunning && this.parkedAt !== undefined && this.now() - this.parkedAt > parkMs) {
      this.loop = undefined; // parked too long: its cursor and states may be stale, start afresh
    }
    this.parkedAt = undefined;
    if (!this.loop) {
      this.loop = new PollLoop({
        ...this.options,
        api: this.api,
        timeoutSec: 30,
        onEvents: (events) => this.dispatch(events),
        onStatus: (status) => {
          this.status = status;
          for (const subscriber of this.subscribers.values()) subscriber.onStatus(status);
        },
      });
    }
    return this.loop;
  }

  private reconfigure(): void {
    if (!this.loop) return;
    let timeoutSec = Infinity;
    for (const subscriber of this.subscribers.values()) timeoutSec = Math.min(timeoutSec, subscriber.timeoutSec);
    if (Number.isFinite(timeoutSec)) this.loop.setTimeoutSec(timeoutSec);
    this.loop.setExtensions([...this.byExtension.keys()]);
  }

  private dispatch(events: CallEvent[]): void {
    for (const event of events) {
      const subscribers = this.byExtension.get(event.extension);
      if (!subscribers) continue;
      for (const subscriber of subscribers) {
        this.flushReplay(subscriber); // the current state first, then what changed since
        subscriber.onEvent(event);
      }
    }
  }

  private flushReplay(subscriber: Subscriber): void {
    const replay = this.pendingReplays.get(subscriber);
    if (!replay) return;
    this.pendingReplays.delete(subscriber);
    for (const event of replay) subscriber.onEvent(event);
  }
}
