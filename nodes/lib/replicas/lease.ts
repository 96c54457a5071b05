/**
 * The lease of one config node's polls among replicas, in Redis: at most one replica holds it, and only the holder
 * polls. Knows nothing of Node-RED.
 *
 * - Acquire: one script (scripts.ts) takes the lease when free, with the next value of a fence counter: the token
 *   `<name>|<fence>|<random>` names this term, and the shared position is written only with it (fenced-position.ts).
 * - Renew every ttl/3 (PEXPIRE only while the value is ours); release on close (DEL only while ours). A standby tries
 *   to acquire every ttl/3 and says who holds the lease.
 * - Safety: the holder keeps a deadline, the time its last successful acquire or renew was SENT plus ttl minus a
 *   margin. Redis started the TTL no earlier than that, so the key cannot have expired before the deadline. The
 *   deadline is kept on the monotonic clock and on the wall clock (a suspended VM's monotonic clock may not move);
 *   holds() is true only while both are before it. Past it, or when a renewal finds the lease not ours, the holder
 *   stops at once (onLost). A process paused between any two lines wakes with holds() false, whatever its timers did.
 * - Redis not answering is no answer: nothing is assumed, the deadline runs out.
 * - The key may vanish before its TTL (a DEL, a Redis restarted without its data) while its holder has a poll open,
 *   and the holder learns it only at its next confirm (confirm(), before and after each poll) or renewal. So a
 *   missing key is taken at once only when it is known why it is missing (the script decides, scripts.ts): it ran
 *   out, as both this replica's last look at the holder (counted from its answer) and Redis (the lease's shadow, set
 *   with the same TTL, gone too, and Redis kept its data) say; or the last term was released (its polls stopped
 *   first); or that term was this replica's own (stopped by lose()). Either view alone can be wrong: a standby
 *   frozen or cut off from Redis misses the holder's renewals; Redis can lose the lease and its shadow together
 *   (evicted, an older snapshot restored). Otherwise, and for a replica that has seen no holder (just started, or
 *   after its own term: an empty Redis looks the same as one that lost its data), it waits a whole TTL from finding
 *   the key missing: by then any holder's deadline, and so its last poll, are over. The wait ends only if no term
 *   began meanwhile (the `term` key unchanged): one that began and vanished too starts it again. An answer that comes
 *   after its try was given up on is still acted on (it is what Redis found).
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { monotonicNow } from "../monotonic";
import { holderOf, type ReplicaKeys } from "./keys";
import { LOST, type LostReason, redisFailure } from "./lost-reason";
import { redisStatus } from "./redis-errors";
import { ACQUIRE, RELEASE, RENEW } from "./scripts";

export const DEFAULT_TTL_MS = 10_000;
export const DEFAULT_MARGIN_MS = 1_000;

export interface LeaseEvents {
  /**
   * This replica holds the lease from now on (`token`: its value, for fenced writes). `earlier`: some replica held it
   * before (this one saw a holder, or the fence had counted terms), so a shared position should exist.
   */
  onAcquired(token: string, earlier: boolean): void;
  /** It holds it no more (deadline past, taken over, Redis not answering): whatever it does must stop now. */
  onLost(reason: LostReason): void;
  /** Another replica holds it (`holder`: its name), or nobody does and this one could not take it. */
  onStandby(holder: string | undefined): void;
  /** Redis could not be asked (down, unreachable, too slow): this replica does not hold the lease. */
  onUnreachable(reason: string): void;
}

export type LeaseRedis = Pick<Redis, "eval">;

export interface LeaseOptions extends LeaseEvents {
  redis: LeaseRedis;
  keys: ReplicaKeys;
  /** This replica's name (keys.ts cleanName), shown to the standbys. */
  name: string;
  /** The lease's time to live. Default 10 s. */
  ttlMs?: number;
  /** Taken off the deadline: clock drift and a late timer. Default 1 s. */
  marginMs?: number;
  /** The clocks (tests move them). */
  monotonic?: () => number;
  wallNow?: () => number;
}

type State = "idle" | "standby" | "holding";

export class Lease {
  readonly ttlMs: number;
  readonly marginMs: number;
  private state: State = "idle";
  private current: string | undefined;
  private deadline = { mono: -Infinity, wall: -Infinity };
  private timer: ReturnType<typeof setTimeout> | undefined;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  /** The latest time (monotonic) the key of the holder this standby saw last could run out by itself. */
  private seenExpiresMono: number | undefined;
  /** Some replica (this one included) was seen holding the lease. */
  private sawHolder = false;
  /** Set when the key was found missing, cause unknown: not taken before this time (monotonic)... */
  private vanishedUntil: number | undefined;
  /** ...and then only if Redis's `term` still holds this mark (no term began meanwhile). */
  private mark: string | undefined;
  /** This replica's own last term, stopped by lose(): a missing key is taken at once if no term began since. */
  private own: string | undefined;
  /** Acquires sent, and the latest whose answer was acted on: an answer given up on still counts, unless a newer one came. */
  private asked = 0;
  private heard = 0;
  private readonly monotonic: () => number;
  private readonly wallNow: () => number;

  constructor(private readonly options: LeaseOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
    if (!(this.marginMs >= 0 && this.marginMs < this.ttlMs / 2)) throw new Error("the lease's margin must be under half its TTL");
    this.monotonic = options.monotonic ?? monotonicNow;
    this.wallNow = options.wallNow ?? Date.now;
  }

  /** How often the holder renews, and a standby tries to acquire. */
  get intervalMs(): number {
    return Math.floor(this.ttlMs / 3);
  }

  /** The token of the term in progress (undefined unless holding). */
  get token(): string | undefined {
    return this.state === "holding" ? this.current : undefined;
  }

  /** Starts trying to acquire (now), then every intervalMs. */
  start(): void {
    if (this.state !== "idle") return;
    this.state = "standby";
    this.schedule(0);
  }

  /** Synchronous: this replica holds the lease now, by both clocks. */
  holds(): boolean {
    return this.remainingMs() > 0;
  }

  /** How long the lease is sure to be this replica's (0 when not holding), the lesser of the two clocks' view. */
  remainingMs(): number {
    if (this.state !== "holding") return 0;
    return Math.max(0, Math.min(this.deadline.mono - this.monotonic(), this.deadline.wall - this.wallNow()));
  }

  /** Gives the lease up at once (the caller found holds() false, or a fenced write refused): onLost, then standby. */
  lose(reason: LostReason): void {
    if (this.state !== "holding") return;
    const token = this.current;
    this.state = "standby";
    this.current = undefined;
    this.own = token;
    this.deadline = { mono: -Infinity, wall: -Infinity };
    this.clearDeadline();
    this.options.onLost(reason); // its polls stop (aborted) before the lease is freed
    // Frees it for whoever is next, should it still be ours in Redis (a clock jump): no one waits a TTL for nothing.
    if (token) void this.release(token);
    this.schedule(this.intervalMs);
  }

  /** Stops renewing and acquiring; `release`: frees the lease if held (a standby takes over at once). */
  async stop(release: boolean): Promise<void> {
    const token = this.token;
    this.state = "idle";
    this.current = undefined;
    this.deadline = { mono: -Infinity, wall: -Infinity };
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.clearDeadline();
    if (release && token) await this.release(token);
  }

  /**
   * Checks in Redis, and renews, that the lease is still this term's (the holder, before each poll and after each
   * answer): undefined when it is, else why not (the key vanished or is another's, Redis failing). The caller ends
   * the term on a reason.
   */
  async confirm(): Promise<LostReason | undefined> {
    const token = this.token;
    if (!token || !this.holds()) return LOST.ranOut;
    const sent = this.sentAt();
    let answer: unknown;
    try {
      answer = await this.eval(RENEW, [this.options.keys.lease, this.options.keys.shadow], [token, String(this.ttlMs)]);
    } catch (err) {
      return redisFailure(err, "checking the lease");
    }
    if (this.token !== token) return LOST.ranOut;
    if (answer !== 1) return LOST.taken;
    this.extend(sent);
    return this.holds() ? undefined : LOST.ranOut;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.state === "idle") return;
    if (this.busy) return this.schedule(this.intervalMs); // the previous attempt has not answered: never two at once
    this.busy = true;
    try {
      if (this.state === "holding") await this.renew();
      else await this.acquire();
    } finally {
      this.busy = false;
      // Read again: stop() may have come while it was asked.
      if ((this.state as State) !== "idle" && this.timer === undefined) this.schedule(this.intervalMs);
    }
  }

  private async acquire(): Promise<void> {
    const sent = this.sentAt();
    const expected = this.expectation(sent.mono);
    const random = randomBytes(8).toString("hex");
    const { lease, fence, released, term, shadow } = this.options.keys;
    const asked = ++this.asked;
    let answer: unknown;
    try {
      answer = await this.eval(ACQUIRE, [lease, fence, released, term, shadow], [this.options.name, random, String(this.ttlMs), expected]);
    } catch (err) {
      if (err instanceof LateAnswer) void err.answer.then((late) => this.lateAcquire(late, asked), () => undefined);
      if (this.state === "standby") this.options.onUnreachable(redisStatus(err));
      return;
    }
    this.heard = Math.max(this.heard, asked);
    const { took, token, pttl } = acquireAnswer(answer);
    if (this.state !== "standby") {
      // Stopped while asking: what it took goes back.
      if (took === 1 && token) await this.release(token);
      return;
    }
    if (took !== 1 || !token) return this.notTaken(took, token, pttl);
    const earlier = this.sawHolder || fenceOf(token) > 1;
    this.seenExpiresMono = undefined;
    this.sawHolder = true;
    this.vanishedUntil = undefined;
    this.mark = undefined;
    this.own = undefined;
    this.current = token;
    this.state = "holding";
    this.extend(sent);
    if (!this.holds()) return this.lose(LOST.tooLate); // answered after its own deadline
    this.options.onAcquired(token, earlier);
  }

  /**
   * An acquire answered that took nothing: a holder seen, or the key missing. An
   * answer given up on as late goes through here too: it is still what Redis found, which the next try builds on.
   */
  private notTaken(took: unknown, token: string | undefined, pttl: unknown): void {
    if (took === 2) return this.vanished(typeof pttl === "string" ? pttl : undefined);
    if (token && typeof pttl === "number" && pttl > 0) {
      // Counted from the answer, not the send: the script ran no later, so the key may live until then.
      this.seenExpiresMono = this.monotonic() + pttl;
      this.sawHolder = true;
      this.vanishedUntil = undefined;
      this.mark = undefined;
      this.own = undefined;
    }
    this.options.onStandby(holderOf(token));
  }

  /**
   * An acquire given up on answered after all. A lease it took goes back, unused. Anything else is acted on while
   * this replica still stands by and no newer try has answered: dropping it would lose that the key vanished (and so
   * the wait), and the status would not name the holder Redis had.
   */
  private lateAcquire(answer: unknown, asked: number): void {
    const { took, token, pttl } = acquireAnswer(answer);
    if (took === 1) {
      if (token && token !== this.current) void this.release(token);
      return;
    }
    if (this.state !== "standby" || asked < this.heard) return;
    this.heard = asked;
    this.notTaken(took, token, pttl);
  }

  /**
   * What a missing key may be taken on (ACQUIRE's `expected`; one released is taken anyway): "" if Redis shows it ran
   * out, the holder seen last having had its TTL run out here too; a mark, no term having begun since it was read a
   * TTL ago; this replica's own last term; "?": nothing.
   */
  private expectation(sentMono: number): string {
    if (this.vanishedUntil !== undefined) return sentMono < this.vanishedUntil ? "?" : (this.mark ?? "?");
    if (this.seenExpiresMono !== undefined) return sentMono < this.seenExpiresMono ? "?" : "";
    return this.own ?? "?";
  }

  /** The key was missing and nothing here says why (`mark`: Redis's `term` then). */
  private vanished(mark: string | undefined): void {
    const now = this.monotonic();
    if (this.vanishedUntil === undefined || mark !== this.mark) {
      // Whatever any holder renewed before the key went, its deadline ends within a TTL of now, and so does its last
      // poll: only then may this replica poll. A changed mark is a term begun (and gone) since: the wait starts again.
      this.vanishedUntil = now + this.ttlMs;
      this.mark = mark;
    }
    this.seenExpiresMono = undefined;
    this.own = undefined;
    this.options.onStandby(undefined);
    this.schedule(Math.max(0, Math.min(this.intervalMs, this.vanishedUntil - now)));
  }

  private async renew(): Promise<void> {
    const token = this.current;
    if (!token) return;
    if (!this.holds()) return this.lose(LOST.notRenewed);
    const sent = this.sentAt();
    let answer: unknown;
    try {
      answer = await this.eval(RENEW, [this.options.keys.lease, this.options.keys.shadow], [token, String(this.ttlMs)]);
    } catch (err) {
      // Not renewed: the deadline stands and runs out unless a later renewal gets through.
      if (this.token === token && !this.holds()) this.lose(redisFailure(err, "renewing the lease"));
      return;
    }
    if (this.token !== token) return;
    if (answer !== 1) return this.lose(LOST.taken);
    this.extend(sent);
  }

  /** The time a request is sent, on both clocks: the deadline counts from there, never from its answer. */
  private sentAt(): { mono: number; wall: number } {
    return { mono: this.monotonic(), wall: this.wallNow() };
  }

  private extend(sent: { mono: number; wall: number }): void {
    const span = this.ttlMs - this.marginMs;
    // Only forward: a confirm and a renewal may answer in either order.
    this.deadline = { mono: Math.max(this.deadline.mono, sent.mono + span), wall: Math.max(this.deadline.wall, sent.wall + span) };
    this.clearDeadline();
    const token = this.current;
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      if (this.token === token && !this.holds()) this.lose(LOST.notRenewed);
    }, Math.max(0, this.remainingMs()) + 1);
    this.deadlineTimer.unref?.();
  }

  private clearDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  private async release(token: string): Promise<void> {
    await this.eval(RELEASE, [this.options.keys.lease, this.options.keys.released, this.options.keys.shadow], [token, String(this.ttlMs)]).catch(() => undefined);
  }

  /** A script, given up on after intervalMs: a Redis that hangs (paused, a dead connection) is one that fails. */
  private eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    const asked = Promise.resolve(this.options.redis.eval(script, keys.length, ...keys, ...args));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LateAnswer(asked)), this.intervalMs);
      timer.unref?.();
    });
    return Promise.race([asked, deadline]).finally(() => clearTimeout(timer));
  }
}

/** ACQUIRE's answer (scripts.ts): took (1 taken, 0 held, 2 missing), the token taken or held, and the PTTL or mark. */
function acquireAnswer(answer: unknown): { took: unknown; token: string | undefined; pttl: unknown } {
  const [took, value, pttl] = Array.isArray(answer) ? (answer as [unknown, unknown, unknown]) : [0, undefined, undefined];
  return { took, token: typeof value === "string" && value !== "" ? value : undefined, pttl };
}

/** The fence value in a token (`<name>|<fence>|<random>`), 0 when it has none. */
function fenceOf(token: string): number {
  const fence = Number(token.split("|")[1]);
  return Number.isInteger(fence) ? fence : 0;
}

/** Redis did not answer in time; `answer` is what it says if it ever does. */
class LateAnswer extends Error {
  override readonly name = "LateAnswer";

  constructor(readonly answer: Promise<unknown>) {
    super("Redis did not answer in time");
    answer.catch(() => undefined);
  }
}
