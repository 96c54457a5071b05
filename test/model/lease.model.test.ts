/**
 * Model-based test of the replicas' lease (nodes/lib/replicas/lease.ts, its scripts, the fenced position write, and
 * the confirm the replicated hub makes before and after each poll) with fast-check `fc.commands`: 2 or 3 replicas'
 * Lease objects, each with its own clocks and timers (lease-clocks.ts), on one real redis-server, a fresh key prefix
 * per sequence (lease-world.ts). Random sequences of: time passing; a replica frozen (SIGSTOP, a GC pause: its timers
 * and Redis's answers wait, its clocks run) or its VM suspended (its monotonic clock stops too), at once or right after
 * it sent its next script (its answer then waits), then woken; its wall
 * clock stepped; its release (close), crash and restart; a fenced write of the position, and one from its last term
 * arriving late; a confirm; Redis losing the key (DEL) or everything (FLUSHALL, a restart without persistence); Redis
 * paused (CLIENT PAUSE ALL) while time passes, writes queued meanwhile. Per sequence, Redis's clock may run 5 % fast
 * (its TTLs end sooner: the drift the lease's margin is for), and Redis starts with a term released before (most
 * sequences: the first start takes the lease at once) or empty (the first start waits a TTL, as after a lost key). The lease keeps its deadline on two clocks, each the
 * other's backstop, so a process never has both fail: once its VM was suspended (monotonic clock stopped) its wall
 * clock is not stepped back, and the other way round (lease-clocks.ts; with both, the holder's holds() outlives its
 * key, and only the replicated hub's confirm after each poll stops it).
 *
 * Time: the world's clock is virtual (only the model moves it), so a sequence covering minutes takes well under a
 * second; Redis's own TTLs would run on real time, so the world drives the lease key's TTL itself (lease-world.ts).
 * After every event the reference (lease-reference.ts) checks its invariants from what Redis answered and when.
 *
 * Budget: NOOJEE_LEASE_MODEL_RUNS sequences (default 300, about 40 s here) on every `npm test`; `npm run test:model`
 * runs 2,000. Each safety piece of the lease taken out in turn (the deadline counted from the answer, no margin, no
 * wall-clock check, no vanish wait, the write script without its token check) fails within 1 to 187 sequences; a
 * replica that saw no holder taking a missing key at once fails at the seeded sequence below. A failure prints the shrunk sequence and how to replay it:
 *   npm run build && NOOJEE_LEASE_MODEL_SEED=<seed> NOOJEE_LEASE_MODEL_PATH=<path> \
 *     NOOJEE_LEASE_MODEL_REPLAY='<replay>' npx mocha --no-config --timeout 0 dist/test/model/lease.model.test.js
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Redis } from "ioredis";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { RedisServer, requireRedis } from "../harness/redis-server";
import { redisClient } from "../lib/replica-support";
import { install, outside } from "./lease-clocks";
import { LeaseWorld, type Replica } from "./lease-world";

interface Params {
  replicas: number;
  redisRate: number;
  walls: number[];
  /** Redis starts with a term released before (the first start takes the lease at once), else empty (it waits a TTL). */
  released: boolean;
}
type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, LeaseWorld>;

abstract class Step implements Cmd {
  done = "";
  check(): boolean {
    return true;
  }
  async run(_m: Model, world: LeaseWorld): Promise<void> {
    totals.commands += 1;
    await this.act(world);
    await world.settle();
    world.check();
    if (world.ref.violations.length > 0) {
      throw new Error(`after ${this.toString()} (world time ${world.now}):\n  ${world.ref.violations.slice(0, 6).join("\n  ")}\n` +
        `  last events:\n    ${world.log.slice(-14).join("\n    ")}`);
    }
  }
  abstract act(world: LeaseWorld): Promise<void>;
  abstract describe(): string;
  toString(): string {
    return `${this.describe()}${this.done ? ` [${this.done}]` : ""}`;
  }
}

const pick = (world: LeaseWorld, i: number): Replica | undefined => world.replicas[i % world.replicas.length];

class Advance extends Step {
  constructor(readonly ms: number) {
    super();
  }
  act(world: LeaseWorld): Promise<void> {
    return world.advance(this.ms);
  }
  describe(): string {
    return `advance ${this.ms} ms`;
  }
}

class Start extends Step {
  constructor(readonly i: number) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    if (!r || r.clock.frozen) return;
    world.start(r);
    this.done = r.name;
  }
  describe(): string {
    return `start replica ${this.i}`;
  }
}

class Freeze extends Step {
  constructor(readonly i: number, readonly vm: boolean, readonly onSend: boolean) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    if (!r || r.dead) return;
    if (this.vm && r.clock.clockFault === "steppedBack") return void (this.done = "skipped: its wall clock was stepped back");
    if (this.vm) r.clock.clockFault = "suspended";
    if (this.onSend) return void (r.freezeOnSend = this.vm);
    r.clock.frozen = true;
    r.clock.suspended ||= this.vm;
    this.done = r.name;
  }
  describe(): string {
    const when = this.onSend ? " as soon as it has sent its next script" : "";
    return this.vm ? `suspend the VM of replica ${this.i}${when}` : `freeze replica ${this.i}${when}`;
  }
}

class Wake extends Step {
  constructor(readonly i: number) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    if (!r || !r.clock.frozen) return;
    await world.wake(r);
    this.done = r.name;
  }
  describe(): string {
    return `wake replica ${this.i}`;
  }
}

class WallStep extends Step {
  constructor(readonly i: number, readonly ms: number) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    if (!r) return;
    if (this.ms < 0 && r.clock.clockFault === "suspended") return void (this.done = "skipped: its VM was suspended");
    if (this.ms < 0) r.clock.clockFault = "steppedBack";
    r.clock.wall += this.ms;
  }
  describe(): string {
    return `step the wall clock of replica ${this.i} by ${this.ms} ms`;
  }
}

/** close(): releases the lease; a standby that runs must take it at its next try. */
class Release extends Step {
  constructor(readonly i: number) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    const lease = r?.lease;
    if (!r || !lease || !r.running) return;
    const token = lease.token;
    const handsOver = token !== undefined && lease.holds() && world.ref.value === token && !world.paused;
    r.stopped = true;
    // Not awaited: the replica may freeze right after sending the release (its answer then waits for its wake).
    void r.clock.run(() => lease.stop(true));
    await world.settle();
    this.done = handsOver ? `${r.name} released ${token}` : `${r.name} stopped`;
    if (!handsOver) return;
    const standby = (s: Replica): boolean => s !== r && s.running && s.freezeOnSend === undefined && !s.stopped && s.lease?.token === undefined;
    // Those that saw it hold: one that last saw an older term (whose key vanished since) rightly waits.
    const standbys = world.replicas.filter((s) => standby(s) && world.ref.sawToken(s.name) === token && !world.ref.waiting(s.name));
    await world.advance(lease.intervalMs + 1);
    // Those still running (one may have frozen in between) and not made to wait by a vanished key meanwhile.
    const ran = standbys.filter((s) => s.running && !world.ref.waiting(s.name));
    const taken = world.ref.value !== undefined && world.ref.value !== token; // by one that froze before its answer, say
    if (ran.length > 0 && !taken && !world.replicas.some((s) => s.holds())) {
      world.ref.violation(`${ran.map((s) => s.name).join(", ")} on standby, running, yet none took the lease within a try (${lease.intervalMs} ms) of its release`);
    }
  }
  describe(): string {
    return `release (close) replica ${this.i}`;
  }
}

class Crash extends Step {
  constructor(readonly i: number) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    if (!r?.lease) return;
    world.crash(r);
    this.done = r.name;
  }
  describe(): string {
    return `crash (SIGKILL) replica ${this.i}`;
  }
}

class Write extends Step {
  constructor(readonly i: number, readonly late: boolean) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    if (!r) return;
    const text = JSON.stringify({ by: r.name, at: world.now });
    if (this.late) world.lateWrite(r, text);
    else void world.write(r, text)?.catch(() => undefined); // settled by the step (unless the replica froze meanwhile)
  }
  describe(): string {
    return this.late ? `a write from replica ${this.i}'s last term arrives late` : `replica ${this.i} writes the position`;
  }
}

/** The replicated hub's confirm before a poll: a reason ends the term. */
class Confirm extends Step {
  constructor(readonly i: number) {
    super();
  }
  async act(world: LeaseWorld): Promise<void> {
    const r = pick(world, this.i);
    const lease = r?.lease;
    if (!r || !lease?.token || !r.running) return;
    void r.clock.run(async () => {
      const reason = await lease.confirm();
      if (reason !== undefined) lease.lose(reason);
      this.done = reason?.detail ?? "confirmed";
    });
  }
  describe(): string {
    return `replica ${this.i} confirms the lease`;
  }
}

class LoseKey extends Step {
  /** `shadowToo`: the lease's shadow goes with it, the term stays (evicted, deleted by a pattern, an older snapshot). */
  constructor(readonly flush: boolean, readonly shadowToo = false) {
    super();
  }
  act(world: LeaseWorld): Promise<void> {
    return world.loseKey(this.flush, this.shadowToo);
  }
  describe(): string {
    if (this.flush) return "Redis restarts empty (FLUSHALL)";
    return this.shadowToo ? "the lease key and its shadow are deleted, the term kept" : "the lease key is deleted (DEL)";
  }
}

class Pause extends Step {
  constructor(readonly ms: number, readonly writes: boolean) {
    super();
  }
  act(world: LeaseWorld): Promise<void> {
    return world.pause(this.ms, 60, () => {
      if (!this.writes) return;
      for (const r of world.replicas) void world.write(r, JSON.stringify({ by: r.name, at: world.now, paused: true }))?.catch(() => undefined);
    });
  }
  describe(): string {
    return `Redis paused (CLIENT PAUSE) for ${this.ms} ms${this.writes ? ", the holder writing" : ""}`;
  }
}

const replica = fc.nat(2);
const commands = [
  fc.constantFrom(100, 1000, 3400, 6000, 11_000).map((ms) => new Advance(ms)),
  fc.constantFrom(100, 1000, 3400, 6000, 11_000).map((ms) => new Advance(ms)),
  replica.map((i) => new Start(i)),
  fc.tuple(replica, fc.boolean(), fc.boolean()).map(([i, vm, onSend]) => new Freeze(i, vm, onSend)),
  fc.tuple(replica, fc.boolean()).map(([i, vm]) => new Freeze(i, vm, true)), // a pause mid-request: its answer waits
  replica.map((i) => new Wake(i)),
  replica.map((i) => new Wake(i)),
  fc.tuple(replica, fc.constantFrom(-4000, 4000, 12_000)).map(([i, ms]) => new WallStep(i, ms)),
  replica.map((i) => new Release(i)),
  replica.map((i) => new Crash(i)),
  fc.tuple(replica, fc.boolean()).map(([i, late]) => new Write(i, late)),
  replica.map((i) => new Confirm(i)),
  fc.boolean().map((flush) => new LoseKey(flush)),
  fc.constant(new LoseKey(false, true)),
  fc.tuple(fc.constantFrom(500, 4000, 12_000), fc.boolean()).map(([ms, w]) => new Pause(ms, w)),
];

const params: fc.Arbitrary<Params> = fc.record({
  replicas: fc.constantFrom(2, 3),
  redisRate: fc.constantFrom(1, 0.95),
  walls: fc.array(fc.constantFrom(0, -5000, 5000), { minLength: 3, maxLength: 3 }),
  released: fc.constantFrom(true, true, true, false),
});

const totals = { runs: 0, commands: 0, acquired: 0, renewed: 0, writes: 0, refusedWrites: 0, vanishedSeen: 0, bothWrong: 0 };
let server: RedisServer;
let admin: Redis;
let connections: Redis[] = [];
let sequence = 0;

async function runSequence(p: Params, cmds: Iterable<Cmd>): Promise<void> {
  const keys = replicaKeys(`m${++sequence}`, "cfg");
  const world = new LeaseWorld(admin, connections.slice(0, p.replicas), keys, p.redisRate, p.walls);
  try {
    if (p.released) {
      const before = "r9|0|before";
      await outside(() => admin.mset(keys.term, before, keys.released, before));
    }
    for (const r of world.replicas) world.start(r);
    await world.advance(1);
    await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds);
  } finally {
    totals.runs += 1;
    for (const [k, v] of Object.entries(world.ref.stats)) totals[k as keyof typeof world.ref.stats] += v;
    await world.end();
  }
}

const env = (name: string): string | undefined => (process.env[name] ? process.env[name] : undefined);

describe("model: the replicas' lease on a real Redis under random sequences", function () {
  this.timeout(0);
  let restore: (() => void) | undefined;

  before(async function () {
    requireRedis(this);
    server = new RedisServer();
    await server.start();
    admin = redisClient(server.url);
    connections = [0, 1, 2].map(() => redisClient(server.url));
    restore = install();
  });

  after(async () => {
    restore?.();
    admin?.disconnect();
    for (const c of connections) c.disconnect();
    await server?.stop();
  });

  it("never two holders, no holder without its key, fenced writes only by the holder, hand-over at the next try", async function () {
    const numRuns = Number(env("NOOJEE_LEASE_MODEL_RUNS") ?? 300);
    const seed = env("NOOJEE_LEASE_MODEL_SEED") === undefined ? undefined : Number(env("NOOJEE_LEASE_MODEL_SEED"));
    const path = env("NOOJEE_LEASE_MODEL_PATH");
    const replayPath = env("NOOJEE_LEASE_MODEL_REPLAY");
    const property = fc.asyncProperty(params, fc.commands(commands, { maxCommands: 30, size: "max", replayPath }), runSequence);
    const started = Date.now();
    const details = await fc.check(property, { numRuns, seed, path, endOnFailure: path !== undefined });
    if (!details.failed) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`      ${details.numRuns} sequences in ${seconds} s (seed ${details.seed}): ${totals.commands} commands, ` +
        `${totals.acquired} terms, ${totals.renewed} renewals, ${totals.writes} writes (${totals.refusedWrites} refused), ` +
        `${totals.vanishedSeen} vanished keys waited for, ${totals.bothWrong} instants of the documented limit (two ` +
        `holders: lease and shadow lost together while the taker's look was too old)`);
      return;
    }
    const [p, cmds] = details.counterexample ?? [];
    const shown = String(cmds);
    const replay = /\/\*replayPath="([^"]*)"\*\//.exec(shown)?.[1];
    assert.fail([
      `model-based test failed after ${details.numRuns} sequence(s), shrunk ${details.numShrinks} time(s)`,
      `params: ${JSON.stringify(p)}`,
      `sequence:\n    ${shown.replace(/ ?\/\*replayPath=.*$/, "").split(",").join("\n    ")}`,
      `error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
      `replay: npm run build && NOOJEE_LEASE_MODEL_SEED=${details.seed} NOOJEE_LEASE_MODEL_PATH=${details.counterexamplePath} ` +
        `NOOJEE_LEASE_MODEL_REPLAY='${replay ?? ""}' npx mocha --no-config --timeout 0 dist/test/model/lease.model.test.js`,
    ].join("\n"));
  });

  // Found by the search (seed 3): r0's acquire, sent during a Redis pause, saw r1 hold with 4,983 ms left; r0 counted
  // them from its send, not its answer 1.7 s later, so when the key was then deleted it took it as run out by itself,
  // 600 ms before that TTL could have ended, without the vanish wait (r1 had renewed meanwhile and still held it).
  it("a standby counts a holder's TTL from the answer that told it, not from its send", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new Advance(1000),
      new WallStep(0, 12_000),
      new Advance(3400),
      new Pause(4000, true),
      new LoseKey(false),
      new Advance(6000),
    ]);
  });

  // The known limit the model used to count and let pass: a replica started after the key was deleted (it had seen
  // no holder) took it at once, while r0, which never learnt of the DEL, still held it for up to a TTL.
  it("a replica started while the key is missing waits a TTL, its holder may still poll", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new Advance(1000),
      new Crash(1),
      new LoseKey(false),
      new Start(1),
      new Advance(3400),
    ]);
  });

  // Found by CI (seed -784399389): r1, frozen right after sending an acquire, got its answer (the key missing while
  // r0's TTL it had seen still ran: Redis had restarted empty) only after it had given that try up as unanswered. It
  // dropped the answer, and once that old TTL was over took the key at once as if it had run out by itself.
  it("a standby acts on an acquire's answer that came after it gave the try up", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new LoseKey(true),
      new Freeze(1, false, true),
      new Advance(1000),
      new Advance(6000),
      new Wake(1),
      new Advance(6000),
    ]);
  });

  // The same, found by the 2,000-sequence run (seed 940498032), with the answer coming after that TTL had run out: r1
  // took the missing key as run out by itself, though its try had been sent (and run) while the TTL still ran.
  it("a standby whose try sent while a seen TTL ran finds the key missing waits a TTL, however late the answer", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new LoseKey(true),
      new Freeze(1, false, true),
      new Advance(11_000),
      new Wake(1),
      new Advance(100),
    ]);
  });

  // Found by an outside review (rv-26b, two real Node-RED processes): r1, frozen past r0's TTL while r0 renewed, woke
  // just after a DEL of the key. Its last look said that TTL was over, so it took the missing key at once as run out,
  // while r0 still held it until its next renewal: the "known limit" the model used to count and let pass. Redis's own
  // shadow of the key (keys.ts) now says whether it ran out; what a standby saw says nothing of now.
  it("a standby frozen past its holder's TTL that wakes after a DEL waits: the key did not run out", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new Advance(1000),
      new Freeze(1, false, false),
      new Advance(10_500),
      new LoseKey(false),
      new Wake(1),
      new Advance(4000),
    ]);
  });

  it("the same after a FLUSHALL: the frozen standby waits a TTL", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new Advance(1000),
      new Freeze(1, false, false),
      new Advance(10_500),
      new LoseKey(true),
      new Wake(1),
      new Advance(4000),
    ]);
  });

  // Found by an outside review (rv-26c, real Node-RED processes): the lease and its shadow deleted together, the term
  // kept (what an evicting Redis, a DEL by pattern or an older snapshot restored can leave). Redis alone then says
  // "ran out"; r1, which saw r0 renew a moment ago, must not believe it.
  it("the lease and its shadow lost together: a standby that saw the holder lately waits a TTL", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new Advance(1000),
      new Advance(3400),
      new LoseKey(false, true),
      new Advance(6000),
    ]);
  });

  it("the lease and its shadow lost together: a replica just started waits a TTL", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new Advance(1000),
      new Crash(1),
      new LoseKey(false, true),
      new Start(1),
      new Advance(6000),
    ]);
  });

  // Found by the search (seed 1491191059) once the reference stopped excusing a take after a term that ran out: r1
  // waits out a vanished key; r0 takes its own term again and hands it back; a DEL then finds no key. Redis still has
  // the hand-back, so r1 takes the lease at its next try, as the script allows; the reference had read that DEL as
  // the key's last going and failed the take.
  it("a DEL that finds no key leaves a hand-back standing: a waiting standby takes the released lease", async function () {
    await runSequence({ replicas: 2, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new LoseKey(false, true),
      new Advance(6000),
      new Pause(4000, false),
      new Release(0),
      new LoseKey(false),
      new Advance(11_000),
    ]);
  });

  // Found by CI (seed -1208215679): r2, frozen past r0's TTL, woke just after the lease and its shadow were lost
  // together (the term kept): both witnesses then say "ran out", and r0 holds until its next renewal. The documented
  // limit (docs/replicas.md), counted by the reference rather than failed; it needs a frozen standby and a partial loss.
  it("the documented limit: a frozen standby and the lease lost with its shadow, counted, not failed", async function () {
    await runSequence({ replicas: 3, redisRate: 1, walls: [0, 0, 0], released: true }, [
      new Freeze(2, false, false),
      new Advance(11_000),
      new LoseKey(false, true),
      new Wake(2),
    ]);
  });
});

