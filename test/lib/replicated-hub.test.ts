/**
 * Two replicas of one config node in one process (each its own ioredis connections and HTTP client), coordinated
 * through a real redis-server, polling the fake PBX over HTTP (test/fake-pbx.ts): one polls, the other stands by naming
 * the holder; the holder cut off from Redis stops and the other carries on from the shared position (nothing lost,
 * re-sends with the same eventId); a frozen holder hands nothing on after its deadline; a presence-style subscriber on
 * the standby gets the shared calls in progress; Redis down means nobody polls, and back, one. Throughout, the PBX
 * never holds two polls at once for the config node. TTL 1.5 s and a timeOut unit of 100 ms keep it quick.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { HoldLimit } from "../../nodes/lib/poll/hold-limit";
import type { HubStatus, Subscriber } from "../../nodes/lib/poll/hub-types";
import type { CallEvent, SubscribeApi } from "../../nodes/lib/poll/poll-types";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { STATUS_ROOM } from "../../nodes/lib/replicas/redis-errors";
import { ReplicatedHub } from "../../nodes/lib/replicas/replicated-hub";
import { FakePbx } from "../fake-pbx";
import { useRedisServer } from "../harness/redis-server";
import { freeze, redisClient, until } from "./replica-support";

const KEY = "replica-key-5be1c0de-77aa";
const UNIT = 100;
const TTL = 1500;

interface Replica {
  name: string;
  hub: ReplicatedHub;
  redis: Redis;
  listener: Redis;
  client: NoojeeClient;
  events: CallEvent[];
  statuses: HubStatus[];
  /** Events handed on while this replica did not hold the lease: must stay empty. */
  unheld: CallEvent[];
  warnings: string[];
}

describe("Replicas: two ReplicatedHubs on one PBX through a real Redis", function () {
  this.timeout(40_000);
  const server = useRedisServer();
  let pbx: FakePbx;
  let replicas: Replica[] = [];
  let mostPolls = 0;
  let prefix = "";
  let n = 0;

  beforeEach(async () => {
    freezeOnAnswer = undefined;
    prefix = `h${++n}`;
    pbx = new FakePbx({ apiKey: KEY, timeOutUnitMs: UNIT });
    await pbx.start();
    mostPolls = 0;
    pbx.onPollsChanged = (open) => (mostPolls = Math.max(mostPolls, open));
  });

  afterEach(async () => {
    server.resume();
    for (const replica of replicas) {
      await replica.hub.close();
      replica.redis.disconnect();
      replica.listener.disconnect();
      replica.client.close();
    }
    replicas = [];
    await pbx.stop();
    if (!server.running) await server.start();
  });

  /** Set to freeze the process as soon as the next answer with entries is in, before the replica handles it. */
  let freezeOnAnswer: number | undefined;

  function replica(name: string, extensions = ["410"], mirror?: { calls: Map<string, CallEvent[]> }): Replica {
    const redis = redisClient(server.url);
    const listener = redisClient(server.url);
    const client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true, timeOutUnitMs: UNIT });
    const api: SubscribeApi = {
      subscribe: (...args) => client.subscribe(...args).then((response) => {
        const entries = Object.keys(response.Data ?? {}).length > 0;
        if (freezeOnAnswer !== undefined && entries && Number(args[1]) > 0) {
          const ms = freezeOnAnswer;
          freezeOnAnswer = undefined;
          freeze(ms);
        }
        return response;
      }),
    };
    const hub = new ReplicatedHub({
      api, redis, listener, keys: replicaKeys(prefix, "cfg"), name, host: pbx.url, authMode: "apiKey",
      maxAgeMs: 3_600_000, ttlMs: TTL, marginMs: 300, pollSlackMs: 200, mirrorEveryMs: 300,
      hub: { holdLimit: new HoldLimit({ unitMs: UNIT }), random: () => 0, idleGapMs: 50, earlyReadMs: 200 },
      writer: { minIntervalMs: 20 },
      onWarning: (message) => made.warnings.push(message),
    });
    const made: Replica = { name, hub, redis, listener, client, events: [], statuses: [], unheld: [], warnings: [] };
    const subscriber: Subscriber = {
      extensions, timeoutSec: 30,
      onEvent: (event) => {
        made.events.push(event);
        if (!hub.holding) made.unheld.push(event);
      },
      onStatus: (status) => made.statuses.push(status),
      ...(mirror ? { mirror: true, onCurrentState: (extension: string, calls: CallEvent[]) => mirror.calls.set(extension, calls) } : {}),
    };
    hub.register("sub", subscriber);
    hub.releaseLingering();
    replicas.push(made);
    return made;
  }

  const changes = (events: CallEvent[]): string[] => events.map((e) => `${e.data.uniqueCallId}:${e.data.status}`);
  const last = (r: Replica): HubStatus | undefined => r.statuses.at(-1);

  /** The holder has an open long poll: whatever changes now is seen by it. */
  const polling = (): Promise<void> => until(() => pbx.openPolls() === 1, "a held poll");

  it("one replica polls, the other is on standby naming it; a call reaches the holder's flow only", async () => {
    const a = replica("alpha");
    await until(() => a.hub.holding, "alpha holds");
    const b = replica("beta");
    await until(() => last(b)?.state === "standby", "beta on standby");
    assert.deepEqual(last(b), { state: "standby", holder: "alpha" });
    await polling();
    const call = pbx.startCall("410");
    pbx.update("410", call, { status: "Connected" });
    await until(() => a.events.length === 2, "the call at alpha");
    await new Promise((r) => setTimeout(r, 3 * UNIT));
    assert.deepEqual(changes(a.events), [`${call}:Ringing`, `${call}:Connected`]);
    assert.deepEqual(b.events, []);
    assert.equal(b.hub.inner, undefined, "beta runs no polls");
    assert.ok(mostPolls <= 1, `${mostPolls} polls open at once`);
    // Capped below the lease: a "30 s" poll is asked for at most capSec.
    const asked = pbx.subscribeRequests().map((r) => Number(r.query.timeOut));
    assert.ok(Math.max(...asked) <= a.hub.capSec && a.hub.capSec > 0, `timeOuts ${asked.join(",")}, cap ${a.hub.capSec}`);
  });

  it("finding the key still held by its own former term, a replica never names itself as the one polling", async () => {
    const keys = replicaKeys(prefix, "cfg");
    // A term of alpha's lost unrenewed (its renewal unanswered past the deadline), its token still in Redis.
    const admin = redisClient(server.url);
    await admin.set(keys.lease, "alpha|4|0a1b2c3d", "PX", TTL);
    admin.disconnect();
    const a = replica("alpha");
    await until(() => last(a)?.state === "standby", "alpha on standby");
    assert.deepEqual(last(a), { state: "standby", holder: undefined, ownFormer: true });
    await until(() => a.hub.holding, "alpha holds once that term ran out", 3 * TTL);
    assert.ok(!a.statuses.some((s) => s.state === "standby" && s.holder === "alpha"), JSON.stringify(a.statuses));
  });

  it("after a CLIENT PAUSE past its deadline the holder never names itself as the one polling", async () => {
    const a = replica("alpha");
    await until(() => a.hub.holding, "alpha holds");
    const admin = redisClient(server.url);
    // Nothing answers for 3.5 s: alpha loses its term, hands it back, and its tries queue up. Once Redis answers,
    // the first try takes a new term, too late to use (handed back too), and the next ones find that term in the key.
    await admin.call("CLIENT", "PAUSE", "3500", "ALL");
    admin.disconnect();
    await until(() => last(a)?.state === "coordinationLost", "alpha stops");
    await until(() => a.hub.holding, "alpha holds again", 4 * TTL);
    const own = a.statuses.filter((s) => s.state === "standby" && (s.ownFormer === true || s.holder === "alpha"));
    assert.ok(own.length > 0, `alpha found a term of its own in the key: ${JSON.stringify(a.statuses)}`);
    assert.deepEqual(own.filter((s) => s.state === "standby" && s.holder === "alpha"), [], "alpha never shows itself as the one polling");
  });

  it("the holder cut off from Redis stops; the other takes over within TTL + a poll and loses nothing, re-sends keep their eventId", async () => {
    const a = replica("alpha");
    await until(() => a.hub.holding, "alpha holds");
    const b = replica("beta");
    await until(() => last(b)?.state === "standby", "beta on standby");
    await polling();
    const first = pbx.startCall("410", { callerId: "0411000001" });
    await until(() => a.events.length === 1, "the first call at alpha");
    await new Promise((r) => setTimeout(r, 100)); // its position written
    a.redis.disconnect(); // alpha's renewals fail from now on: like a lost network
    const cut = Date.now();
    await until(() => last(a)?.state === "coordinationLost", "alpha stops");
    assert.equal(a.hub.holding, false);
    // While nobody polls: changes that must not be lost.
    pbx.update("410", first, { status: "Connected" });
    const second = pbx.startCall("410", { callerId: "0411000002" });
    pbx.update("410", second, { status: "Hungup", hangupCause: "NO_ANSWER" });
    await until(() => b.hub.holding, "beta takes over");
    assert.ok(Date.now() - cut < TTL + 1000, `took ${Date.now() - cut} ms`);
    await until(() => b.events.some((e) => e.data.uniqueCallId === second && e.data.status === "Hungup"), "the gap's changes at beta");
    const seen = new Set([...changes(a.events), ...changes(b.events)]);
    for (const change of [`${first}:Ringing`, `${first}:Connected`, `${second}:Ringing`, `${second}:Hungup`]) assert.ok(seen.has(change), change);
    // A change both got is the same change: the same id.
    for (const event of b.events) {
      const before = a.events.find((e) => e.data.uniqueCallId === event.data.uniqueCallId && e.data.status === event.data.status);
      if (before) assert.equal(event.eventId, before.eventId, `${event.data.status} re-sent with its id`);
    }
    assert.deepEqual(a.unheld, []);
    assert.ok(mostPolls <= 1, `${mostPolls} polls open at once`);
  });

  it("a holder frozen past its TTL between an answer and its handling hands nothing on; the change reaches a flow once held again", async () => {
    const a = replica("alpha");
    await until(() => a.hub.holding, "alpha holds");
    const b = replica("beta");
    await until(() => last(b)?.state === "standby", "beta on standby");
    await polling();
    freezeOnAnswer = TTL + 300; // like a GC pause or SIGSTOP right after the answer was read
    const call = pbx.startCall("410");
    await until(() => freezeOnAnswer === undefined, "the answer came, and the freeze");
    assert.equal(a.hub.holding, false, "alpha woke holding nothing");
    await until(() => [a, b].some((r) => r.events.some((e) => e.data.uniqueCallId === call)), "the call at one replica", 10_000);
    assert.deepEqual(a.unheld, [], "nothing handed on without the lease");
    assert.deepEqual(b.unheld, []);
    assert.ok(mostPolls <= 1, `${mostPolls} polls open at once`);
  });

  it("a presence-style subscriber on the standby gets the holder's calls in progress", async () => {
    const a = replica("alpha");
    await until(() => a.hub.holding, "alpha holds");
    const mirrored = { calls: new Map<string, CallEvent[]>() };
    const b = replica("beta", ["410"], mirrored);
    await until(() => last(b)?.state === "standby", "beta on standby");
    await polling();
    const call = pbx.startCall("410");
    await until(() => mirrored.calls.get("410")?.length === 1, "the ringing call mirrored");
    const ringing = a.events.find((e) => e.data.uniqueCallId === call);
    assert.equal(mirrored.calls.get("410")?.[0]?.eventId, ringing?.eventId);
    pbx.update("410", call, { status: "Hungup" });
    await until(() => mirrored.calls.get("410")?.length === 0, "the call's end mirrored");
    assert.deepEqual(b.events, [], "no call event on the standby");
  });

  it("Redis down: the holder goes coordination lost and nobody polls; Redis back: one holds again", async () => {
    const a = replica("alpha");
    await until(() => a.hub.holding, "alpha holds");
    const b = replica("beta");
    await until(() => last(b)?.state === "standby", "beta on standby");
    await polling();
    await server.kill();
    const down = Date.now();
    await until(() => last(a)?.state === "coordinationLost" && last(b)?.state === "coordinationLost", "both lost");
    assert.ok(Date.now() - down < TTL, "before the lease could have expired");
    // The status's reason fits after "coordination lost: " whole (rv-26d: "Redis: Redis not rea…"); the log has it all.
    const reasons = [a, b].flatMap((r) => r.statuses.flatMap((s) => (s.state === "coordinationLost" ? [s.reason] : [])));
    for (const reason of reasons) assert.ok(reason.length <= STATUS_ROOM, `"${reason}" is cut in a status`);
    const stopped = a.warnings.filter((w) => w.startsWith("coordination lost, this replica stopped polling: "));
    assert.equal(stopped.length, 1, JSON.stringify(a.warnings));
    assert.match(stopped[0] ?? "", /: Redis: /);
    assert.deepEqual(b.warnings.filter((w) => w.startsWith("coordination lost")), [], "the standby stopped nothing");
    await until(() => pbx.openPolls() === 0, "no poll open");
    const asked = pbx.subscribeRequests().length;
    await new Promise((r) => setTimeout(r, TTL));
    assert.equal(pbx.subscribeRequests().length, asked, "nobody polls while Redis is down");
    await server.start();
    await until(() => a.hub.holding || b.hub.holding, "one holds again", 15_000);
    await polling();
    const call = pbx.startCall("410");
    await until(() => [a, b].some((r) => r.events.some((e) => e.data.uniqueCallId === call)), "a new call delivered");
    assert.equal(Number(a.hub.holding) + Number(b.hub.holding), 1);
    assert.ok(mostPolls <= 1, `${mostPolls} polls open at once`);
  });
});
