/**
 * A backlog larger than one answer, over real HTTP to the fake PBX (which lists every change): the client's cap on an
 * answer is shrunk to 64 KiB so that a few hundred calls make such a backlog. The loop resumes from a position taken
 * before them, as after a restart that followed a long outage, and must not stay deaf.
 */
import assert from "node:assert/strict";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { CallEvent, LoopStatus, PollLoop } from "../../nodes/lib/poll/poll-loop";
import { FakePbx } from "../fake-pbx";

const KEY = "backlog-key-6a7b8c9d-0e1f";

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("PollLoop on a backlog larger than one answer", function () {
  this.timeout(20_000);
  let pbx: FakePbx;
  let client: NoojeeClient;
  let loop: PollLoop | undefined;

  beforeEach(async () => {
    pbx = new FakePbx({ apiKey: KEY });
    await pbx.start();
    client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true, maxAnswerBytes: 64 * 1024 });
  });

  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
    client.close();
    await pbx.stop();
  });

  it("carries on from the current state with one warning, and its position moves on", async () => {
    const saved = pbx.seq;
    for (let i = 0; i < 400; i++) {
      const exten = i % 2 === 0 ? "410" : "420";
      const id = pbx.startCall(exten);
      pbx.update(exten, id, { status: "Connected" });
      pbx.update(exten, id, { status: "Hungup" });
    }
    const ringing = pbx.startCall("410");
    const events: CallEvent[] = [];
    const statuses: LoopStatus[] = [];
    const warnings: string[] = [];
    loop = new PollLoop({
      api: client,
      timeoutSec: 30,
      resumeFrom: [{ seq: saved, extensions: ["410", "420"], fences: {} }],
      onEvents: (batch) => events.push(...batch),
      onStatus: (status) => statuses.push(status),
      onWarning: (message) => warnings.push(message),
      random: () => 0,
    });
    loop.setExtensions(["410", "420"]);
    loop.start();

    await until(() => events.some((e) => e.data.uniqueCallId === ringing), "the call ringing now");
    assert.deepEqual(events.map((e) => `${e.extension}:${e.data.status}:${e.initial}`), ["410:Ringing:false"]);
    assert.deepEqual(loop.resumePoints(), [{ seq: pbx.seq, extensions: ["410", "420"], fences: {} }]);
    assert.equal(pbx.subscribeRequests().filter((r) => r.query.lastSequenceNumber === String(saved)).length, 1, "the cursor is not retried");
    assert.ok(!statuses.some((s) => s.state === "failing"), JSON.stringify(statuses));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], new RegExp(`changes after seq ${saved} \\(since the saved position\\).*\\(answer larger than 64 KiB\\)`));
    assert.match(warnings[0], new RegExp(`skipped the changes up to seq ${pbx.seq} on extensions 410, 420`));

    // And it keeps listening from there.
    const later = pbx.startCall("420");
    await until(() => events.some((e) => e.data.uniqueCallId === later), "a call after the skip");
  });
});
