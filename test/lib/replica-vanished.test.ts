/**
 * The lease key vanishing from Redis while its holder has a poll open (a manual DEL, a Redis restarted without its
 * data), against a real redis-server and the fake PBX over HTTP: the holder must not hand on what that poll brings
 * (it confirms the lease before handing anything on), and a standby that saw the holder must not take the key at once
 * (the holder's poll may still be open at the PBX). So a call started right then reaches exactly one flow, once, and
 * the PBX never holds two polls for the config node. TTL 1.5 s and a timeOut unit of 100 ms keep it quick.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { HoldLimit } from "../../nodes/lib/poll/hold-limit";
import type { HubStatus } from "../../nodes/lib/poll/hub-types";
import type { CallEvent } from "../../nodes/lib/poll/poll-types";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { ReplicatedHub } from "../../nodes/lib/replicas/replicated-hub";
import { FakePbx } from "../fake-pbx";
import { useRedisServer } from "../harness/redis-server";
import { redisClient, until } from "./replica-support";

const KEY = "replica-key-5be1c0de-77aa";
const UNIT = 100;
const TTL = 1500;

interface Replica {
  hub: ReplicatedHub;
  connections: Redis[];
  client: NoojeeClient;
  events: CallEvent[];
  statuses: HubStatus[];
  warnings: string[];
}

describe("Replicas: the lease key vanishes from Redis while its holder polls", function () {
  this.timeout(30_000);
  const server = useRedisServer();
  let admin: Redis;
  let pbx: FakePbx;
  let replicas: Replica[] = [];
  let mostPolls = 0;
  let prefix = "";
  let n = 0;

  before(async function () {
    admin = redisClient(server.url);
  });

  after(async () => {
    admin?.disconnect();
  });

  beforeEach(async () => {
    prefix = `v${++n}`;
    pbx = new FakePbx({ apiKey: KEY, timeOutUnitMs: UNIT });
    await pbx.start();
    mostPolls = 0;
    pbx.onPollsChanged = (open) => (mostPolls = Math.max(mostPolls, open));
  });

  afterEach(async () => {
    for (const replica of replicas) {
      await replica.hub.close();
      for (const connection of replica.connections) connection.disconnect();
      replica.client.close();
    }
    replicas = [];
    await pbx.stop();
  });

  function replica(name: string): Replica {
    const redis = redisClient(server.url);
    const listener = redisClient(server.url);
    const client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true, timeOutUnitMs: UNIT });
    const made: Replica = { hub: undefined as unknown as ReplicatedHub, connections: [redis, listener], client, events: [], statuses: [], warnings: [] };
    made.hub = new ReplicatedHub({
      api: { subscribe: (...args) => client.subscribe(...args) }, redis, listener, keys: replicaKeys(prefix, "cfg"), name,
      host: pbx.url, authMode: "apiKey", maxAgeMs: 3_600_000, ttlMs: TTL, marginMs: 300, pollSlackMs: 200, mirrorEveryMs: 300,
      hub: { holdLimit: new HoldLimit({ unitMs: UNIT }), random: () => 0, idleGapMs: 50, earlyReadMs: 200 },
      writer: { minIntervalMs: 20 },
      onWarning: (message) => made.warnings.push(message),
    });
    made.hub.register("sub", {
      extensions: ["410"], timeoutSec: 30,
      onEvent: (event) => made.events.push(event),
      onStatus: (status) => made.statuses.push(status),
    });
    made.hub.releaseLingering();
    replicas.push(made);
    return made;
  }

  /** Alpha holds and polls, beta stands by having seen alpha hold, and alpha has just opened a fresh long poll. */
  async function alphaPollingBetaWatching(): Promise<[Replica, Replica]> {
    const a = replica("alpha");
    await until(() => a.hub.holding, "alpha holds");
    const b = replica("beta");
    await until(() => b.statuses.at(-1)?.state === "standby", "beta on standby");
    await until(() => (admin.status === "ready"), "the admin connection");
    const asked = pbx.subscribeRequests().length;
    await until(() => pbx.subscribeRequests().length > asked && pbx.openPolls() === 1, "a fresh poll");
    return [a, b];
  }

  const deliveries = (r: Replica, call: string, status: string): CallEvent[] =>
    r.events.filter((e) => e.data.uniqueCallId === call && e.data.status === status);

  it("a DEL of the lease: what the open poll brings is dropped, the call reaches one flow once, never two polls", async () => {
    const [a, b] = await alphaPollingBetaWatching();
    assert.equal(await admin.del(replicaKeys(prefix, "cfg").lease), 1);
    const call = pbx.startCall("410"); // answered at once by alpha's open poll
    await until(() => [a, b].some((r) => deliveries(r, call, "Ringing").length > 0), "the call delivered", 15_000);
    // Whoever holds next carries on from the shared position, which the dropped answer never reached: a re-send shows.
    await until(() => (a.hub.holding || b.hub.holding) && pbx.openPolls() === 1, "one holds and polls again", 15_000);
    await new Promise((r) => setTimeout(r, 5 * UNIT));
    const count = (r: Replica): number => r.events.filter((e) => e.data.uniqueCallId === call).length;
    assert.equal(count(a) + count(b), 1, `the call delivered ${count(a) + count(b)} times (alpha ${count(a)}, beta ${count(b)})`);
    assert.equal(Number(a.hub.holding) + Number(b.hub.holding), 1, "exactly one holds");
    assert.ok(mostPolls <= 1, `${mostPolls} polls open at once`);
    // Alpha says why it stopped: whole in the log, short in the status. It learns it from the confirm before its poll's
    // answer, or from Redis refusing a position write still in flight at the DEL (CI run B, a loaded machine): both
    // say the lease is no longer its own.
    assert.ok(a.warnings.some((w) => /^coordination lost, this replica stopped polling: the lease is no longer this replica's/.test(w)), JSON.stringify(a.warnings));
    assert.ok(a.statuses.some((s) => s.state === "coordinationLost" && s.reason === "lease gone or taken"), JSON.stringify(a.statuses));
  });

  // rv-26d: a replica stopped, Redis emptied (restarted without its data, or another Redis), then a new Node-RED
  // process: nothing in it knew a term before, so the position's absence went unsaid while the calls made meanwhile
  // were never sent.
  it("a process started on a Redis emptied while Node-RED was down says in its log that the shared position is missing", async () => {
    const first = replica("alpha");
    await until(() => first.hub.holding && pbx.openPolls() === 1, "alpha polls");
    const fresh = /^no shared position in Redis yet: starting from the calls in progress\. Expected at the first start on this Redis; otherwise Redis lost its data or is another one/;
    assert.equal(first.warnings.filter((w) => fresh.test(w)).length, 1, `the first start says so too: ${JSON.stringify(first.warnings)}`);
    const call = pbx.startCall("410");
    await until(() => deliveries(first, call, "Ringing").length === 1, "the call at alpha");
    await first.hub.close(); // Node-RED stopped (SIGTERM): the lease handed back, the position written
    assert.notEqual(await admin.get(replicaKeys(prefix, "cfg").position), null, "alpha wrote the position");
    await server.kill("SIGKILL");
    await server.start(); // without its data
    await until(() => admin.status === "ready", "the admin connection back");
    pbx.update("410", call, { status: "Hungup" }); // made while Node-RED was down: lost with the position
    const next = replica("alpha"); // a new process: it knows no term before
    await until(() => next.hub.holding, "the new process holds", 15_000);
    await until(() => next.warnings.some((w) => fresh.test(w)), "its warning");
    assert.deepEqual(next.warnings.filter((w) => /shared position is gone/.test(w)), [], "it cannot know Redis had one");
  });

  it("Redis restarted without its data: never two polls, the call reaches one flow at most once, and the new holder says the position is gone", async () => {
    const [a, b] = await alphaPollingBetaWatching();
    await server.kill("SIGKILL");
    await server.start();
    await until(() => admin.status === "ready", "the admin connection back");
    const call = pbx.startCall("410");
    // Alpha may hold its old term a little longer (until its next confirm or renewal), and write-failure warnings
    // may come first: the new holder is the one that says the position is gone.
    const gone = /the shared position is gone \(Redis lost its data\?\): starting from the calls in progress/;
    await until(() => [a, b].some((r) => r.warnings.some((w) => gone.test(w))), "the new holder's warning", 15_000);
    const holder = a.warnings.some((w) => gone.test(w)) ? a : b;
    await until(() => holder.hub.holding, "the new holder holds");
    // It starts from the calls in progress once its first read is in: what changes from then on reaches its flow.
    await until(() => holder.statuses.at(-1)?.state === "listening" && pbx.openPolls() === 1, "the new holder polling");
    pbx.update("410", call, { status: "Hungup" });
    await until(() => deliveries(holder, call, "Hungup").length === 1, "the call's end at the holder");
    for (const status of ["Ringing", "Hungup"]) {
      const count = deliveries(a, call, status).length + deliveries(b, call, status).length;
      assert.ok(count <= 1, `${status} delivered ${count} times`);
    }
    assert.equal(Number(a.hub.holding) + Number(b.hub.holding), 1, "exactly one holds");
    assert.ok(mostPolls <= 1, `${mostPolls} polls open at once`);
  });
});
