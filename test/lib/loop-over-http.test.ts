/**
 * The API client and the poll loop together, over real HTTP to the fake PBX, with no Node-RED around them.
 * Backoff schedules run on sinon's fake clock (only setTimeout/clearTimeout are faked: sockets keep real time).
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { CallEvent, LoopStatus, PollLoop } from "../../nodes/lib/poll/poll-loop";
import { FakePbx, FaultKind, loadTestTls } from "../fake-pbx";

const KEY = "loop-key-5f0c0d4e-a1b2";

function failing(statuses: LoopStatus[]): Array<Extract<LoopStatus, { state: "failing" }>> {
  return statuses.filter((s): s is Extract<LoopStatus, { state: "failing" }> => s.state === "failing");
}

/** Resolves when `check` holds, yielding to real I/O in between (sockets are not on the fake clock). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

describe("NoojeeClient + PollLoop over HTTP", function () {
  let pbx: FakePbx;
  let client: NoojeeClient;
  let loop: PollLoop | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  const events: CallEvent[] = [];
  const statuses: LoopStatus[] = [];

  beforeEach(async () => {
    events.length = 0;
    statuses.length = 0;
    pbx = new FakePbx({ apiKey: KEY });
    await pbx.start();
    client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true });
  });

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await loop?.stop();
    loop = undefined;
    client.close();
    await pbx.stop();
  });

  function startLoop(extensions: string[]): PollLoop {
    loop = new PollLoop({
      api: client,
      timeoutSec: 30,
      onEvents: (batch) => events.push(...batch),
      onStatus: (status) => statuses.push(status),
      random: () => 0, // no jitter: the schedule is exact
    });
    loop.setExtensions(extensions);
    loop.start();
    return loop;
  }

  async function heldPoll(): Promise<void> {
    await until(() => pbx.openPolls() === 1 && pbx.subscribeRequests().at(-1)?.query.lastSequenceNumber !== "0", "a held long poll");
  }

  const recoverable: FaultKind[] = ["reset", "http500", "html502", "empty200", "malformed", "negativeCode", "html404"];
  for (const kind of recoverable) {
    it(`recovers from ${kind} after 1 s, keeping its seq and losing no event`, async () => {
      clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      startLoop(["410"]);
      await heldPoll();
      pbx.fault(kind);
      const first = pbx.startCall("410"); // answers the held poll; the next one meets the fault
      await until(() => failing(statuses).length === 1, "the failure");
      const cursor = loop?.sequence;
      const during = pbx.startCall("410", { callerId: "0411111111" }); // happens while we back off
      assert.equal(failing(statuses)[0].retryInMs, 1000);
      const polls = pbx.subscribeRequests().length;
      await clock.tickAsync(999);
      assert.equal(pbx.subscribeRequests().length, polls, "no retry before the backoff ends");
      await clock.tickAsync(1);
      await until(() => events.length === 2, "both calls delivered");
      assert.deepEqual(events.map((e) => e.data.uniqueCallId), [first, during]);
      // A current-state read first (a PBX restart may hide behind a failure), then the poll from the same cursor.
      const [read, retry] = pbx.subscribeRequests().slice(polls);
      assert.equal(read.query.lastSequenceNumber, "0");
      assert.equal(Number(retry.query.lastSequenceNumber), cursor, "the failure did not move the cursor");
      assert.equal(statuses.at(-1)?.state, "listening");
    });
  }

  it("backs off 1, 2, 4 s over consecutive failures and recovers on the first success", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    startLoop(["410"]);
    await heldPoll();
    pbx.fault("html502", 3);
    pbx.startCall("410");
    for (const [i, delay] of [1000, 2000, 4000].entries()) {
      await until(() => failing(statuses).length === i + 1, `failure ${i + 1}`);
      assert.equal(failing(statuses)[i].retryInMs, delay);
      assert.equal(failing(statuses)[i].error.message, "HTTP 502");
      await clock.tickAsync(delay);
    }
    await until(() => events.length === 1 && statuses.at(-1)?.state === "listening", "recovery");
    assert.equal(pbx.pendingFaults(), 0);
  });

  it("says 'authentication failed' for a key rejected by envelope or by HTTP 401, and retries after 60 s", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    startLoop(["410"]);
    await heldPoll();
    pbx.fault("badKey200");
    pbx.fault("badKey401");
    pbx.startCall("410");
    await until(() => failing(statuses).length === 1, "first rejection");
    assert.equal(failing(statuses)[0].error.kind, "auth");
    assert.match(failing(statuses)[0].error.message, /^authentication failed/);
    assert.equal(failing(statuses)[0].retryInMs, 60_000);
    await clock.tickAsync(60_000);
    await until(() => failing(statuses).length === 2, "second rejection");
    assert.equal(failing(statuses)[1].error.kind, "auth");
    assert.match(failing(statuses)[1].error.message, /HTTP 401/);
    await clock.tickAsync(60_000);
    await until(() => statuses.at(-1)?.state === "listening", "recovery");
  });

  it("treats a real key rejection (the PBX changed its key) as an auth failure", async () => {
    startLoop(["410"]);
    await heldPoll();
    pbx.apiKey = "rotated";
    pbx.startCall("410");
    await until(() => failing(statuses).length === 1, "rejection");
    assert.equal(failing(statuses)[0].error.kind, "auth");
    assert.ok(!failing(statuses)[0].error.message.includes(KEY));
  });

  it("aborts a hanging poll on the client-side timeout, with a clear error", async () => {
    pbx.fault("hang");
    await assert.rejects(
      client.call("subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }, { timeoutMs: 300 }),
      (err: unknown) => err instanceof NoojeeError && err.kind === "timeout" && /no answer within/.test(err.message),
    );
    await pbx.waitForPolls(0);
  });

  it("reports connection refused without the URL or the key", async () => {
    const dead = new NoojeeClient({ origin: "http://127.0.0.1:1", apiKey: KEY, verifyTls: true });
    try {
      await assert.rejects(dead.subscribe(["410"], 0, 0), (err: unknown) => {
        assert.ok(err instanceof NoojeeError);
        assert.equal(err.message, "connection refused");
        assert.ok(!JSON.stringify({ ...err, message: err.message, stack: err.stack }).includes(KEY));
        return true;
      });
    } finally {
      dead.close();
    }
  });

  it("percent-encodes every parameter so the PBX reads them exactly", async () => {
    const ringing = pbx.startCall("410");
    const header = "Call-Info:\\; answer-after=0 +x&y=z";
    await client.answer(ringing, "SIP/410", header);
    const request = pbx.requests.at(-1);
    assert.deepEqual(
      { uniqueId: request?.query.uniqueId, exten: request?.query.exten, answerString: request?.query.answerString, apiKey: request?.query.apiKey },
      { uniqueId: ringing, exten: "SIP/410", answerString: header, apiKey: KEY },
    );
    assert.equal(request?.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(request?.method, "POST");
    await client.subscribe(["400", "410"], 0, 0);
    assert.equal(pbx.requests.at(-1)?.query.exten, "400,410");
    assert.match(pbx.requests.at(-1)?.rawQuery ?? "", /exten=400%2C410&lastSequenceNumber=0&timeOut=0&apiKey=/);
  });

  it("over https: refuses a self-signed certificate while verifying, accepts it when told to", async () => {
    const tlsPbx = new FakePbx({ apiKey: KEY, tls: loadTestTls() });
    await tlsPbx.start();
    const strict = new NoojeeClient({ origin: tlsPbx.url, apiKey: KEY, verifyTls: true });
    const lenient = new NoojeeClient({ origin: tlsPbx.url, apiKey: KEY, verifyTls: false });
    try {
      await assert.rejects(strict.subscribe(["410"], 0, 0), (err: unknown) =>
        err instanceof NoojeeError && err.kind === "network" && /self-signed, so not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/.test(err.message));
      const answer = await lenient.subscribe(["410"], 0, 0);
      assert.equal(answer.Code, 0);
      assert.equal(tlsPbx.subscribeRequests().length, 1, "the refused handshake sent no request");
    } finally {
      strict.close();
      lenient.close();
      await tlsPbx.stop();
    }
  });
});
