/**
 * The replicas' shared position (nodes/lib/replicas/fenced-position.ts) in a real Redis: written with the holder's
 * token only; a former holder's write is refused by Redis itself (a lease taken over) and never overwrites its
 * successor's; one frozen past its deadline writes nothing; what is read back passes position-format's checks.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { HubPosition } from "../../nodes/lib/poll/hub-types";
import { FencedPosition } from "../../nodes/lib/replicas/fenced-position";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { Lease } from "../../nodes/lib/replicas/lease";
import { useRedisServer } from "../harness/redis-server";
import { freeze, redisClient, until } from "./replica-support";

const HOST = "http://127.0.0.1:8089";
const position = (seq: number): HubPosition => ({ polls: [{ seq, extensions: ["410"], fences: {} }], legs: [] });

describe("Replicas: the fenced shared position in a real Redis", function () {
  this.timeout(20_000);
  const server = useRedisServer();
  let redis: Redis;
  const leases: Lease[] = [];
  let n = 0;
  let keys = replicaKeys("p0", "cfg");

  before(async function () {
    redis = redisClient(server.url);
  });

  after(async () => {
    redis?.disconnect();
  });

  beforeEach(() => {
    keys = replicaKeys(`p${++n}`, "cfg");
  });

  afterEach(async () => {
    for (const lease of leases.splice(0)) await lease.stop(false);
  });

  /** A lease that has been acquired, and its token. */
  async function held(name: string, ttlMs = 1500): Promise<{ lease: Lease; token: string }> {
    let token = "";
    const lease = new Lease({
      redis, keys, name, ttlMs, marginMs: 300,
      onAcquired: (t) => (token = t), onLost: () => undefined, onStandby: () => undefined, onUnreachable: () => undefined,
    });
    leases.push(lease);
    lease.start();
    await until(() => lease.holds(), `${name} holds`);
    return { lease, token };
  }

  function writer(token: string, holds: () => boolean, refusals: string[]): FencedPosition {
    return new FencedPosition({
      redis, keys, token, holds, host: HOST, authMode: "apiKey", minIntervalMs: 0, onWarning: (w) => refusals.push(`warning: ${w}`),
      onRefused: (reason) => refusals.push(reason.detail),
    });
  }

  it("the holder writes; a former holder's write is refused by Redis and leaves its successor's position alone", async () => {
    const a = await held("alpha");
    const refusedA: string[] = [];
    const writerA = writer(a.token, () => true, refusedA); // believes it holds: only Redis can say no
    writerA.save(() => position(10));
    await writerA.flush();
    assert.equal((await writerA.load(60_000)).position?.polls[0]?.seq, 10);
    await a.lease.stop(true);
    const b = await held("beta");
    const writerB = writer(b.token, () => b.lease.holds(), []);
    writerB.save(() => position(20));
    await writerB.flush();
    writerA.save(() => position(11));
    await writerA.flush();
    assert.equal(refusedA.length, 1, refusedA.join("; "));
    assert.match(refusedA[0] ?? "", /^the lease is no longer this replica's \(its key vanished or another replica took it\): the position was not written$/);
    assert.equal((await writerB.load(60_000)).position?.polls[0]?.seq, 20, "beta's position stands");
  });

  // CI run B: a holder whose position write was in flight when its lease key was deleted logged "another replica
  // holds the lease" though none did; Redis refuses the write alike for a vanished key and a taken one.
  it("a write refused because the lease key vanished does not claim another replica holds it", async () => {
    const a = await held("alpha");
    const refused: string[] = [];
    const writerA = writer(a.token, () => true, refused);
    assert.equal(await redis.del(keys.lease), 1);
    writerA.save(() => position(7));
    await writerA.flush();
    assert.equal(refused.length, 1, refused.join("; "));
    assert.doesNotMatch(refused[0] ?? "", /another replica holds/);
    assert.match(refused[0] ?? "", /its key vanished or another replica took it/);
    assert.equal((await writerA.load(60_000)).position, undefined, "nothing written");
  });

  it("a holder frozen past its deadline writes nothing, even before the key has expired in Redis", async () => {
    const a = await held("alpha", 3000);
    const refused: string[] = [];
    const writerA = writer(a.token, () => a.lease.holds(), refused);
    writerA.save(() => position(5));
    await writerA.flush();
    freeze(3000 - 300 + 50); // past the deadline (TTL - margin), not yet past the TTL
    writerA.save(() => position(6));
    await writerA.flush();
    assert.deepEqual(refused, ["the lease ran out before the position was written"]);
    assert.equal((await writerA.load(60_000)).position?.polls[0]?.seq, 5);
  });

  it("a position read back is checked: another host's is not used", async () => {
    const a = await held("alpha");
    const writerA = writer(a.token, () => true, []);
    writerA.save(() => position(7));
    await writerA.flush();
    const other = new FencedPosition({
      redis, keys, token: a.token, holds: () => true, host: "http://other:1", authMode: "apiKey", onWarning: () => undefined, onRefused: () => undefined,
    });
    const loaded = await other.load(60_000);
    assert.equal(loaded.position, undefined);
    assert.equal(loaded.position === undefined && loaded.reason, "otherHost");
    await redis.set(keys.position, "{not json");
    const corrupt = await writerA.load(60_000);
    assert.equal(corrupt.position === undefined && corrupt.reason, "corrupt");
  });
});
