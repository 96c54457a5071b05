/**
 * On a standby replica, the calls in progress as the holder last wrote them to the shared position, for subscribers
 * that mirror state (presence nodes: Subscriber.mirror): a presence query on any replica answers the same. Read when
 * the holder says it wrote (the `changed` channel) and every `everyMs` besides (a missed message, no pub/sub
 * connection). Each subscriber is handed an extension's calls only when they differ from what it was last handed.
 * Subscribe nodes get nothing here: every call event is handled once, by the holder's flow. Knows nothing of Node-RED.
 */
import type { Redis } from "ioredis";
import { CallStateTable } from "../poll/call-state-table";
import type { Subscriber } from "../poll/hub-types";
import { checkSaved, type PositionOwner } from "../poll/position-format";
import { currentEvents } from "../poll/resumed-reads";
import type { ReplicaKeys } from "./keys";

export interface StandbyMirrorOptions extends PositionOwner {
  redis: Pick<Redis, "get">;
  /** A connection of its own for SUBSCRIBE (a subscribed connection can do nothing else), if any. */
  listener?: Pick<Redis, "subscribe" | "unsubscribe" | "on" | "removeListener">;
  keys: ReplicaKeys;
  /** The subscribers now (those with `mirror` are served). */
  subscribers(): Iterable<[string, Subscriber]>;
  /** How old a position may be and still be shown. */
  maxAgeMs: number;
  /** Reads besides the holder's messages. Default 5 s. */
  everyMs?: number;
  now?: () => number;
}

export class StandbyMirror {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private reading: Promise<void> | undefined;
  private again = false;
  /** What each subscriber was last handed, per extension (its calls' JSON). */
  private readonly handed = new Map<string, Map<string, string>>();
  private readonly onMessage = (channel: string): void => {
    if (channel === this.options.keys.changed) this.read();
  };

  constructor(private readonly options: StandbyMirrorOptions) {}

  /** This replica is on standby: mirror from now on (a first read at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.handed.clear();
    const listener = this.options.listener;
    if (listener) {
      listener.on("message", this.onMessage);
      void Promise.resolve(listener.subscribe(this.options.keys.changed)).catch(() => undefined);
    }
    this.timer = setInterval(() => this.read(), this.options.everyMs ?? 5000);
    this.timer.unref?.();
    this.read();
  }

  /** This replica holds the lease (its own polls serve the subscribers), or closes. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const listener = this.options.listener;
    if (listener) {
      listener.removeListener("message", this.onMessage);
      void Promise.resolve(listener.unsubscribe(this.options.keys.changed)).catch(() => undefined);
    }
  }

  /** A subscriber registered or changed its extensions: it gets what is known at the next read, which is now. */
  refresh(id: string): void {
    this.handed.delete(id);
    if (this.running) this.read();
  }

  /** Reads the shared position, one read at a time (one more after it when asked meanwhile). */
  read(): void {
    if (!this.running) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readOnce()
      .catch(() => undefined) // Redis failing shows in the lease's status; the last state handed stays
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.read();
        }
      });
  }

  /** Resolves once no read is in progress (for tests). */
  async settled(): Promise<void> {
    while (this.reading) await this.reading;
  }

  private async readOnce(): Promise<void> {
    const text = await this.options.redis.get(this.options.keys.position);
    if (!this.running || text === null) return;
    const loaded = checkSaved(JSON.parse(text) as unknown, this.options, this.options.maxAgeMs, (this.options.now ?? Date.now)());
    if (!loaded.position) return;
    const table = new CallStateTable();
    table.restore(loaded.position.legs);
    const seq = Math.max(0, ...loaded.position.polls.map((poll) => poll.seq));
    // An extension the holder does not poll has no known state: nothing is handed for it (not "no calls").
    const covered = new Set(loaded.position.polls.flatMap((poll) => poll.extensions));
    for (const [id, subscriber] of this.options.subscribers()) {
      if (!subscriber.mirror || !subscriber.onCurrentState) continue;
      let handed = this.handed.get(id);
      if (!handed) this.handed.set(id, (handed = new Map()));
      for (const extension of subscriber.extensions) {
        if (!covered.has(extension)) continue;
        const calls = currentEvents(extension, table.activeLegs(extension), seq);
        const text = JSON.stringify(calls.map((call) => [call.eventId, call.data]));
        if (handed.get(extension) === text) continue;
        handed.set(extension, text);
        subscriber.onCurrentState(extension, calls);
      }
    }
  }
}
