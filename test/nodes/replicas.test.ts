/**
 * The config node with Replicas on, inside Node-RED (node-red-node-test-helper), against the fake PBX and a real
 * redis-server: it polls only while it holds the lease (named after NODE_RED_REPLICA), stands by naming another
 * holder without a single poll, takes over when that lease goes, hands the lease back when the flows stop (so a
 * standby takes over at once), and never shows the Redis password.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { useRedisServer } from "../harness/redis-server";
import { freePort } from "../proxy/tinyproxy";
import { redisClient } from "../lib/replica-support";
import type { FakePbx } from "../fake-pbx";
import type { HubStatus } from "../../nodes/lib/poll/hub-types";
import type { NoojeeConfigNode } from "../../nodes/node-types";
import { configFlowNode, helper, Logged, nodes, Sent, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop, until, visibleText, API_KEY } from "./support";

describe("Replicas: the config node in Node-RED", function () {
  this.timeout(20_000);
  const server = useRedisServer();
  const locked = useRedisServer({ password: "the-right-one" });
  let redis: Redis;
  let pbx: FakePbx | undefined;
  let prefix = "";
  let n = 0;
  const previousName = process.env.NODE_RED_REPLICA;

  before(async function () {
    redis = redisClient(server.url);
    process.env.NODE_RED_REPLICA = "replica-under-test";
  });

  after(async () => {
    if (previousName === undefined) delete process.env.NODE_RED_REPLICA;
    else process.env.NODE_RED_REPLICA = previousName;
    redis?.disconnect();
  });

  beforeEach(async () => {
    prefix = `n${++n}`;
    pbx = await startFakePbx();
  });

  afterEach(async () => {
    await unloadAndStop(pbx);
    pbx = undefined;
  });

  function load(url: string): Promise<void> {
    const flow = [configFlowNode(pbx!.url, { replicas: true, redisKeyPrefix: prefix }), ...subscribeFlowNodes("a", "410")];
    return helper.load(nodes, flow, { cfg: { apiKey: API_KEY, redisUrl: url } });
  }

  it("holds the lease under its replica name and polls; a call reaches the flow; stopping hands the lease back", async () => {
    const keys = replicaKeys(prefix, "cfg");
    // A term handed back before: on an empty Redis the first start would stand by for a whole lease (10 s) first.
    await redis.mset(keys.term, "earlier|1|abcdef", keys.released, "earlier|1|abcdef");
    await load(server.url);
    await until(() => pbx!.openPolls() === 1, "a held poll");
    assert.match((await redis.get(keys.lease)) ?? "", /^replica-under-test\|\d+\|[0-9a-f]+$/);
    const sent = new Sent(helper.getNode("a"));
    const call = pbx!.startCall("410");
    await until(() => sent.all.length === 1, "the call");
    for (let i = 0; i < 100 && (await redis.get(keys.position)) === null; i++) await new Promise((r) => setTimeout(r, 20));
    await helper.unload();
    assert.equal(await redis.get(keys.lease), null, "the lease is free for a standby at once");
    assert.match((await redis.get(keys.position)) ?? "", new RegExp(call.replace(/\./g, "\\.")), "the position names the call");
  });

  it("stands by naming another holder, without polling, and takes over when its lease expires", async () => {
    const keys = replicaKeys(prefix, "cfg");
    // Held by another replica for 2 s more, then run out: its key, its shadow and the term as its acquire left them (a
    // key that vanished early, or a Redis without the term, would be waited for: a TTL).
    const token = "other-replica|7|abcdef";
    await redis.multi().set(keys.lease, token, "PX", 2000).set(keys.shadow, token, "PX", 2000).set(keys.term, token).exec();
    await load(server.url);
    const statuses = new Statuses(helper.getNode("a"));
    await statuses.waitFor((s) => String(s.text).startsWith("noojee-subscribe.status.standby") && s.fill === "grey");
    // The node's text is cut to 40 characters: the holder's name as the hub gives it.
    const hub = (helper.getNode("cfg") as unknown as NoojeeConfigNode).connection().hub;
    const seen: HubStatus[] = [];
    hub.register("probe", { extensions: [], timeoutSec: 30, onEvent: () => undefined, onStatus: (status) => seen.push(status) });
    assert.deepEqual(seen.at(-1), { state: "standby", holder: "other-replica" });
    await hub.deregister("probe");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(pbx!.subscribeRequests().length, 0, "no poll on standby");
    await until(() => pbx!.openPolls() === 1, "polling after the takeover", 8000);
    assert.match((await redis.get(keys.lease)) ?? "", /^replica-under-test\|/);
  });

  // Unencoded in the URL: base64 passwords hold "/" and "+", and "#", "?" and "@" end a URL's parts by the rules.
  for (const password of ["q8Zr/Xb2+Lk9wT", "ab/cd/ef==", "p@ss/w:rd", "x#y?z/w"]) {
    it(`a password typed unencoded in the URL (${password.replace(/[a-z0-9]/gi, "*")}) is masked in the log line`, async () => {
      const port = await freePort();
      await load(`redis://:${password}@127.0.0.1:${port}`);
      await until(() => visibleText().includes(`@127.0.0.1:${port}`), "the log line naming the URL", 8000);
      const text = visibleText();
      assert.match(text, new RegExp(`redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`), text);
      for (const form of [password, encodeURIComponent(password), ...password.split(/[/#?@:]/).filter((part) => part.length >= 3)]) {
        assert.ok(!text.includes(form), `${form} shown in ${text}`);
      }
    });
  }

  /** Loaded with `url`: the subscribe node red, no poll, the hub's reason whole, and `secret` nowhere shown. */
  async function expectCoordinationLost(url: string, secret: string, reason: string): Promise<void> {
    await load(url);
    const statuses = new Statuses(helper.getNode("a"));
    await statuses.waitFor((s) => String(s.text).startsWith("noojee-subscribe.status.coordinationLos") && s.fill === "red", 8000);
    assert.equal(pbx!.subscribeRequests().length, 0);
    // Whole, as the hub gives it (the node's status is cut to 40 characters).
    const hub = (helper.getNode("cfg") as unknown as NoojeeConfigNode).connection().hub;
    const seen: HubStatus[] = [];
    hub.register("probe", { extensions: [], timeoutSec: 30, onEvent: () => undefined, onStatus: (status) => seen.push(status) });
    assert.deepEqual(seen.at(-1), { state: "coordinationLost", reason });
    const shown = JSON.stringify([seen, statuses.all, new Logged(helper.getNode("cfg"), "warn").all]);
    assert.ok(!shown.includes(secret), shown);
    await hub.deregister("probe");
  }

  it("Redis unreachable: coordination lost, no poll, and never the password", async () => {
    const secret = "s3cret-Pw-91";
    await expectCoordinationLost(`redis://:${secret}@127.0.0.1:${await freePort()}`, secret, "Redis not reachable");
  });

  it("a wrong Redis password: coordination lost: Redis WRONGPASS, whole, no poll, and never the password", async () => {
    const secret = "wrong-Pw-77";
    await expectCoordinationLost(`redis://:${secret}@127.0.0.1:${locked.port}`, secret, "Redis WRONGPASS");
  });
});
