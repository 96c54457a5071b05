/**
 * The older PBX authentication (before Noojee Administrator 4.9.0.10): timeStamp + sha256 hash from the PBX clock.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { FakePbx } from "../fake-pbx";

const KEY = "old-pbx-key-0001";

describe("NoojeeClient with timestamp/hash authentication", function () {
  let pbx: FakePbx;
  let now = Date.now();
  let client: NoojeeClient;

  beforeEach(async () => {
    pbx = new FakePbx({ apiKey: KEY });
    await pbx.start();
    now = Date.now();
    client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true, authMode: "timestamp", now: () => now });
  });

  afterEach(async () => {
    client.close();
    await pbx.stop();
  });

  const timeReads = () => pbx.requests.filter((r) => r.path === "/servicemanager/rest/Time").length;

  it("signs with the PBX clock, never sends the key, and reuses the pair within its hour", async () => {
    await client.subscribe(["410"], 0, 0);
    await client.subscribe(["410"], 0, 0);
    const calls = pbx.subscribeRequests();
    assert.equal(timeReads(), 1, "one clock read for both calls");
    for (const call of calls) {
      assert.equal(call.query.apiKey, undefined);
      assert.equal(call.query.hash, createHash("sha256").update(`${KEY}:${call.query.timeStamp}`).digest("hex"));
      assert.ok(!call.rawQuery.includes(KEY));
    }
    now += 51 * 60_000;
    await client.subscribe(["410"], 0, 0);
    assert.equal(timeReads(), 2, "renewed before the hour is up");
  });

  it("renews the pair and retries once when the PBX answers Expired TimeStamp", async () => {
    await client.subscribe(["410"], 0, 0);
    pbx.fault("negativeCode"); // {"Message":"Expired TimeStamp","Code":-1}
    const answer = await client.subscribe(["410"], 0, 0);
    assert.equal(answer.Code, 0);
    assert.equal(timeReads(), 2);
    assert.equal(pbx.subscribeRequests().length, 3);
  });

  it("does not retry forever: a second expiry in a row is an error", async () => {
    pbx.fault("negativeCode", 2);
    await assert.rejects(client.subscribe(["410"], 0, 0), (err: unknown) => err instanceof NoojeeError && err.code === -1);
    assert.equal(pbx.subscribeRequests().length, 2);
  });

  it("a poll cut short while the shared clock read is in flight does not cancel a concurrent hangup", async () => {
    const id = pbx.startCall("410");
    pbx.holdClock();
    const controller = new AbortController();
    const poll = client.subscribe(["410"], 0, 0, controller.signal);
    const hangup = client.hangup(id);
    await pbx.waitForRequest((r) => r.path === "/servicemanager/rest/Time");
    controller.abort();
    await assert.rejects(poll, (err: unknown) => err instanceof NoojeeError && err.kind === "aborted");
    pbx.releaseClock();
    const answer = await hangup;
    assert.equal(answer.Code, 0);
    assert.equal(timeReads(), 1, "the hangup used the one clock read the poll started");
    assert.equal(pbx.leg(id), undefined, "the leg was hung up");
  });

  it("each caller stops waiting for the clock when its own signal aborts, and a read nobody waits for is dropped", async () => {
    pbx.holdClock();
    const first = new AbortController();
    const poll = client.subscribe(["410"], 0, 0, first.signal);
    await pbx.waitForRequest((r) => r.path === "/servicemanager/rest/Time");
    first.abort();
    await assert.rejects(poll, (err: unknown) => err instanceof NoojeeError && err.kind === "aborted");
    pbx.releaseClock();
    // The abandoned read is not reused: the next call reads the clock afresh and succeeds.
    assert.equal((await client.subscribe(["410"], 0, 0)).Code, 0);
    assert.equal(timeReads(), 2);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(client.hangup("410", aborted.signal), (err: unknown) => err instanceof NoojeeError && err.kind === "aborted");
  });

  it("reports a wrong key as an authentication failure, without key or hash in the message", async () => {
    const wrong = new NoojeeClient({ origin: pbx.url, apiKey: "not-the-key", verifyTls: true, authMode: "timestamp" });
    try {
      await assert.rejects(wrong.subscribe(["410"], 0, 0), (err: unknown) => {
        assert.ok(err instanceof NoojeeError && err.kind === "auth");
        const hash = pbx.subscribeRequests().at(-1)?.query.hash ?? "missing";
        assert.ok(!err.message.includes("not-the-key") && !err.message.includes(hash));
        return true;
      });
    } finally {
      wrong.close();
    }
  });
});
