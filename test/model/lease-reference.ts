/**
 * The plain reference of the lease model (lease.model.test.ts): it decides from the outside world only, what Redis
 * answered each replica and when (world time, and each replica's own clocks), and what the model did to Redis (DEL,
 * FLUSHALL, a key's TTL run out), never from a Lease's own fields. Each script's answer is read by its contract
 * (scripts.ts), which gives the lease key's value and the world time its TTL ends at every instant.
 *
 * Invariants:
 * - one holder: at no instant are two replicas' holds() true at once, whatever a replica saw or missed (frozen,
 *   its tries failing) before Redis lost the key (DEL, FLUSHALL). One exception, the documented limit
 *   (docs/replicas.md: both witnesses wrong at once): Redis lost the lease and its shadow together, keeping the
 *   term (evicted, deleted by hand, an older snapshot), while the taker's last look at the holder was too old to
 *   see its renewals (it was frozen or its tries failed). Counted (`bothWrong`), not failed;
 * - no stale holder: a replica whose holds() is true has the token Redis has, or Redis lost the key (a DEL, a
 *   FLUSHALL) less than a TTL ago; never a key that ran out, nor one another replica took;
 * - fenced writes: a write the script accepted ran while Redis had the writer's token;
 * - fences only grow while Redis keeps its data;
 * - the vanish wait: a standby whose last look saw a holder with TTL left, and then found the key missing while
 *   that TTL still ran (the key vanished, not released), takes the lease no sooner than a TTL after finding it
 *   missing, unless a later term was released meanwhile (the two-witness rule frees a key that ran out only for a
 *   replica that waits for nothing);
 * - hand-over (checked by the Release command): after a release, a standby that runs takes it at its next try.
 */
import { ACQUIRE, FENCED_WRITE, RELEASE, RENEW } from "../../nodes/lib/replicas/scripts";

export interface Observer {
  name: string;
  /** Its monotonic clock now. */
  mono(): number;
  holds(): boolean;
  token(): string | undefined;
  /** Counted in the checks (a crashed process is not). */
  alive(): boolean;
}

interface Sight {
  token: string;
  /** The world time that token's TTL ran to when it was seen. */
  expiresAt: number;
}

export const fenceOf = (token: string): number => Number(token.split("|")[1]);

export class LeaseReference {
  /** What Redis has in the lease key, and the world time after which it is gone by itself. */
  value: string | undefined;
  expiresAt = Infinity;
  /** When the lease's shadow runs out (world time), undefined when Redis has none: set and renewed with the key, a DEL leaves it. */
  shadowExpiresAt: number | undefined;
  /** Tokens whose key Redis lost (DEL, FLUSHALL) at a world time; tokens whose key ran out. */
  readonly lost = new Map<string, number>();
  readonly ranOut = new Map<string, number>();
  readonly released = new Set<string>();
  private fenceMax = 0;
  /** How the key last went: lost by the model, released, ran out. */
  private gone: "lost" | "released" | "ranOut" | undefined;
  /** The key was lost with its shadow (the term kept), at this world time, its TTL then running until `until`. */
  private lostBoth: { at: number; until: number } | undefined;
  /** Tokens taken under the documented limit above. */
  private readonly bothWrongTokens = new Set<string>();
  /** Each token taken, numbered in the order Redis gave them. */
  private readonly order = new Map<string, number>();
  private readonly seen = new Map<string, Sight>();
  /** Per replica: when it first found the key vanished (its mono) and must wait a TTL from. */
  private readonly waitFrom = new Map<string, number>();
  readonly violations: string[] = [];
  stats = { acquired: 0, renewed: 0, writes: 0, refusedWrites: 0, vanishedSeen: 0, bothWrong: 0 };

  constructor(private readonly ttlMs: number, private readonly redisRate: number) {}

  violation(text: string): void {
    this.violations.push(text);
  }

  /** Redis ran a script for `who` at world time `now` (its clock `execMono`), which it sent at its mono `sentMono`. */
  script(who: Observer, script: string, args: string[], answer: unknown, now: number, sentMono: number, execMono: number): void {
    if (script === ACQUIRE) return this.acquire(who, answer, now, sentMono, execMono);
    if (script === RENEW && answer === 1) {
      if (this.value !== args[0]) this.violation(`${who.name}: Redis renewed ${args[0]} but the key held ${this.value ?? "nothing"} (model out of step)`);
      this.expiresAt = now + this.ttlMs * this.redisRate;
      this.shadowExpiresAt = this.expiresAt;
      this.stats.renewed += 1;
    } else if (script === RELEASE && answer === 1) {
      this.value = undefined;
      this.expiresAt = Infinity;
      this.shadowExpiresAt = undefined;
      this.released.add(args[0] ?? "");
      this.gone = "released";
    } else if (script === FENCED_WRITE) {
      if (answer === 1) {
        this.stats.writes += 1;
        if (this.value !== args[0]) this.violation(`${who.name}: a fenced write with ${args[0]} succeeded while Redis had ${this.value ?? "no lease"}`);
      } else this.stats.refusedWrites += 1;
    }
  }

  private acquire(who: Observer, answer: unknown, now: number, sentMono: number, execMono: number): void {
    const [took, value, pttl] = Array.isArray(answer) ? (answer as [unknown, unknown, unknown]) : [undefined, undefined, undefined];
    // An answer later than the lease waits for (a try, ttl/3) never reached it: it saw nothing (a lease it took that
    // way it gives back at once, which Redis's next answers show).
    const late = execMono - sentMono >= Math.floor(this.ttlMs / 3);
    if (late && took !== 1) return;
    if (took === 0 && typeof value === "string" && typeof pttl === "number") {
      this.seen.set(who.name, { token: value, expiresAt: this.value === value ? this.expiresAt : now });
      this.waitFrom.delete(who.name);
      return;
    }
    const sight = this.seen.get(who.name);
    if (took === 2) {
      // Only a vanish the standby had to respect: it had seen the holder, and that TTL still ran when it looked.
      if (sight && now < sight.expiresAt && !this.waitFrom.has(who.name)) {
        this.waitFrom.set(who.name, execMono);
        this.stats.vanishedSeen += 1;
      }
      return;
    }
    if (took !== 1 || typeof value !== "string") return;
    this.stats.acquired += 1;
    if (this.value !== undefined) this.violation(`${who.name}: Redis gave it ${value} while the key held ${this.value} (model out of step)`);
    const fence = fenceOf(value);
    if (!(fence > this.fenceMax)) this.violation(`${who.name}: fence ${fence} after ${this.fenceMax}: fences must grow while Redis keeps its data`);
    this.fenceMax = Math.max(this.fenceMax, fence);
    if (late) {
      this.value = value;
      this.expiresAt = now + this.ttlMs * this.redisRate;
      this.shadowExpiresAt = this.expiresAt;
      return;
    }
    const from = this.waitFrom.get(who.name);
    const releasedLast = this.gone === "released";
    if (from !== undefined && sentMono < from + this.ttlMs && !releasedLast) {
      this.violation(`${who.name}: took the lease ${sentMono - from} ms after finding its holder's key vanished: it must wait a TTL (${this.ttlMs} ms)`);
    }
    if (sight && now < sight.expiresAt && this.lost.has(sight.token) && !this.released.has(sight.token) && from === undefined && !releasedLast) {
      this.violation(`${who.name}: took a vanished key at once, though it saw ${sight.token} hold it with its TTL still running`);
    }
    // The limit: Redis said "ran out" (lease and shadow lost together, the term kept, that TTL still running) and the
    // taker's look said so too, because it was older than the holder's last renewal.
    const staleLook = sight !== undefined && sight.expiresAt <= now;
    if (this.lostBoth !== undefined && now < this.lostBoth.until && staleLook) this.bothWrongTokens.add(value);
    this.order.set(value, this.order.size);
    this.lostBoth = undefined;
    this.seen.delete(who.name);
    this.waitFrom.delete(who.name);
    this.value = value;
    this.expiresAt = now + this.ttlMs * this.redisRate;
    this.shadowExpiresAt = this.expiresAt;
  }

  /** The lease's shadow ran out (a DEL of the key left it running until now). */
  shadowRanOut(): void {
    this.shadowExpiresAt = undefined;
  }

  /** `name` is a new process: what its former one saw is not its own. */
  restarted(name: string): void {
    this.seen.delete(name);
    this.waitFrom.delete(name);
  }

  /** The token `name` last saw hold the lease (as far as the answers it got tell). */
  sawToken(name: string): string | undefined {
    return this.seen.get(name)?.token;
  }

  /** `name` found a key it saw held vanish, and waits (as far as the answers tell). */
  waiting(name: string): boolean {
    return this.waitFrom.has(name);
  }

  /** The key's TTL ran out at world time `now`. */
  expire(now: number): void {
    if (this.value !== undefined) this.ranOut.set(this.value, now);
    this.gone = "ranOut";
    this.value = undefined;
    this.expiresAt = Infinity;
  }

  /** The model deleted the key (`flush`: every key, the fence counter too). */
  loseKey(now: number, flush: boolean, shadowToo = false): void {
    if (this.value !== undefined) this.lost.set(this.value, now);
    // A DEL of a key already gone changes nothing in Redis: a hand-back before it still frees the lease.
    if (this.value !== undefined || flush) this.gone = "lost";
    if (flush) this.lostBoth = undefined; // the term goes too: every replica waits a TTL
    else if (shadowToo && this.shadowExpiresAt !== undefined) this.lostBoth = { at: now, until: this.shadowExpiresAt };
    if (shadowToo) this.shadowExpiresAt = undefined;
    this.value = undefined;
    this.expiresAt = Infinity;
    if (flush) {
      this.shadowExpiresAt = undefined;
      this.fenceMax = 0;
      this.released.clear();
    }
  }

  /** The checks that hold at every instant (holds() only turns true at an answer, so checking after each event is enough). */
  check(now: number, replicas: Observer[]): void {
    const holding = replicas.filter((r) => r.alive() && r.holds());
    // The documented limit: the newest term was taken with both witnesses wrong, and every older one lost its key.
    const rank = (r: Observer): number => this.order.get(r.token() ?? "") ?? -1;
    const newest = holding.reduce<Observer | undefined>((a, r) => (a === undefined || rank(r) > rank(a) ? r : a), undefined);
    const limit = newest !== undefined && this.bothWrongTokens.has(newest.token() ?? "") &&
      holding.every((r) => r === newest || this.lost.has(r.token() ?? ""));
    if (holding.length > 1 && limit) this.stats.bothWrong += 1;
    else if (holding.length > 1) {
      this.violation(`at ${now}: ${holding.map((r) => `${r.name} (${r.token() ?? "?"})`).join(" and ")} hold the lease at once; Redis has ${this.value ?? "nothing"}`);
    }
    for (const r of holding) {
      const token = r.token();
      if (token === undefined || token === this.value) continue;
      const lostAt = this.lost.get(token);
      const ranOut = this.ranOut.get(token);
      if (ranOut !== undefined) this.violation(`at ${now}: ${r.name} holds ${token}, whose key ran out at ${ranOut}`);
      else if (lostAt === undefined) this.violation(`at ${now}: ${r.name} holds ${token}, which Redis does not have (${this.value ?? "nothing"})`);
      else if (now - lostAt >= this.ttlMs) this.violation(`at ${now}: ${r.name} holds ${token} ${now - lostAt} ms after Redis lost it`);
    }
  }
}
