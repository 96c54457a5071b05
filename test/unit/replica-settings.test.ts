/**
 * The Replicas settings as the runtime reads them (nodes/replica-settings.ts), the Redis URL rules and masking
 * (nodes/lib/redis-url.ts), and the editor's validators agreeing with them value for value.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { replicaSettings } from "../../nodes/replica-settings";
import { maskRedisUrl, parseRedisUrl, redactRedisText } from "../../nodes/lib/redis-url";
import { redactRedis } from "../../nodes/lib/replicas/redis-errors";
import { replicaKeys } from "../../nodes/lib/replicas/keys";

const t = (key: string, values?: Record<string, string | number>): string => (values ? `${key} ${JSON.stringify(values)}` : key);
const on = { replicas: true };

function thrown(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail("expected an error");
}

describe("Replicas settings", () => {
  it("are off unless replicas is true (missing, as in flows saved before it existed, is off)", () => {
    for (const replicas of [undefined, false, "true", 1]) {
      assert.equal(replicaSettings({ replicas }, { redisUrl: "nonsense" }, t), undefined, String(replicas));
    }
  });

  it("give the URL, the password and the key prefix (default noojee)", () => {
    assert.deepEqual(replicaSettings(on, { redisUrl: " redis://127.0.0.1:6379/2 " }, t), {
      url: "redis://127.0.0.1:6379/2", password: undefined, keyPrefix: "noojee", shown: "redis://127.0.0.1:6379/2",
    });
    assert.deepEqual(replicaSettings({ ...on, redisKeyPrefix: "site-a:pbx.1" }, { redisUrl: "rediss://:s3cret@redis.example.com" }, t), {
      url: "rediss://:s3cret@redis.example.com", password: "s3cret", keyPrefix: "site-a:pbx.1", shown: "rediss://:***@redis.example.com",
    });
    assert.equal(replicaSettings({ ...on, redisKeyPrefix: "" }, { redisUrl: "redis://h" }, t)?.keyPrefix, "noojee");
  });

  it("take the Password field over a password in the URL, percent-decoded", () => {
    assert.equal(replicaSettings(on, { redisUrl: "redis://u:in%40url@h", redisPassword: "field" }, t)?.password, "field");
    assert.equal(replicaSettings(on, { redisUrl: "redis://u:in%40url@h", redisPassword: "" }, t)?.password, "in@url");
  });

  it("say what is wrong, never with the password", () => {
    assert.equal(thrown(() => replicaSettings(on, undefined, t)), "noojee-config.error.noRedisUrl");
    assert.equal(thrown(() => replicaSettings(on, { redisUrl: "  " }, t)), "noojee-config.error.noRedisUrl");
    // Node-RED leaves an unset variable's reference as it is.
    assert.equal(thrown(() => replicaSettings(on, { redisUrl: "${REDIS_URL}" }, t)), 'noojee-config.error.unsetRedisUrlEnv {"name":"REDIS_URL"}');
    assert.equal(thrown(() => replicaSettings(on, { redisUrl: "redis://h", redisPassword: "${REDIS_PW}" }, t)),
      'noojee-config.error.unsetRedisPasswordEnv {"name":"REDIS_PW"}');
    const bad = thrown(() => replicaSettings(on, { redisUrl: "http://:hunter2@h:6379" }, t));
    assert.equal(bad, 'noojee-config.error.invalidRedisUrl {"url":"http://:***@h:6379","reason":"noojee-config.validation.redisReason.scheme"}');
    const badPort = thrown(() => replicaSettings(on, { redisUrl: "redis://bob:hunter2@h:70000" }, t));
    assert.match(badPort, /redisReason\.port/);
    assert.ok(!badPort.includes("hunter2"), badPort);
    for (const prefix of ["a b", "x*", "a".repeat(65), 5]) {
      assert.match(thrown(() => replicaSettings({ ...on, redisKeyPrefix: prefix as string }, { redisUrl: "redis://h" }, t)), /error\.invalidKeyPrefix/);
    }
    assert.equal(replicaSettings({ ...on, redisKeyPrefix: "a".repeat(64) }, { redisUrl: "redis://h" }, t)?.keyPrefix.length, 64);
  });

  it("name each configuration node's keys <prefix>:<configId>:lease|position|fence", () => {
    assert.deepEqual(replicaKeys("noojee", "a1b2"), { lease: "noojee:a1b2:lease", position: "noojee:a1b2:position", fence: "noojee:a1b2:fence", changed: "noojee:a1b2:changed", released: "noojee:a1b2:released", term: "noojee:a1b2:term", shadow: "noojee:a1b2:shadow" });
  });
});

/** URLs and what the runtime makes of them: null for usable, else the reason. */
const URLS: Array<[string, string | null]> = [
  ["redis://127.0.0.1", null], ["redis://127.0.0.1:6379", null], ["rediss://redis.example.com:6380/0", null],
  ["redis://:pw@h:6379/15", null], ["redis://user:pw@h", null], ["REDIS://h/", null], ["redis://[::1]:6379", null],
  ["redis://h:6379/", null], ["", "empty"], ["redis://h x", "space"], ["http://h", "scheme"], ["h:6379", "scheme"],
  ["redis://h?db=1", "query"], ["redis://h#x", "query"], ["redis://h/db", "path"], ["redis://h/0/1", "path"],
  ["redis://", "host"], ["redis://:pw@", "host"], ["redis://bad_host!", "host"], ["redis://h:0", "port"],
  ["redis://h:65536", "port"], ["redis://h:x", "port"], ["redis://:%E0%A4%A@h", "encoding"],
];

/** The editor's validators, from noojee-config.html run with the shared editor script and a stub RED. */
function editorValidators(): Record<string, (this: unknown, v: unknown, opt?: object) => unknown> {
  const root = path.join(__dirname, "..", "..", "..");
  const html = fs.readFileSync(path.join(root, "nodes", "noojee-config.html"), "utf8");
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(script);
  let def: { defaults: Record<string, { validate: never }>; credentials: Record<string, { validate: never }> } | undefined;
  const translate = (key: string, values?: object): string => `${key}${values ? JSON.stringify(values) : ""}`;
  const RED = { _: translate, events: { on: () => undefined }, nodes: { registerType: (_t: string, d: typeof def) => (def = d), getType: () => ({ _: translate }) } };
  const context = vm.createContext({ RED, $: () => ({ length: 0 }) });
  vm.runInContext(fs.readFileSync(path.join(root, "resources", "noojee-editor.js"), "utf8"), context);
  vm.runInContext(script[1], context);
  assert.ok(def);
  return { redisUrl: def.credentials.redisUrl.validate, redisPassword: def.credentials.redisPassword.validate, redisKeyPrefix: def.defaults.redisKeyPrefix.validate };
}

describe("Redis URLs", () => {
  it("are read as ioredis reads them, with a reason for each one that is not usable", () => {
    for (const [url, reason] of URLS) {
      const parsed = parseRedisUrl(url);
      assert.equal(typeof parsed === "string" ? parsed : null, reason, url);
    }
    assert.deepEqual(parseRedisUrl("rediss://us%3Aer:p%40ss@h"), { tls: true, username: "us:er", password: "p@ss" });
  });

  it("are shown with the password masked, whatever the rest holds", () => {
    assert.equal(maskRedisUrl("redis://:secret@host:6379/0"), "redis://:***@host:6379/0");
    assert.equal(maskRedisUrl("redis://user:secret@host"), "redis://user:***@host");
    assert.equal(maskRedisUrl("redis://secret@host"), "redis://***@host", "a password typed as the user name is masked too");
    assert.equal(maskRedisUrl("rediss://host:6380"), "rediss://host:6380");
    assert.equal(maskRedisUrl("redis://a:b@c@host/0"), "redis://a:***@host/0", "up to the last @ before the path");
    assert.equal(maskRedisUrl("a:pw@host"), "a:***@host", "no scheme");
    assert.equal(redactRedisText("connect to redis://:pw1@h:1 failed; AUTH pw2", ["pw2", undefined]), "connect to redis://:***@h:1 failed; AUTH ***");
  });

  it("are masked whatever the password holds unencoded: / (base64), ?, #, @, quotes", () => {
    for (const password of ["q8Zr/Xb2+Lk9wT", "ab/cd/ef==", "x#y?z/w", "p@ss/w:rd", "a'b\"c/d", "/", "?#"]) {
      for (const [url, shown, reason] of [
        [`redis://:${password}@host:6379/0`, "redis://:***@host:6379/0", "redis://***@host:6379/0"],
        [`rediss://user:${password}@10.0.0.1`, "rediss://user:***@10.0.0.1", "rediss://***@10.0.0.1"],
        [`redis://${password}@[::1]:6379`, "redis://***@[::1]:6379", "redis://***@[::1]:6379"],
      ]) {
        assert.equal(maskRedisUrl(url), shown, url);
        assert.equal(redactRedisText(`Invalid Redis URL "${url}": try again`, []), `Invalid Redis URL "${shown}": try again`, url);
        assert.equal(redactRedis(`connect ${url} failed`), `connect ${reason} failed`, url);
      }
      // A secret given is masked as typed and percent-encoded, wherever it shows.
      assert.equal(redactRedisText(`AUTH ${password} then ${encodeURIComponent(password)}`, [password]), "AUTH *** then ***");
      assert.equal(replicaSettings({ replicas: true }, { redisUrl: "redis://h", redisPassword: password }, t)?.password, password);
      const refused = thrown(() => replicaSettings({ replicas: true }, { redisUrl: `redis://:${password}@h:6379` }, t));
      assert.ok(!refused.includes(`:${password}@`) && refused.includes("\"redis://:***@h:6379\""), refused);
    }
  });

  it("are checked in the editor as at runtime, only with Replicas on", () => {
    const v = editorValidators();
    for (const [url, reason] of URLS) {
      const answer = v.redisUrl.call({ replicas: true }, url, {});
      if (reason === null) assert.equal(answer, true, url);
      else assert.equal(answer, `noojee-config.validation.redisUrl{"reason":"noojee-config.validation.redisReason.${reason}"}`, url);
      assert.equal(v.redisUrl.call({ replicas: false }, url, {}), true, `${url}: not checked with Replicas off`);
    }
    assert.equal(v.redisUrl.call({ replicas: true }, "${REDIS_URL}", {}), true, "an environment reference");
    assert.equal(v.redisUrl.call({ replicas: true }, undefined, {}), `noojee-config.validation.redisUrl{"reason":"noojee-config.validation.redisReason.empty"}`);
    for (const prefix of [undefined, "", "noojee", "a:b_c.d-1", "a".repeat(64)]) assert.equal(v.redisKeyPrefix.call(on, prefix, {}), true, String(prefix));
    for (const prefix of ["a b", "x*", "a".repeat(65)]) {
      assert.equal(v.redisKeyPrefix.call(on, prefix, {}), "noojee-config.validation.redisKeyPrefix", prefix);
      assert.equal(v.redisKeyPrefix.call(on, prefix), false, "false without opt (older editors)");
    }
    assert.equal(v.redisPassword.call(on, "a b", {}), true);
    assert.equal(v.redisPassword.call(on, "a\nb", {}), "noojee-config.validation.redisPassword");
  });
});
