/**
 * End to end, replicas (issue 26): three real Node-RED processes with the packed package, the same flows, one real
 * redis-server (append-only, so that a restart keeps the lease, fence and position) and the fake PBX. Each replica
 * reaches the PBX through a proxy of its own (test/harness/tagging-proxy.ts), so each request is known by sender;
 * msgs and statuses come back over UDP tagged with the replica.
 *
 * One poller, the others on standby naming it; the holder killed (SIGKILL) three times, the calls made meanwhile
 * delivered by the next holder (once per change; any re-send with the same eventId); the holder paused (SIGSTOP) past
 * its TTL and resumed: it sends and polls nothing until it holds the lease again; Redis restarted: nobody polls while
 * it is down, one replica takes over once it is back; a deploy on one replica; a presence query on a standby; answer,
 * dial, hangup and record on whichever replica gets the msg, a standby, the holder, and a standby while Redis is down.
 *
 * Without redis-server the suite is skipped with a message, unless NOOJEE_REQUIRE_REDIS=1 (CI), which fails it.
 */
import assert from "node:assert/strict";
import { API_BASE, FakePbx } from "../fake-pbx";
import { ACT_PATH, type Action, actNodeId } from "../harness/action-flows";
import { requireRedis, RedisServer } from "../harness/redis-server";
import { LeaseReader, ReplicaSet } from "../harness/replica-set";
import { PRESENCE_PATH, replicaCredentials, replicaFlows } from "../harness/replica-flows";
import { type Datagram, UdpInbox } from "../harness/udp-inbox";
import { deployAndWait } from "../perf/common";

const API_KEY = "replica-e2e-key-5a1c";
const EXTENSIONS = ["400", "401", "402"];
const TTL_MS = 10_000;
/** A takeover: the lease's TTL, a poll (Long poll 2 s) and room for a loaded machine. */
const TAKEOVER_MS = TTL_MS + 12_000;

const isMsg = (d: Datagram): boolean => d.kind === undefined && d.node === "sub-1";
const isStatus = (d: Datagram): boolean => d.kind === "status" && d.source === "sub-1";
/** What each call-control node's status says once the PBX accepted its request (the nodes' catalogues). */
const ACTED: Record<Action, string> = { answer: "answered", dial: "dialing started", hangup: "hung up", record: "recording" };
/** The PBX method each of them calls (the last part of the request's path). */
const METHOD: Record<Action, string> = { answer: "answer", dial: "dial", hangup: "hangup", record: "start" };

/** True when a saved position's text names at least one poll's seq (what a next holder carries on from). */
function pollsStored(text: string | undefined): boolean {
  const polls = text === undefined ? undefined : (JSON.parse(text) as { polls?: { seq?: unknown }[] }).polls;
  return polls?.some((p) => typeof p.seq === "number") ?? false;
}

/** Polls `check` every 50 ms (Redis has no event to await here) until it returns a value. */
async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("replicas end to end: three Node-RED processes, one Redis, one PBX", function () {
  this.timeout(180_000);
  let pbx: FakePbx;
  let redis: RedisServer | undefined;
  let inbox: UdpInbox;
  let set: ReplicaSet | undefined;
  let lease: LeaseReader;
  let deploys = 0;
  let callCounter = 0;
  let acts = 0;
  let maxOpen = 0;
  const overlaps: number[] = [];
  let openSince: number | undefined;

  const flows = (): ReturnType<typeof replicaFlows> => replicaFlows({ pbxUrl: pbx.url, extensions: EXTENSIONS, udpPort: inbox.port, deploy: deploys, actions: true });
  const holder = (): Promise<string | undefined> => lease.holder().then((h) => h?.name);

  /** Waits for a holder of the lease that is not `not`, and returns its name. */
  const newHolder = (not: string | undefined, timeoutMs = TAKEOVER_MS): Promise<string> =>
    until(async () => {
      const name = await holder();
      return name !== undefined && name !== not ? name : undefined;
    }, `a lease holder other than ${not ?? "none"}`, timeoutMs);

  /** A call on `exten` that rings, connects and ends (three changes); returns its id. */
  function call(exten: string, statuses = ["Ringing", "Connected", "Hungup"]): string {
    const id = `rep.${++callCounter}`;
    pbx.startCall(exten, { uniqueCallId: id, status: statuses[0], inbound: true });
    for (const status of statuses.slice(1)) pbx.update(exten, id, { status, canAnswer: false });
    return id;
  }

  /** Each change of call `id` reached a flow, and every sending of one change carried the same eventId. */
  async function deliveredOnce(id: string, statuses: string[], by: (d: Datagram) => boolean, what: string): Promise<Datagram[]> {
    const got: Datagram[] = [];
    for (const status of statuses) {
      got.push(await inbox.waitFor((d) => isMsg(d) && d.uniqueCallId === id && d.status === status && by(d), `${what}: ${id} ${status}`, TAKEOVER_MS));
    }
    for (const status of statuses) {
      const sendings = inbox.received.filter((d) => isMsg(d) && d.uniqueCallId === id && d.status === status);
      const ids = new Set(sendings.map((d) => d.eventId));
      assert.equal(ids.size, 1, `${id} ${status} was sent with ${ids.size} eventIds: ${JSON.stringify(sendings)}`);
      assert.ok(!ids.has(undefined), `${id} ${status} has no eventId`);
    }
    return got;
  }

  /** Resolves with a standby status of replica `name` naming `holding`, shown at or after `since`. */
  const standbyShown = (name: string, holding: string, since: number): Promise<Datagram> =>
    inbox.waitFor((d) => isStatus(d) && d.replica === name && d.text === `standby · ${holding} polls`, `${name}'s standby status naming ${holding}`, TAKEOVER_MS, since);

  /**
   * Sends `fields` as a msg into replica `name`'s `action` node (over HTTP, action-flows.ts) and resolves with the
   * node's output msg; fails with the node's error when it went to Catch instead.
   */
  async function act(name: string, action: Action, fields: Record<string, unknown>): Promise<Datagram> {
    const topic = `act.${++acts}`;
    const since = Date.now();
    const res = await set!.get(name).nr.request("POST", `${ACT_PATH}/${action}`, {
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ topic, ...fields }),
    });
    assert.equal(res.status, 202, `POST ${ACT_PATH}/${action} on ${name}: HTTP ${res.status} ${res.text}`);
    const out = await inbox.waitFor((d) => d.topic === topic && (d.node === actNodeId(action) || d.kind === "error"), `${name}'s ${action} msg`, 15_000, since);
    assert.equal(out.kind, undefined, `${name}'s ${action} went to Catch: ${String(out.message)}`);
    assert.equal(out.replica, name, `the ${action} msg came from ${String(out.replica)}`);
    assert.equal(out.Code, 0, `the PBX refused ${name}'s ${action}: ${JSON.stringify(out)}`);
    return out;
  }

  /**
   * On replica `name`: a ringing call answered, recorded and hung up, and a dial, each by that replica's node. Each
   * request reached the PBX once, through `name` (its proxy), and each node sent its msg and showed its green status.
   */
  async function actsOn(name: string, what: string): Promise<void> {
    const since = Date.now();
    const id = `rep.${++callCounter}`;
    const number = `0355501${String(100 + acts)}`;
    pbx.startCall("400", { uniqueCallId: id, status: "Ringing", inbound: true, canAnswer: true });
    await act(name, "answer", { uniqueCallId: id, extension: "400" });
    assert.equal(pbx.leg(id)?.status, "Connected", `${what}: the ringing call was not answered`);
    await act(name, "record", { uniqueCallId: id });
    await act(name, "hangup", { uniqueCallId: id });
    assert.equal(pbx.leg(id), undefined, `${what}: the call did not end`);
    const dialed = await act(name, "dial", { number, extension: "401" });
    const leg = pbx.dialed.find((d) => d.sessionId === dialed.SessionID);
    assert.ok(leg?.exten === "401", `${what}: no dial from 401 with the SessionID the node sent on`);
    pbx.update("401", leg.uniqueCallId, { status: "Hungup", canAnswer: false }); // leave 401 idle for the next test

    const through = set!.requests.filter((q) => q.wall >= since && !q.path.endsWith("/subscribe"));
    assert.deepEqual(through.map((q) => `${q.replica} ${q.path.split("/").pop()}`), (["answer", "record", "hangup", "dial"] as const).map((a) => `${name} ${METHOD[a]}`),
      `${what}: the requests that reached the PBX, by sender`);
    const at = (method: string, test: (q: Record<string, string>) => boolean): number =>
      pbx.requests.filter((r) => r.path === API_BASE + method && test(r.query)).length;
    assert.equal(at("answer", (q) => q.uniqueId === id), 1, `${what}: answers of ${id} at the PBX`);
    assert.equal(at("start", (q) => q.extenOrUniqueId === id), 1, `${what}: recording starts of ${id} at the PBX`);
    assert.deepEqual(pbx.recordings.filter((r) => r.uniqueCallId === id).map((r) => r.action), ["start"], `${what}: recordings of ${id}`);
    assert.equal(at("hangup", (q) => q.extenOrUniqueId === id), 1, `${what}: hangups of ${id} at the PBX`);
    assert.equal(at("dial", (q) => q.number === number), 1, `${what}: dials of ${number} at the PBX`);
    for (const action of ["answer", "record", "hangup", "dial"] as const) {
      await inbox.waitFor((d) => d.kind === "status" && d.source === actNodeId(action) && d.replica === name && d.fill === "green" && d.text === ACTED[action],
        `${what}: ${name}'s ${action} status "${ACTED[action]}"`, 5_000, since);
    }
  }

  before(async function () {
    requireRedis(this);
    pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 5 });
    await pbx.start();
    pbx.onPollsChanged = (open) => {
      maxOpen = Math.max(maxOpen, open);
      if (open >= 2 && openSince === undefined) openSince = performance.now();
      if (open < 2 && openSince !== undefined) {
        overlaps.push(performance.now() - openSince);
        openSince = undefined;
      }
    };
    redis = new RedisServer(true);
    await redis.start();
    inbox = new UdpInbox();
    await inbox.start();
    lease = new LeaseReader(redis.url, "noojee:cfg:lease");
    await lease.connect();
    set = await ReplicaSet.start({ count: 3, settings: { logging: { console: { level: "warn", metrics: false, audit: false } } } });
    deploys += 1;
    for (const r of set.replicas) await deployAndWait(r.nr, flows(), deploys, replicaCredentials(API_KEY, redis.url));
  });

  after(async function () {
    this.timeout(60_000);
    lease?.close();
    await set?.stop();
    await inbox?.stop();
    await redis?.stop();
    await pbx?.stop();
  });

  it("one replica polls; the others show standby naming it and send nothing", async () => {
    const polling = await newHolder(undefined);
    const others = set!.replicas.filter((r) => r.name !== polling).map((r) => r.name);
    await Promise.all(others.map((name) => standbyShown(name, polling, 0)));
    const id = call("400");
    await deliveredOnce(id, ["Ringing", "Connected", "Hungup"], (d) => d.replica === polling, "the holder's msgs");
    const pollers = new Set(set!.requests.filter((q) => q.path.endsWith("/subscribe")).map((q) => q.replica));
    assert.deepEqual([...pollers], [polling], "only the lease holder ever asked the PBX for subscribe");
    assert.deepEqual(inbox.received.filter((d) => isMsg(d) && d.replica !== polling), [], "a standby sent msgs");
  });

  it("the holder killed three times: each time another takes over and the calls made meanwhile reach a flow once", async () => {
    for (let round = 0; round < 3; round++) {
      const dead = await newHolder(undefined);
      // A holder killed before it stored a poll's seq leaves nothing to carry on from (the next one starts from the calls
      // in progress, as at a first start). The position a fresh holder writes as it starts names no poll yet, and the
      // first holder comes a lease time after the start: so wait for a stored seq, not just for the key.
      await until(async () => (pollsStored(await lease.read("noojee:cfg:position")) ? true : undefined), "a shared position with a poll's seq", TAKEOVER_MS);
      await set!.kill(dead);
      const id = call(EXTENSIONS[round % EXTENSIONS.length]); // made while nobody polls
      const next = await newHolder(dead);
      await deliveredOnce(id, ["Ringing", "Connected", "Hungup"], (d) => d.replica === next, `round ${round + 1}, after ${dead} was killed`);
      const back = Date.now();
      await set!.restart(dead); // its flows come back from its user dir, on standby
      await standbyShown(dead, next, back);
    }
  });

  it("a holder paused past its TTL (SIGSTOP) sends and polls nothing after SIGCONT while another holds the lease", async () => {
    const paused = await newHolder(undefined);
    set!.pause(paused);
    const during = call("401");
    const next = await newHolder(paused);
    await deliveredOnce(during, ["Ringing", "Connected", "Hungup"], (d) => d.replica === next, `while ${paused} was paused`);
    const woke = Date.now();
    set!.resume(paused);
    await standbyShown(paused, next, woke);
    const after = call("402");
    await deliveredOnce(after, ["Ringing", "Connected", "Hungup"], (d) => d.replica === next, `after ${paused} woke`);
    assert.equal(await holder(), next, "the lease changed hands again");
    assert.deepEqual(set!.requestsFrom(paused, woke), [], `${paused} asked the PBX for subscribe after it woke`);
    assert.deepEqual(inbox.received.filter((d) => isMsg(d) && d.replica === paused && d.wall >= woke), [], `${paused} sent msgs after it woke`);
  });

  it("Redis restarted: the holder goes red, nobody polls while it is down, one replica takes over once it is back", async () => {
    const was = await newHolder(undefined);
    const down = Date.now();
    await redis!.kill("SIGKILL");
    let during: string;
    try {
      const red = await inbox.waitFor((d) => isStatus(d) && d.replica === was && d.fill === "red" && String(d.text).startsWith("coordination lost"),
        `${was}'s red coordination-lost status`, TTL_MS + 5_000, down);
      // Down past a lease's TTL: had anyone taken a lease it could not check, it would poll by now.
      during = call("400");
      const outageEnds = Date.now() + TTL_MS + 2_000;
      // The call-control nodes need no lease: on a standby that found Redis gone, they act as ever.
      const standby = set!.replicas.find((r) => r.name !== was)!.name;
      await inbox.waitFor((d) => isStatus(d) && d.replica === standby && d.fill === "red" && String(d.text).startsWith("coordination lost"),
        `${standby}'s red coordination-lost status`, TTL_MS, down);
      await actsOn(standby, `on ${standby} (standby) while Redis was down`);
      await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now()))); // the duration of the outage itself, not a wait for an event
      const quietFrom = Number(red.wall);
      assert.deepEqual(set!.requests.filter((q) => q.path.endsWith("/subscribe") && q.wall > quietFrom), [], "a replica polled while Redis was down");
    } finally {
      await redis!.start(); // also after a failure above: the tests after this one need Redis
    }
    const next = await newHolder(undefined, TAKEOVER_MS);
    await deliveredOnce(during, ["Ringing", "Connected", "Hungup"], () => true, `after Redis came back (holder ${next})`);
  });

  it("a deploy on one replica leaves one poller: on a standby, then on the holder", async () => {
    const polling = await newHolder(undefined);
    const standby = set!.replicas.find((r) => r.name !== polling)!;
    deploys += 1;
    const since = Date.now();
    // A full deploy: its config node starts again, on standby (the flow's status node may start after the subscribe
    // node showed it, so the requests tell, not the status).
    await deployAndWait(standby.nr, flows(), deploys, replicaCredentials(API_KEY, redis!.url));
    const id = call("401");
    await deliveredOnce(id, ["Ringing", "Connected", "Hungup"], (d) => d.replica === polling, "after a deploy on a standby");
    // The holder may have delivered it from a poll it opened before the deploy: what matters is that nobody else polled.
    const pollers = new Set(set!.requests.filter((q) => q.wall >= since && q.path.endsWith("/subscribe")).map((q) => q.replica));
    assert.deepEqual([...pollers].filter((name) => name !== polling), [], "only the holder polled after the deploy on a standby");
    // On the holder: its config node is replaced; whoever holds the lease next carries on (no two polls: the last test).
    deploys += 1;
    await deployAndWait(set!.get(polling).nr, flows(), deploys, replicaCredentials(API_KEY, redis!.url));
    const after = call("402");
    await deliveredOnce(after, ["Ringing", "Connected", "Hungup"], () => true, "after a deploy on the holder");
  });

  it("a presence query on a standby answers the shared state", async () => {
    const polling = await newHolder(undefined);
    const standby = set!.replicas.find((r) => r.name !== polling)!;
    const id = `rep.${++callCounter}`;
    pbx.startCall("402", { uniqueCallId: id, status: "Ringing", inbound: true });
    await inbox.waitFor((d) => isMsg(d) && d.uniqueCallId === id && d.status === "Ringing", `${id} Ringing`, TAKEOVER_MS);
    const ask = async (): Promise<string | undefined> => {
      const res = await standby.nr.request("GET", `${PRESENCE_PATH}?ext=402`, { headers: { Accept: "application/json" } });
      return res.status === 200 ? String((JSON.parse(res.text) as { state?: unknown }).state) : undefined;
    };
    // The standby mirrors what the holder wrote to Redis: it follows within a write of the position.
    await until(async () => ((await ask()) === "ringing" ? true : undefined), `${standby.name}'s presence of 402 ringing`, 10_000);
    pbx.update("402", id, { status: "Hungup", canAnswer: false });
    await until(async () => ((await ask()) === "idle" ? true : undefined), `${standby.name}'s presence of 402 idle again`, 10_000);
  });

  it("answer, dial, hangup and record act on the replica that gets the msg: a standby, then the holder", async () => {
    const polling = await newHolder(undefined);
    const standby = set!.replicas.find((r) => r.name !== polling)!.name;
    await actsOn(standby, `on ${standby} (standby)`);
    await actsOn(polling, `on ${polling} (holder)`);
  });

  it("never had two polls open at once", () => {
    if (openSince !== undefined) overlaps.push(performance.now() - openSince); // still open now: counts too
    assert.deepEqual(overlaps.filter((ms) => ms > 20), [], `two polls open at once (most at once: ${maxOpen})`);
  });
});
