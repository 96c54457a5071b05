/**
 * The Replicas settings inside Node-RED: a config node with Replicas on and an unusable Redis URL (or an unset
 * `${REDIS_URL}`) stops its subscribe and presence nodes with a red "not configured" and the reason for Catch, never
 * with a password; with Replicas off the Redis settings are ignored. And Test connection against a real redis-server:
 * connected, wrong or missing password, refused port, rediss:// to a plain port, and the secret rules.
 */
import assert from "node:assert/strict";
import type { Node } from "node-red";
import { FakePbx } from "../fake-pbx";
import { useRedisServer } from "../harness/redis-server";
import { translatedNodes } from "./catalogue";
import { API_KEY, configFlowNode, FlowNode, helper, isGreen, Logged, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop } from "./support";

const PASSWORD = "hunter2-redis";
const presence: FlowNode = { id: "pres", type: "noojee-presence", server: "cfg", extensions: "410", wires: [[]] };

function creds(redis: { redisUrl?: string; redisPassword?: string }): Record<string, Record<string, string>> {
  return { cfg: { apiKey: API_KEY, ...redis } };
}

describe("noojee-config: Replicas settings at runtime", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(async () => {
    delete process.env.NOOJEE_TEST_REDIS_URL;
    await unloadAndStop(pbx);
  });

  async function loadWith(config: Record<string, unknown>, redis: { redisUrl?: string; redisPassword?: string }): Promise<Node[]> {
    await helper.load(translatedNodes, [configFlowNode(pbx.url, config), ...subscribeFlowNodes("sub", "410"), presence], creds(redis));
    return [helper.getNode("sub"), helper.getNode("pres")];
  }

  const cases: Array<[string, Record<string, unknown>, { redisUrl?: string; redisPassword?: string }, string]> = [
    ["a URL that is not redis:// or rediss://", {}, { redisUrl: `http://:${PASSWORD}@127.0.0.1:6379` },
      'Invalid Redis URL "http://:***@127.0.0.1:6379": must start with redis:// or rediss:// (TLS)'],
    ["no URL", {}, {}, "Replicas are on but no Redis URL is configured: set one, or turn Replicas off"],
    ["an unset ${REDIS_URL}", {}, { redisUrl: "${NOOJEE_TEST_REDIS_URL}" },
      "The Redis URL refers to the environment variable NOOJEE_TEST_REDIS_URL, which is not set"],
    ["a bad key prefix", { redisKeyPrefix: "my prefix" }, { redisUrl: "redis://127.0.0.1:6379" },
      'Invalid Redis key prefix "my prefix": use 1 to 64 letters, digits or : _ . -'],
  ];
  for (const [what, config, redis, reason] of cases) {
    it(`with Replicas on and ${what}: red "not configured" on subscribe and presence, the reason to Catch`, async () => {
      for (const node of await loadWith({ replicas: true, ...config }, redis)) {
        assert.deepEqual(new Statuses(node).all, [{ fill: "red", shape: "ring", text: "not configured" }], node.id);
        assert.deepEqual(new Logged(node, "error").all, [reason], node.id);
      }
      assert.equal(pbx.requests.length, 0, "nothing polls");
    });
  }

  it("with Replicas off, the Redis settings are ignored: the nodes follow calls as before", async () => {
    const [sub] = await loadWith({ replicas: false, redisKeyPrefix: "my prefix" }, { redisUrl: "http://nonsense" });
    await new Statuses(sub).waitFor(isGreen);
    assert.deepEqual(new Logged(sub, "error").all, []);
  });

  it("takes the URL from an environment variable", async () => {
    process.env.NOOJEE_TEST_REDIS_URL = "ftp://:hunter2@redis.example.com";
    const [sub] = await loadWith({ replicas: true }, { redisUrl: "${NOOJEE_TEST_REDIS_URL}" });
    assert.deepEqual(new Logged(sub, "error").all, ['Invalid Redis URL "ftp://:***@redis.example.com": must start with redis:// or rediss:// (TLS)'],
      "the variable's value was read (and its password masked)");
  });
});

describe("noojee-config: Test connection of Redis, against a real redis-server", function () {
  this.timeout(20_000);
  let pbx: FakePbx;
  const open = useRedisServer();
  const locked = useRedisServer({ password: PASSWORD });

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(async () => {
    delete process.env.NOOJEE_TEST_REDIS_URL;
    await unloadAndStop(pbx);
  });

  async function test(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await helper.request().post("/noojee-config/test").send({ host: pbx.url, apiKey: API_KEY, replicas: true, ...body }).expect(200);
    const text = JSON.stringify(response.body);
    assert.ok(!text.includes(PASSWORD) && !text.includes(API_KEY), `no secret in the answer: ${text}`);
    assert.equal((response.body as { status: string }).status, "connected", "the PBX is tested as before");
    return (response.body as { redis: Record<string, unknown> }).redis;
  }

  it("says connected, wrong password, password needed, refused, rediss:// to a plain port, not Redis, invalid URL", async () => {
    await helper.load(translatedNodes, [], {});
    assert.deepEqual(await test({ redisUrl: open.url }), { ok: true, status: "connected" });
    assert.deepEqual(await test({ redisUrl: locked.url, redisPassword: PASSWORD }), { ok: true, status: "connected" });
    assert.deepEqual(await test({ redisUrl: `redis://:${PASSWORD}@127.0.0.1:${locked.port}` }), { ok: true, status: "connected" });
    assert.deepEqual(await test({ redisUrl: locked.url, redisPassword: "wrong" }), { ok: false, status: "authFailed" });
    assert.deepEqual(await test({ redisUrl: locked.url }), { ok: false, status: "authRequired" });
    // Port 1, not a free port from the ephemeral range: on a busy machine another job took such a port between our
    // close and the test, and an HTTP server answered where Redis was looked for. Nothing of ours binds a port below 1024.
    assert.deepEqual(await test({ redisUrl: "redis://127.0.0.1:1" }), { ok: false, status: "refused" });
    assert.deepEqual(await test({ redisUrl: `rediss://127.0.0.1:${open.port}` }), { ok: false, status: "plainPort" });
    // The fake PBX is an HTTP server: a Redis URL naming a web port (Node-RED's own 1880, say).
    assert.deepEqual(await test({ redisUrl: `redis://127.0.0.1:${new URL(pbx.url).port}` }), { ok: false, status: "notRedis" });
    assert.deepEqual(await test({ redisUrl: `redis://127.0.0.1:${open.port}/x` }), { ok: false, status: "invalidUrl", reason: "path" });
    assert.deepEqual(await test({ redisUrl: "" }), { ok: false, status: "noUrl" });
    // Replicas off in the dialog: Redis is not tested at all.
    const plain = await helper.request().post("/noojee-config/test").send({ host: pbx.url, apiKey: API_KEY, redisUrl: open.url }).expect(200);
    assert.deepEqual(plain.body, { ok: true, status: "connected" });
  });

  it("sends the stored password only to the deployed node's own URL, and never reads a typed ${NAME}", async () => {
    process.env.NOOJEE_TEST_REDIS_URL = locked.url;
    await helper.load(translatedNodes, [configFlowNode(pbx.url, { replicas: true })], creds({ redisUrl: "${NOOJEE_TEST_REDIS_URL}", redisPassword: PASSWORD }));
    const stored = { id: "cfg", redisPassword: "__PWRD__" };
    assert.deepEqual(await test({ ...stored, redisUrl: "${NOOJEE_TEST_REDIS_URL}" }), { ok: true, status: "connected" }, "the deployed URL as typed");
    assert.deepEqual(await test({ ...stored, redisUrl: locked.url }), { ok: true, status: "connected" }, "the deployed URL as resolved");
    // Any other URL (here a redis-server of the test's own that would accept anything): the stored password is withheld.
    assert.deepEqual(await test({ ...stored, redisUrl: open.url }), { ok: false, status: "otherUrl" });
    assert.deepEqual(await test({ id: "new", redisUrl: "${NOOJEE_TEST_REDIS_URL}" }), { ok: false, status: "envUrl" }, "not the deployed node's");
    assert.deepEqual(await test({ id: "cfg", redisUrl: locked.url, redisPassword: "${NOOJEE_TEST_REDIS_PW}" }), { ok: false, status: "envPassword" });
    delete process.env.NOOJEE_TEST_REDIS_URL;
  });

  it("says when the deployed URL's environment variable is not set", async () => {
    await helper.load(translatedNodes, [configFlowNode(pbx.url, { replicas: true })], creds({ redisUrl: "${NOOJEE_TEST_REDIS_URL}" }));
    assert.deepEqual(await test({ id: "cfg", redisUrl: "${NOOJEE_TEST_REDIS_URL}", redisPassword: "" }), { ok: false, status: "unsetEnv", reason: "NOOJEE_TEST_REDIS_URL" });
  });
});
