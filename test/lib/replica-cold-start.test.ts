/**
 * A replica that has seen no holder yet (Node-RED just started) and finds the lease key missing, against a real
 * redis-server: the key may have vanished (a DEL, a FLUSHALL, Redis restarted without its data) while its holder still
 * has a poll open, so it waits a TTL, unless the last term was released; the very first start on an empty Redis
 * waits too (nothing in Redis tells it from one whose data was lost). Short TTLs (1.5 s) keep it quick.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { Lease } from "../../nodes/lib/replicas/lease";
import { monotonicNow } from "../../nodes/lib/monotonic";
import { useRedisServer } from "../harness/redis-server";
import { redisClient, until } from "./replica-support";

const TTL = 1500;
const MARGIN = 300;

interface Made {
  lease: Lease;
  /** What onStandby was told, in order (undefined: nobody named). */
  standby: (string | undefined)[];
  /** When it took the lease (monotonic). */
  acquiredAt: number[];
}

describe("Replicas: a replica that starts while the lease key is missing", function () {
  this.timeout(30_000);
  const server = useRedisServer();
  let admin: Redis;
  const clients: Redis[] = [];
  const leases: Lease[] = [];
  let prefix = "";
  let n = 0;

  before(async function () {
    admin = redisClient(server.url);
  });

  after(async () => {
    admin?.disconnect();
  });

  beforeEach(() => {
    prefix = `c${++n}`;
  });

  afterEach(async () => {
    for (const lease of leases.splice(0)) await lease.stop(false);
    for (const client of clients.splice(0)) client.disconnect();
  });

  function make(name: string): Made {
    const redis = redisClient(server.url);
    clients.push(redis);
    const made: Made = { lease: undefined as unknown as Lease, standby: [], acquiredAt: [] };
    made.lease = new Lease({
      redis, keys: replicaKeys(prefix, "cfg1"), name, ttlMs: TTL, marginMs: MARGIN,
      onAcquired: () => made.acquiredAt.push(monotonicNow()),
      onLost: () => undefined,
      onStandby: (holder) => made.standby.push(holder),
      onUnreachable: () => undefined,
    });
    leases.push(made.lease);
    return made;
  }

  /** Alpha holds, then renews no more without learning anything: a holder whose poll is still open. */
  async function alphaHoldingSilently(): Promise<Made> {
    const a = make("alpha");
    a.lease.start();
    await until(() => a.lease.holds(), "alpha holds");
    await a.lease.stop(false);
    return a;
  }

  it("after a DEL of the key, a replica just started takes it no sooner than a TTL later", async () => {
    await alphaHoldingSilently();
    assert.equal(await admin.del(replicaKeys(prefix, "cfg1").lease), 1);
    const deleted = monotonicNow();
    const c = make("gamma");
    c.lease.start();
    await until(() => c.lease.holds(), "gamma holds", 10_000);
    const took = (c.acquiredAt[0] ?? 0) - deleted;
    assert.ok(took >= TTL, `took the vanished key ${Math.round(took)} ms after the DEL, within alpha's TTL`);
    assert.ok(took < TTL + c.lease.intervalMs + 300, `took ${Math.round(took)} ms`);
    assert.equal(c.standby[0], undefined, "on standby, naming nobody, while it waits");
  });

  it("after Redis lost everything (FLUSHALL), a replica just started waits a TTL too", async () => {
    await alphaHoldingSilently();
    await admin.flushall();
    const flushed = monotonicNow();
    const c = make("gamma");
    c.lease.start();
    await until(() => c.lease.holds(), "gamma holds", 10_000);
    const took = (c.acquiredAt[0] ?? 0) - flushed;
    assert.ok(took >= TTL, `took the key ${Math.round(took)} ms after the FLUSHALL, within alpha's TTL`);
  });

  it("the very first start on an empty Redis waits a TTL, on standby meanwhile", async () => {
    const c = make("gamma");
    const started = monotonicNow();
    c.lease.start();
    await until(() => c.standby.length > 0, "gamma on standby");
    assert.equal(c.lease.holds(), false);
    await until(() => c.lease.holds(), "gamma holds", 10_000);
    const took = (c.acquiredAt[0] ?? 0) - started;
    assert.ok(took >= TTL && took < TTL + c.lease.intervalMs + 300, `took ${Math.round(took)} ms`);
  });

  it("after a clean release, a replica just started takes the lease at its first try", async () => {
    const a = make("alpha");
    a.lease.start();
    await until(() => a.lease.holds(), "alpha holds");
    await a.lease.stop(true);
    const released = monotonicNow();
    const c = make("gamma");
    c.lease.start();
    await until(() => c.lease.holds(), "gamma holds");
    const took = (c.acquiredAt[0] ?? 0) - released;
    assert.ok(took < c.lease.intervalMs, `took ${Math.round(took)} ms`);
  });

  it("a replica waiting after a DEL takes the lease at once when the next term is released", async () => {
    await alphaHoldingSilently();
    await admin.del(replicaKeys(prefix, "cfg1").lease);
    const c = make("gamma");
    c.lease.start();
    await until(() => c.standby.length > 0, "gamma waits");
    // Beta waited its TTL before gamma started, took the next term and releases it while gamma still waits.
    await admin.set(replicaKeys(prefix, "cfg1").lease, "beta|99|x");
    await admin.set(replicaKeys(prefix, "cfg1").term, "beta|99|x");
    await admin.del(replicaKeys(prefix, "cfg1").lease);
    await admin.set(replicaKeys(prefix, "cfg1").released, "beta|99|x");
    const released = monotonicNow();
    await until(() => c.lease.holds(), "gamma holds");
    const took = (c.acquiredAt[0] ?? 0) - released;
    assert.ok(took < c.lease.intervalMs + 100, `took ${Math.round(took)} ms after the release`);
  });
});
