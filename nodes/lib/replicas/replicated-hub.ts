/**
 * A config node's polls when several Node-RED replicas run the same flows (issue 26): only the replica that holds the
 * lease (lease.ts) polls; the others are on standby. Implements PollHub, so the nodes use it as they use a
 * SubscriptionHub. Knows nothing of Node-RED.
 *
 * It keeps the registered subscribers itself. While this replica holds the lease, a term runs: an inner
 * SubscriptionHub given the shared position read from Redis (as a context store's position: the hub's resume path
 * carries on from it exactly as after a crash) and the fenced writer (fenced-position.ts) as its store; every
 * subscriber is registered into it, and its start released once the flows have started. The lease lost (its deadline
 * past, taken over, a write refused, Redis not answering): the term ends at once, its requests aborted, and the
 * subscribers show coordination lost, then standby.
 *
 * Safety: whatever the term's hub hands a subscriber is gated by Lease.holds() at that moment (an answer read after a
 * pause past the deadline never reaches the flow; the term ends there). Each poll is sent only after the lease is
 * confirmed in Redis (Lease.confirm: the key still holds this term's token, renewed), and its answer is handed on only
 * after a second confirm: a key that vanished (a DEL, Redis restarted without its data) ends the term at the next poll,
 * and what that poll brought is dropped (the next holder reads it again from the shared position). No poll outlasts the lease: each subscriber's
 * long poll is capped below the time a renewal leaves (`capSec`), and no request is sent with a timeOut past the
 * deadline (it is shortened, or not sent). So two replicas' polls are never open at once for one config node, even
 * when the holder is frozen mid-poll: the PBX ends that poll before the key can expire.
 *
 * On standby, subscribers that mirror state (presence) get the holder's calls in progress (standby-mirror.ts); the
 * others get nothing (each call event is handled once, by the holder's flow). A replica that cannot reach Redis never
 * polls; when Redis is back one replica takes the lease again (safety over liveness).
 */
import type { Redis } from "ioredis";
import { NoojeeError } from "../client/errors";
import type { HubOptions, HubPosition, HubStatus, PollHub, Subscriber } from "../poll/hub-types";
import type { SubscribeApi } from "../poll/poll-types";
import type { PositionOwner } from "../poll/position-format";
import type { PositionWriterOptions } from "../poll/position-writer";
import { StartGate } from "../poll/start-gate";
import { SubscriptionHub } from "../poll/subscription-hub";
import { FencedPosition } from "./fenced-position";
import type { ReplicaKeys } from "./keys";
import { Lease } from "./lease";
import { LOST, type LostReason, redisFailure } from "./lost-reason";
import { StandbyMirror } from "./standby-mirror";

/** Kept between a poll's end at the PBX and the lease's deadline: the request's way there, the PBX's least answer time. */
export const POLL_SLACK_MS = 500;

export interface ReplicatedHubOptions extends PositionOwner {
  api: SubscribeApi;
  /** The inner hubs' options (their position and store are the shared ones). */
  hub?: Omit<HubOptions, "position" | "store">;
  /** Commands: the lease, the position. */
  redis: Pick<Redis, "eval" | "get">;
  /** A second connection for the standbys' SUBSCRIBE to `changed` (optional: they also read every few seconds). */
  listener?: Pick<Redis, "subscribe" | "unsubscribe" | "on" | "removeListener">;
  keys: ReplicaKeys;
  /** This replica's name, shown to the standbys (keys.ts replicaName). */
  name: string;
  /** How old a shared position may be and still be carried on from (the config node's "resume within"). */
  maxAgeMs: number;
  ttlMs?: number;
  marginMs?: number;
  pollSlackMs?: number;
  /** How long one second of the subscribe timeOut is (noojeeTimeOutUnitMs). Default the hold limit's, else 1000. */
  unitMs?: number;
  /** The standbys' reads besides the holder's messages. Default 5 s. */
  mirrorEveryMs?: number;
  /** The writer's throttle and pauses (tests). */
  writer?: Pick<PositionWriterOptions, "minIntervalMs" | "retryMs" | "writeTimeoutMs">;
  onWarning?: (message: string) => void;
  /** Masks secrets (the Redis password, the URL) in a reason shown in a status. Default: as it is. */
  redact?: (text: string) => string;
  /**
   * Why the connection to Redis fails, when its client knows more than a failed command says (a TLS failure,
   * connection-failures.ts): shown instead of the command's reason while it lasts.
   */
  cause?: () => string | undefined;
  /** Called at the end of close(): e.g. to quit the Redis connections. */
  disconnect?: () => void;
}

interface Term {
  token: string;
  hub: SubscriptionHub;
  writer: FencedPosition;
  /** False once the term is over (or closing): nothing more reaches a subscriber, nothing more is written. */
  active: boolean;
}

export class ReplicatedHub implements PollHub {
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly expected = new Set<string>();
  private readonly gate: StartGate;
  private readonly lease: Lease;
  private readonly mirror: StandbyMirror;
  private readonly unitMs: number;
  private readonly pollSlackMs: number;
  private flowsStarted = false;
  private term: Term | undefined;
  private status: HubStatus = { state: "connecting" };
  private closed = false;

  constructor(private readonly options: ReplicatedHubOptions) {
    this.unitMs = options.unitMs ?? options.hub?.holdLimit?.unitMs ?? 1000;
    this.pollSlackMs = options.pollSlackMs ?? POLL_SLACK_MS;
    this.gate = new StartGate(() => undefined, options.hub?.expectMs);
    this.lease = new Lease({
      redis: options.redis, keys: options.keys, name: options.name, ttlMs: options.ttlMs, marginMs: options.marginMs,
      onAcquired: (token, earlier) => this.begin(token, earlier),
      onLost: (reason) => this.ended(reason),
      onStandby: (holder) => this.show(this.standby(holder)),
      onUnreachable: (reason) => this.show({ state: "coordinationLost", reason: this.reason(reason) }),
    });
    this.mirror = new StandbyMirror({
      redis: options.redis, listener: options.listener, keys: options.keys, host: options.host, authMode: options.authMode,
      maxAgeMs: options.maxAgeMs, everyMs: options.mirrorEveryMs, subscribers: () => this.subscribers,
    });
  }

  /** The longest poll a subscriber gets: it ends before the deadline a renewal leaves, whenever it starts. */
  get capSec(): number {
    const room = this.lease.ttlMs - this.lease.intervalMs - this.lease.marginMs - this.pollSlackMs;
    return Math.max(0, Math.floor(room / this.unitMs));
  }

  /** True while this replica holds the lease and polls (for status and tests). */
  get holding(): boolean {
    return this.term?.active === true && this.lease.holds();
  }

  /** The inner hub of the term in progress (tests, diagnostics). */
  get inner(): SubscriptionHub | undefined {
    return this.term?.active ? this.term.hub : undefined;
  }

  register(id: string, subscriber: Subscriber): void {
    if (this.closed) return;
    this.subscribers.set(id, subscriber);
    this.expected.delete(id);
    const term = this.term;
    if (term) term.hub.register(id, this.gated(id, term));
    else {
      subscriber.onStatus(this.status);
      this.mirror.refresh(id);
    }
    this.gate.settled(id);
    this.lease.start();
    if (!this.term) this.mirror.start();
  }

  expect(id: string): void {
    if (this.subscribers.has(id)) return;
    this.expected.add(id);
    this.gate.expect(id);
    this.term?.hub.expect(id);
  }

  updateExtensions(id: string, extensions: readonly string[]): void {
    const current = this.subscribers.get(id);
    if (!current) return;
    const next = Object.assign(Object.create(Object.getPrototypeOf(current) as object) as Subscriber, current, { extensions: [...extensions] });
    this.subscribers.set(id, next);
    this.term?.hub.updateExtensions(id, extensions);
    this.mirror.refresh(id);
  }

  async deregister(id: string): Promise<void> {
    this.expected.delete(id);
    this.gate.settled(id);
    if (!this.subscribers.delete(id)) return;
    await this.term?.hub.deregister(id);
  }

  releaseLingering(): void {
    this.flowsStarted = true;
    this.gate.flowsStarted();
    this.term?.hub.releaseLingering();
  }

  onStarted(listener: () => void): () => boolean {
    this.gate.listeners.add(listener);
    return () => this.gate.listeners.delete(listener);
  }

  /**
   * Stops polling and hands the lease back (a deploy, a shutdown) so that a standby takes over at once, after writing
   * the position as it is; registering again later competes for the lease anew.
   */
  async standDown(): Promise<void> {
    this.mirror.stop();
    const term = this.term;
    if (term) {
      // Still current while the position is written: a change dropped before the write took its capture would be
      // covered by it, and lost. One handed on after the capture is sent again by the next holder (same eventId).
      await term.writer.flush();
      term.active = false;
      if (this.term === term) this.term = undefined;
      term.writer.close();
      await term.hub.close(); // its polls aborted before the lease goes
    }
    await this.lease.stop(true);
  }

  /** The config node closes for good: stand down, forget the subscribers. */
  async close(): Promise<void> {
    this.closed = true;
    this.gate.close();
    await this.standDown();
    this.subscribers.clear();
    this.expected.clear();
    this.options.disconnect?.();
  }

  // ------------------------------------------------------------------ terms

  private begin(token: string, earlier: boolean): void {
    if (this.closed) {
      void this.lease.stop(true);
      return;
    }
    this.mirror.stop();
    const term = { token, active: true } as Term;
    term.writer = new FencedPosition({
      ...this.options.writer, host: this.options.host, authMode: this.options.authMode, redis: this.options.redis,
      keys: this.options.keys, token, retryMs: this.options.writer?.retryMs ?? this.lease.intervalMs,
      onWarning: (message) => this.options.onWarning?.(this.redact(message)),
      holds: () => term.active && this.lease.holds(),
      onRefused: (reason) => this.lost(term, reason),
    });
    // Like a context store's read: the polls wait for it; a read that fails ends the term (never a start without it).
    const position = new Promise<HubPosition | undefined>((resolve) => {
      term.writer.load(this.options.maxAgeMs).then((loaded) => {
        if (!term.active) return;
        if (loaded.position === undefined && (loaded.reason === "corrupt" || loaded.reason === "otherHost")) {
          this.options.onWarning?.(`the shared position in ${term.writer.where} is not usable (${loaded.detail}): reading the calls in progress`);
        } else if (loaded.position === undefined && loaded.reason === "missing") {
          // A term known before this one should have written a position: Redis lost it (docs/replicas.md). With none
          // known (a process just started on an empty Redis), a first use and a Redis emptied or replaced look alike.
          this.options.onWarning?.(earlier ? "the shared position is gone (Redis lost its data?): starting from the calls in progress"
            : "no shared position in Redis yet: starting from the calls in progress. Expected at the first start on this Redis; " +
              "otherwise Redis lost its data or is another one, and the changes made meanwhile are not sent");
        }
        resolve(loaded.position);
      }, (err: unknown) => this.lost(term, redisFailure(err, "reading the shared position")));
    });
    term.hub = new SubscriptionHub(this.fencedApi(term), { ...this.options.hub, position, store: term.writer });
    this.term = term;
    for (const id of this.expected) term.hub.expect(id);
    for (const id of this.subscribers.keys()) term.hub.register(id, this.gated(id, term));
    if (this.flowsStarted) term.hub.releaseLingering();
  }

  /** The term's lease is lost: everything of it stops now, and the lease knows. */
  private lost(term: Term, reason: LostReason): void {
    if (this.term !== term || !term.active) return;
    this.stopTerm(term);
    this.lease.lose(reason); // calls ended(), which shows it
  }

  /** The lease says it was lost (or lost() told it): said in the log whole, in the status short. */
  private ended(reason: LostReason): void {
    if (this.term) this.stopTerm(this.term);
    this.options.onWarning?.(this.redact(`coordination lost, this replica stopped polling: ${reason.detail}`));
    this.show({ state: "coordinationLost", reason: this.reason(reason.status) });
  }

  /** A reason for the status: the connection's own cause while there is one, masked. */
  private reason(reason: string): string {
    return this.redact(this.options.cause?.() ?? reason);
  }

  /**
   * A lost term's token stays in the key until its TTL runs out (a renewal unanswered past the deadline: a Redis
   * pause, a slow network): the holder it names is then this replica, which does not poll. Never shown as another.
   */
  private standby(holder: string | undefined): HubStatus {
    return holder !== undefined && holder === this.options.name ? { state: "standby", holder: undefined, ownFormer: true } : { state: "standby", holder };
  }

  private redact(text: string): string {
    return this.options.redact ? this.options.redact(text) : text;
  }

  private stopTerm(term: Term): void {
    term.active = false;
    if (this.term === term) this.term = undefined;
    term.writer.close();
    void term.hub.close().catch(() => undefined); // aborts its requests in flight
    if (!this.closed) this.mirror.start();
  }

  /** A status of this replica's own (not the term's hub's), to every subscriber when it changed. */
  private show(status: HubStatus): void {
    if (this.term || this.closed) return;
    if (JSON.stringify(status) === JSON.stringify(this.status)) return;
    this.status = status;
    for (const subscriber of this.subscribers.values()) subscriber.onStatus(status);
  }

  /** True while the term may still act; false (and the term ended) once the lease is not surely held. */
  private live(term: Term): boolean {
    if (!term.active || this.term !== term) return false;
    if (this.lease.holds()) return true;
    this.lost(term, LOST.ranOut);
    return false;
  }

  /** What the term's hub is given for subscriber `id`: everything it hands on gated by the lease, polls capped. */
  private gated(id: string, term: Term): Subscriber {
    const current = (): Subscriber | undefined => this.subscribers.get(id);
    const subscriber = current() as Subscriber;
    return {
      extensions: subscriber.extensions,
      timeoutSec: Math.min(subscriber.timeoutSec, this.capSec),
      onEvent: (event) => {
        if (this.live(term)) current()?.onEvent(event);
      },
      onStatus: (status) => {
        if (!term.active || this.term !== term) return;
        this.status = status;
        current()?.onStatus(status);
      },
      ...(subscriber.onCurrentState ? {
        onCurrentState: (extension, calls) => {
          if (this.live(term)) current()?.onCurrentState?.(extension, calls);
        },
      } : {}),
      ...(subscriber.saveState ? { saveState: () => current()?.saveState?.() } : {}),
      ...(subscriber.restoreState ? { restoreState: (state) => current()?.restoreState?.(state) } : {}),
    };
  }

  /**
   * The PBX as the term's polls see it: the lease confirmed in Redis before each poll is sent and after its answer is
   * read (else the term ends and the answer is dropped), no request past the lease's deadline, no hold that could
   * outlast it.
   */
  private fencedApi(term: Term): SubscribeApi {
    const api = this.options.api;
    const refused = (): NoojeeError => new NoojeeError("network", "not polling: this replica does not hold the lease");
    const confirmed = async (): Promise<boolean> => {
      if (!this.live(term)) return false;
      const reason = await this.lease.confirm();
      if (reason !== undefined) this.lost(term, reason);
      return reason === undefined && this.live(term);
    };
    return {
      subscribe: async (extensions, last, timeOutSec, signal) => {
        if (!(await confirmed()) || signal?.aborted) throw refused();
        const room = this.lease.remainingMs() - this.pollSlackMs;
        if (room <= 0) {
          this.lost(term, LOST.ranOut);
          throw refused();
        }
        const answer = await api.subscribe(extensions, last, Math.min(timeOutSec, Math.floor(room / this.unitMs)), signal);
        if (!(await confirmed())) throw refused();
        return answer;
      },
      ...(api.subscribeExtenBudget ? { subscribeExtenBudget: () => api.subscribeExtenBudget?.() ?? Infinity } : {}),
    };
  }
}
