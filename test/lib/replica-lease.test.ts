/**
 * The replicas' lease (nodes/lib/replicas/lease.ts) against a real redis-server (test/harness/redis-server.ts): one
 * holder among contenders, a fence that only grows, a holder that stops before its key can expire when Redis stops
 * answering, a holder paused past its TTL that wakes up holding nothing, release handing over at once, and Redis
 * down then back. Short TTLs (1.5 s) keep it quick; the schedule is what Redis and the real clocks make of it.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { Lease, type LeaseEvents } from "../../nodes/lib/replicas/lease";
import { monotonicNow } from "../../nodes/lib/monotonic";
import { useRedisServer } from "../harness/redis-server";
import { freeze, redisClient, until } from "./replica-support";

const TTL = 1500;
const MARGIN = 300;

interface Log {
  acquired: string[];
  lost: { reason: string; at: number }[];
  standby: (string | undefined)[];
  unreachable: string[];
}

function contender(redis: Redis, name: string, keyPrefix: string): { lease: Lease; log: Log; sent: Map<string, number[]> } {
  const log: Log = { acquired: [], lost: [], standby: [], unreachable: [] };
  const events: LeaseEvents = {
    onAcquired: (token) => log.acquired.push(token),
    onLost: (reason) => log.lost.push({ reason: reason.detail, at: monotonicNow() }),
    onStandby: (holder) => log.standby.push(holder),
    onUnreachable: (reason) => log.unreachable.push(reason),
  };
  // When each script was sent and which answered 1 (a renewal), on the monotonic clock: Redis's TTL runs from after.
  const sent = new Map<string, number[]>([["renewed", []], ["failed", []]]);
  const spy = {
    eval: (...args: Parameters<Redis["eval"]>) => {
      const at = monotonicNow();
      const answer = redis.eval(...args) as Promise<unknown>;
      void answer.then((value) => {
        if (value === 1 || (Array.isArray(value) && value[0] === 1)) sent.get("renewed")?.push(at);
      }, () => sent.get("failed")?.push(at));
      return answer;
    },
  } as unknown as Redis;
  const lease = new Lease({ ...events, redis: spy, keys: replicaKeys(keyPrefix, "cfg1"), name, ttlMs: TTL, marginMs: MARGIN });
  return { lease, log, sent };
}

describe("Replicas: the lease in a real Redis", function () {
  this.timeout(30_000);
  const server = useRedisServer();
  const clients: Redis[] = [];
  const leases: Lease[] = [];
  let prefix = "";
  let n = 0;

  beforeEach(() => {
    prefix = `t${++n}`;
  });

  afterEach(async () => {
    server.resume();
    for (const lease of leases.splice(0)) await lease.stop(false);
    for (const client of clients.splice(0)) client.disconnect();
  });

  function make(name: string): ReturnType<typeof contender> {
    const redis = redisClient(server.url);
    clients.push(redis);
    const made = contender(redis, name, prefix);
    leases.push(made.lease);
    return made;
  }

  it("of two contenders one holds; the other is on standby and names the holder; the fence grows at each term", async () => {
    const a = make("alpha");
    const b = make("beta");
    a.lease.start();
    await until(() => a.log.acquired.length === 1, "alpha holds");
    b.lease.start();
    await until(() => b.log.standby.length >= 2, "beta tried twice");
    assert.equal(a.lease.holds(), true);
    assert.equal(b.lease.holds(), false);
    assert.deepEqual([...new Set(b.log.standby)], ["alpha"]);
    assert.equal(b.log.acquired.length, 0);
    const fence = (token: string): number => Number(token.split("|")[1]);
    const first = fence(a.log.acquired[0] ?? "");
    await a.lease.stop(true);
    await until(() => b.log.acquired.length === 1, "beta takes over");
    assert.ok(fence(b.log.acquired[0] ?? "") > first, `${b.log.acquired[0]} after ${a.log.acquired[0]}`);
    const check = redisClient(server.url);
    clients.push(check);
    assert.equal(await check.get(replicaKeys(prefix, "cfg1").lease), b.log.acquired[0]);
  });

  it("a release hands the lease over at the next attempt, well within the TTL", async () => {
    const a = make("alpha");
    const b = make("beta");
    a.lease.start();
    await until(() => a.lease.holds(), "alpha holds");
    b.lease.start();
    await until(() => b.log.standby.length >= 1, "beta on standby");
    const released = monotonicNow();
    await a.lease.stop(true);
    await until(() => b.lease.holds(), "beta holds");
    const took = monotonicNow() - released;
    assert.ok(took < TTL - MARGIN, `took ${Math.round(took)} ms`);
  });

  it("a key that vanishes before its TTL (a DEL) is taken by a standby that saw its holder only a whole TTL later", async () => {
    const a = make("alpha");
    const b = make("beta");
    a.lease.start();
    await until(() => a.lease.holds(), "alpha holds");
    b.lease.start();
    await until(() => b.log.standby.length >= 1, "beta saw alpha hold");
    await a.lease.stop(false); // alpha renews no more but never learns of the DEL: as a holder with a poll still open
    const admin = redisClient(server.url);
    clients.push(admin);
    assert.equal(await admin.del(replicaKeys(prefix, "cfg1").lease), 1);
    const deleted = monotonicNow();
    await until(() => b.lease.holds(), "beta holds", 10_000);
    const took = monotonicNow() - deleted;
    assert.ok(took >= TTL && took < TTL + b.lease.intervalMs + 300, `took ${Math.round(took)} ms`);
  });

  it("a holder whose renewals get no answer (Redis SIGSTOPped) holds nothing from before its key could have expired, and says so", async () => {
    const a = make("alpha");
    a.lease.start();
    await until(() => a.lease.holds(), "alpha holds");
    await until(() => (a.sent.get("renewed")?.length ?? 0) >= 2, "a renewal went through");
    server.pause();
    // What keeps a holder safe is holds(), which every poll and every hand-on asks: it is watched on each turn of the
    // event loop. The "lost" timer only tells; on a starved machine it may run late (CI: 2 ms past the TTL).
    let lastHeldAt = -Infinity;
    const watch = (): void => {
      if (a.lease.holds()) lastHeldAt = monotonicNow();
      if (a.log.lost.length === 0) setImmediate(watch);
    };
    watch();
    await until(() => a.log.lost.length === 1, "alpha stops");
    const lastRenewalSent = Math.max(...(a.sent.get("renewed") ?? []));
    const lostAt = a.log.lost[0]?.at ?? Infinity;
    assert.equal(a.lease.holds(), false);
    // Redis started the key's TTL no earlier than the renewal was sent: it lives at least until then + TTL.
    assert.ok(lastHeldAt < lastRenewalSent + TTL - MARGIN, `held ${Math.round(lastHeldAt - lastRenewalSent)} ms after the last renewal was sent`);
    assert.ok(lostAt >= lastRenewalSent + TTL - MARGIN - 50, "and it held on until near its deadline");
  });

  it("a try given up on while Redis hangs, whose connection then closes, leaves no unhandled rejection", async () => {
    const a = make("alpha");
    await clients[0]?.ping();
    const rejections: unknown[] = [];
    // mocha's own listener would end the run: set aside for this test, put back after.
    const mochas = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", (reason) => void rejections.push(reason));
    try {
      server.pause();
      a.lease.start();
      await until(() => a.log.unreachable.length === 1, "the try is given up on");
      clients[0]?.disconnect(); // the script still waiting in it fails now
      await until(() => (a.sent.get("failed")?.length ?? 0) >= 1, "the script fails");
      await new Promise((resolve) => setImmediate(resolve)); // past the turn an unhandled rejection is told in
      assert.deepEqual(rejections.map(String), []);
    } finally {
      process.removeAllListeners("unhandledRejection");
      for (const listener of mochas) process.on("unhandledRejection", listener);
    }
  });

  it("a holder frozen past its TTL wakes up holding nothing, before any timer of its own has run", async () => {
    const a = make("alpha");
    const b = make("beta");
    a.lease.start();
    await until(() => a.lease.holds(), "alpha holds");
    b.lease.start();
    freeze(TTL + 200); // the key expires meanwhile; no timer of this process runs
    assert.equal(a.lease.holds(), false, "holds() is false at once on waking");
    assert.ok(a.lease.remainingMs() === 0);
    await until(() => a.log.lost.length === 1, "alpha says it lost the lease");
    await until(() => b.lease.holds() || a.lease.holds(), "someone holds again");
    assert.ok(!(a.lease.holds() && b.lease.holds()), "never both");
  });

  it("a suspended VM (the wall clock jumped, the monotonic one did not move) holds nothing on waking", async () => {
    const redis = redisClient(server.url);
    clients.push(redis);
    let suspendedMs = 0;
    const lost: string[] = [];
    const lease = new Lease({
      redis, keys: replicaKeys(prefix, "cfg1"), name: "vm", ttlMs: TTL, marginMs: MARGIN,
      wallNow: () => Date.now() + suspendedMs,
      onAcquired: () => undefined, onLost: (reason) => lost.push(reason.detail), onStandby: () => undefined, onUnreachable: () => undefined,
    });
    leases.push(lease);
    lease.start();
    await until(() => lease.holds(), "it holds");
    suspendedMs = TTL; // what a resumed VM's wall clock says; the process's monotonic clock did not count it
    assert.equal(lease.holds(), false);
    assert.equal(lease.remainingMs(), 0);
  });

  it("Redis down: the holder stops and a standby says Redis cannot be reached; Redis back: one holds again", async () => {
    const a = make("alpha");
    const b = make("beta");
    a.lease.start();
    await until(() => a.lease.holds(), "alpha holds");
    b.lease.start();
    await until(() => b.log.standby.length >= 1, "beta on standby");
    await server.kill();
    await until(() => a.log.lost.length === 1 && b.log.unreachable.length >= 1, "both without the lease");
    assert.equal(a.lease.holds() || b.lease.holds(), false);
    await server.start(); // no data kept: the lease is gone with it
    await until(() => a.lease.holds() || b.lease.holds(), "one holds again");
    await new Promise((r) => setTimeout(r, TTL));
    assert.equal(Number(a.lease.holds()) + Number(b.lease.holds()), 1, "exactly one");
  });
});
