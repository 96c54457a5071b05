/**
 * Why a replica stopped polling (nodes/lib/replicas/lost-reason.ts): every reason fits whole in a red status after
 * the catalogue's "coordination lost: ", whatever Redis failed with; the log line keeps the detail.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { LOST, redisFailure } from "../../nodes/lib/replicas/lost-reason";
import { failureDetail, NOT_REDIS_DETAIL, redisStatus, STATUS_ROOM } from "../../nodes/lib/replicas/redis-errors";
import { statusOf } from "../../nodes/status";

const errno = (code: string, message = `connect ${code} 127.0.0.1:6379`): Error => Object.assign(new Error(message), { code });
const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

const FAILURES: Array<[string, unknown, string]> = [
  ["refused", errno("ECONNREFUSED"), "ECONNREFUSED"],
  ["host unreachable", errno("EHOSTUNREACH"), "EHOSTUNREACH"],
  ["ioredis gave up retrying", named("MaxRetriesPerRequestError", "Reached the max retries per request limit (which is 0)."), "Redis not reachable"],
  ["no answer within a try", named("LateAnswer", "Redis did not answer in time"), "Redis too slow"],
  ["loading its data", named("ReplyError", "LOADING Redis is loading the dataset in memory"), "Redis LOADING"],
  ["a read-only replica", named("ReplyError", "READONLY You can't write against a read only replica."), "Redis READONLY"],
  ["out of memory", named("ReplyError", "OOM command not allowed when used memory > 'maxmemory'."), "Redis OOM"],
  ["a wrong password", named("ReplyError", "WRONGPASS invalid username-password pair or user is disabled."), "Redis WRONGPASS"],
  ["a self-signed certificate", errno("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"), "TLS: self-signed cert"],
  ["an HTTP server on the port", new Error('Unknown RESP type 72 "H". Please report this.'), "not a Redis server"],
  ["anything else", new Error("Connection is closed."), "Redis failed"],
  ["not an Error", "boom", "Redis failed"],
];

describe("lost-reason: why a replica stopped polling", () => {
  const catalogue = JSON.parse(fs.readFileSync(path.join(__dirname, "../../../nodes/locales/en-US/noojee-subscribe.json"), "utf8")) as {
    "noojee-subscribe": { status: { coordinationLost: string } };
  };
  const shown = (reason: string): string =>
    String(statusOf.failing(catalogue["noojee-subscribe"].status.coordinationLost.replace("__reason__", reason)).text);

  for (const [what, err, status] of FAILURES) {
    it(`a Redis failure (${what}) is "${status}" in the status, whole`, () => {
      assert.equal(redisStatus(err), status);
      assert.ok(status.length <= STATUS_ROOM);
      assert.equal(shown(status), `coordination lost: ${status}`);
    });
  }

  it("each reason of the lease's own fits whole; its detail says more", () => {
    for (const reason of Object.values(LOST)) {
      assert.ok(reason.status.length <= STATUS_ROOM, reason.status);
      assert.equal(shown(reason.status), `coordination lost: ${reason.status}`);
      assert.ok(reason.detail.length > reason.status.length, reason.detail);
    }
  });

  it("a Redis failure's detail names what was being done and Redis's own words, its password masked", () => {
    const failure = redisFailure(named("ReplyError", "ERR connecting to redis://:s3cret@10.0.0.5:6379 failed"), "renewing the lease");
    assert.equal(failure.status, "Redis ERR");
    assert.equal(failure.detail, "renewing the lease: Redis: ERR connecting to redis://***@10.0.0.5:6379 failed");
  });

  it("a port where another kind of server answers is said as such, not as ioredis's 'please report this'", () => {
    const err = new Error('Unknown RESP type 72 "H". Please report this.');
    assert.equal(failureDetail(err), NOT_REDIS_DETAIL);
    assert.equal(redisFailure(err, "taking the lease").detail, `taking the lease: Redis: ${NOT_REDIS_DETAIL}`);
  });
});
