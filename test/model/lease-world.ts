/**
 * The world of the lease model (lease.model.test.ts): 2 or 3 replicas' Lease objects, each a process with its own
 * clocks and timers (lease-clocks.ts) and its own connection to one real redis-server, and the reference
 * (lease-reference.ts) told what Redis answered and when.
 *
 * Time is the world's (virtual ms), moved only by the model; a Redis answer arrives while it stands still, so a
 * script runs at the world time it was sent, except during a pause (CLIENT PAUSE), when it runs at the world time the
 * pause ends. Scripts are sent one at a time, in the order asked, so that a sequence replays alike. Redis's own TTLs
 * run on real time (the replicas' 10 s TTL is 10 real seconds, longer than a sequence), so the lease key's TTL is
 * driven from the world's: the key is deleted the world instant its TTL (times the Redis clock's rate) has run out,
 * and before each acquire its real TTL is set to what is left of it (plus a small cushion for real time: a standby
 * sees a TTL a little longer than it is, the safe side), so that the PTTL the script answers is the world's. The
 * lease's shadow (keys.ts) is deleted the world instant its own TTL runs out, which a DEL of the lease leaves running.
 */
import type { Redis } from "ioredis";
import { FencedPosition } from "../../nodes/lib/replicas/fenced-position";
import type { ReplicaKeys } from "../../nodes/lib/replicas/keys";
import { Lease } from "../../nodes/lib/replicas/lease";
import { ACQUIRE, FENCED_WRITE, RELEASE, RENEW } from "../../nodes/lib/replicas/scripts";
import { outside, realTurn, ReplicaClock } from "./lease-clocks";
import { LeaseReference, type Observer } from "./lease-reference";

export const TTL = 10_000;
export const MARGIN = 1_000;
const REAL_TTL = String(TTL);
const CUSHION_MS = 50;

/** The position writer as the replicated hub makes it, its write reached directly. */
class Writer extends FencedPosition {
  writeNow(text: string): Promise<void> {
    return this.persist(text);
  }
}

export class Replica implements Observer {
  lease: Lease | undefined;
  dead = false;
  /** Answers that came while it was frozen: handed on when it wakes. */
  held: (() => void)[] = [];
  /** The last token it held (for a write arriving late from that term). */
  lastToken: string | undefined;
  writer: { token: string; writer: Writer } | undefined;
  generation = 0;
  /** Freezes as soon as it has sent its next script (its VM suspended when true): that answer waits for its wake. */
  freezeOnSend: boolean | undefined;
  /** Released (close) and not started again: it does not try. */
  stopped = false;

  constructor(readonly name: string, readonly clock: ReplicaClock, readonly connection: Redis) {}

  mono(): number {
    return this.clock.mono;
  }
  holds(): boolean {
    return this.lease?.holds() === true;
  }
  token(): string | undefined {
    return this.lease?.token;
  }
  alive(): boolean {
    return !this.dead && this.lease !== undefined;
  }
  get running(): boolean {
    return this.alive() && !this.clock.frozen;
  }
}

type Job = () => Promise<void>;

const scriptName = (script: string): string =>
  script === ACQUIRE ? "ACQUIRE" : script === RENEW ? "RENEW" : script === RELEASE ? "RELEASE" : script === FENCED_WRITE ? "FENCED_WRITE" : "script";

export class LeaseWorld {
  now = 0;
  paused = false;
  readonly replicas: Replica[];
  readonly ref: LeaseReference;
  private readonly queue: Job[] = [];
  private running = false;
  private heldByPause: (() => void)[] = [];
  log: string[] = [];

  constructor(readonly admin: Redis, connections: Redis[], readonly keys: ReplicaKeys, readonly redisRate: number, walls: number[]) {
    this.ref = new LeaseReference(TTL, redisRate);
    this.replicas = connections.map((c, i) => new Replica(`r${i}`, new ReplicaClock(1000 * (i + 1), 1_800_000_000_000 + (walls[i] ?? 0)), c));
  }

  // ------------------------------------------------------------------ Redis, as each replica sees it

  /** What a replica's Lease and writer are given as Redis. */
  redisOf(r: Replica): Pick<Redis, "eval" | "get"> {
    const generation = r.generation;
    const evalFn = (script: string, count: number, ...rest: (string | number)[]): Promise<unknown> => {
      const sentMono = r.clock.mono;
      const args = rest.slice(count).map(String);
      return new Promise((resolve, reject) => {
        this.queue.push(async () => {
          let answer: unknown;
          let error: unknown;
          try {
            if (script === ACQUIRE && !this.paused && this.ref.value !== undefined) [error, answer] = await this.acquireInWorldTime(r, count, rest);
            else answer = await outside(() => r.connection.eval(script, count, ...rest));
          } catch (err) {
            error = err;
          }
          const complete = (): void => {
            this.log.push(`${this.now} ${r.name} ${scriptName(script)} sent at its ${sentMono}: ${error === undefined ? JSON.stringify(answer) : String(error)}`);
            this.ref.script(r, script, args, answer, this.now, sentMono, r.clock.mono);
            const deliver = (): void => (error === undefined ? resolve(answer) : reject(error as Error));
            if (r.dead || r.generation !== generation) return; // the process is gone
            if (r.clock.frozen) r.held.push(deliver);
            else deliver();
          };
          if (this.paused) this.heldByPause.push(complete);
          else complete();
        });
        void this.pump();
        if (r.freezeOnSend !== undefined) {
          r.clock.frozen = true;
          r.clock.suspended ||= r.freezeOnSend;
          r.freezeOnSend = undefined;
          this.log.push(`${this.now} ${r.name} frozen right after sending a script`);
        }
      });
    };
    return {
      eval: evalFn as unknown as Redis["eval"],
      get: ((key: string) => outside(() => r.connection.get(key))) as unknown as Redis["get"],
    };
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) await job();
    } finally {
      this.running = false;
    }
  }

  /**
   * An ACQUIRE while the key is held: its real TTL set to the world's remainder for the script (for the PTTL it
   * answers), then back to a long one, in one transaction, so that no real time passes between: on a busy machine the
   * key ran out in Redis between a separate PEXPIRE and the script (a model out of step, not a finding).
   */
  private async acquireInWorldTime(r: Replica, count: number, rest: (string | number)[]): Promise<[unknown, unknown]> {
    const left = Math.max(1, Math.ceil((this.ref.expiresAt - this.now) / this.redisRate) + CUSHION_MS);
    const results = await outside(() => r.connection.multi().pexpire(this.keys.lease, left).eval(ACQUIRE, count, ...rest)
      .pexpire(this.keys.lease, REAL_TTL).exec());
    const [error, answer] = results?.[1] ?? [new Error("the transaction was discarded"), undefined];
    return [error ?? undefined, answer];
  }

  /** Until every script asked has answered (during a pause: only what can run). */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 2;) {
      await realTurn();
      quiet = this.paused || (!this.running && this.queue.length === 0) ? quiet + 1 : 0;
    }
  }

  // ------------------------------------------------------------------ time

  /** The world moves `ms` on, event by event: keys running out, each replica's timers, the checks at each. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await this.settle();
      await this.expireDue();
      for (const r of this.replicas) {
        while (!r.dead && r.clock.fireOne()) await this.settle();
      }
      this.check();
      const keyEnds = this.ref.value === undefined ? Infinity : Math.floor(this.ref.expiresAt) + 1;
      const shadowEnds = this.ref.shadowExpiresAt === undefined ? Infinity : Math.floor(this.ref.shadowExpiresAt) + 1;
      const next = Math.min(target, keyEnds, shadowEnds, ...this.replicas.filter((r) => !r.dead).map((r) => this.now + r.clock.nextDueIn()));
      if (next <= this.now) {
        if (this.now >= target) return;
        continue;
      }
      for (const r of this.replicas) r.clock.pass(next - this.now);
      this.now = next;
    }
  }

  private async expireDue(): Promise<void> {
    await this.expireLease();
    if (this.ref.shadowExpiresAt === undefined || this.now <= this.ref.shadowExpiresAt) return;
    this.ref.shadowRanOut();
    if (!this.paused) await outside(() => this.admin.del(this.keys.shadow));
  }

  private async expireLease(): Promise<void> {
    if (this.ref.value === undefined || this.now <= this.ref.expiresAt) return;
    const value = this.ref.value;
    this.ref.expire(this.now);
    if (this.paused) return; // set to run out during the pause already (see pause())
    const real = await outside(() => this.admin.get(this.keys.lease));
    if (real !== value) this.ref.violation(`at ${this.now}: the key should hold ${value} until it runs out, Redis has ${real ?? "nothing"} (model out of step)`);
    await outside(() => this.admin.del(this.keys.lease));
  }

  check(): void {
    this.ref.check(this.now, this.replicas);
  }

  // ------------------------------------------------------------------ what happens to Redis

  async loseKey(flush: boolean, shadowToo = false): Promise<void> {
    this.log.push(`${this.now} ${flush ? "FLUSHALL" : shadowToo ? "DEL lease shadow" : "DEL"} (Redis had ${this.ref.value ?? "nothing"})`);
    await outside(() => (flush ? this.admin.flushall() : shadowToo ? this.admin.del(this.keys.lease, this.keys.shadow) : this.admin.del(this.keys.lease)));
    this.ref.loseKey(this.now, flush, shadowToo);
    this.check();
  }

  /** CLIENT PAUSE ALL for `realMs`, while the world moves `ms` on (`during` runs first, its scripts queued). */
  async pause(ms: number, realMs: number, during: () => void): Promise<void> {
    await this.settle();
    if (this.ref.value !== undefined && this.ref.expiresAt < this.now + ms) {
      // It runs out during the pause: Redis (whose expiry waits too) must find it gone when the pause ends.
      await outside(() => this.admin.pexpire(this.keys.lease, 1));
    }
    if (this.ref.shadowExpiresAt !== undefined && this.ref.shadowExpiresAt < this.now + ms) await outside(() => this.admin.pexpire(this.keys.shadow, 1));
    await outside(() => this.admin.client("PAUSE", realMs, "ALL"));
    this.paused = true;
    during();
    await this.advance(ms);
    await outside(() => this.admin.ping()); // answered once the pause is over
    this.paused = false;
    for (const complete of this.heldByPause.splice(0)) complete();
    await this.settle();
    this.check();
  }

  // ------------------------------------------------------------------ what happens to the replicas

  start(r: Replica): void {
    if (r.dead || !r.lease) {
      r.dead = false;
      r.generation += 1;
      r.held = [];
      r.writer = undefined;
      r.clock.clear();
      this.ref.restarted(r.name);
      r.clock.clockFault = undefined;
      r.freezeOnSend = undefined;
      r.lease = new Lease({
        redis: this.redisOf(r), keys: this.keys, name: r.name, ttlMs: TTL, marginMs: MARGIN,
        monotonic: () => r.clock.mono, wallNow: () => r.clock.wall,
        onAcquired: (token) => (r.lastToken = token),
        onLost: (reason) => this.log.push(`${this.now} ${r.name} lost: ${reason.detail}`),
        onStandby: () => undefined,
        onUnreachable: (reason) => this.log.push(`${this.now} ${r.name} unreachable: ${reason}`),
      });
    }
    const lease = r.lease;
    r.stopped = false;
    r.clock.run(() => lease.start());
  }

  /** SIGKILL: nothing more of it runs; its key stays until it runs out. */
  crash(r: Replica): void {
    r.dead = true;
    r.clock.clear();
    r.held = [];
    r.lease = undefined;
    r.writer = undefined;
  }

  async wake(r: Replica): Promise<void> {
    r.clock.frozen = false;
    r.clock.suspended = false;
    r.freezeOnSend = undefined;
    while (r.clock.fireOne()) await this.settle();
    for (const deliver of r.held.splice(0)) {
      deliver();
      await this.settle();
    }
    this.check();
  }

  /** The sequence is over: every replica gone, every script asked answered (the connections serve the next one). */
  async end(): Promise<void> {
    for (const r of this.replicas) this.crash(r);
    this.paused = false;
    for (const complete of this.heldByPause.splice(0)) complete();
    await this.settle();
  }

  /** A fenced write of the position by `r` for its term, as the replicated hub does it (a refusal ends the term). */
  write(r: Replica, text: string): Promise<void> | undefined {
    const lease = r.lease;
    const token = lease?.token;
    if (!lease || !token || r.clock.frozen) return undefined;
    if (r.writer?.token !== token) {
      const writer = new Writer({
        host: "https://pbx.example", authMode: "apiKey", onWarning: () => undefined, redis: this.redisOf(r), keys: this.keys, token,
        holds: () => lease.token === token && lease.holds(),
        onRefused: (reason) => lease.lose(reason),
        now: () => r.clock.wall, monotonic: () => r.clock.mono,
      });
      r.writer = { token, writer };
    }
    const writer = r.writer.writer;
    return r.clock.run(() => writer.writeNow(text));
  }

  /** A write from `r`'s last term arriving late (held up in the network): the script alone must refuse it. */
  lateWrite(r: Replica, text: string): void {
    const token = r.lastToken;
    if (!token || r.dead || !r.lease) return;
    const { lease, position, changed } = this.keys;
    void r.clock.run(() => this.redisOf(r).eval(FENCED_WRITE, 3, lease, position, changed, token, text)).catch(() => undefined);
  }
}
