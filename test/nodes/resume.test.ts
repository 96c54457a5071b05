/**
 * "Resume after a restart" in the test helper's Node-RED, over HTTP to the fake PBX: the file in the user dir, what a
 * start with a saved position sends, and the ways it falls back to the current-state read. A real Node-RED killed
 * with SIGKILL and started again is in test/resume/.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FakePbx } from "../fake-pbx";
import { API_KEY, configFlowNode, credentials, deploy, heldLongPoll, helper, Logged, nodes, Sent, startFakePbx, subscribeFlowNodes, unloadAndStop, until } from "./support";

describe("noojee-config: resume after a restart", function () {
  let pbx: FakePbx | undefined;
  let userDir: string;
  const stateFile = () => path.join(userDir, "noojee-resume", "cfg.json");
  const payloads = (sent: Sent) => sent.all.map((m) => m.payload as Record<string, unknown>);

  beforeEach(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-resume-nodes-"));
    helper.settings({ userDir });
    pbx = await startFakePbx();
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** A file as the config node writes it, for the fake PBX of this test. */
  function writeState(seq: number, legs: Array<{ extension: string; data: Record<string, unknown> }> = [], savedAt = Date.now(),
    polls = [{ seq, extensions: ["410"], fences: {} }]): void {
    fs.mkdirSync(path.dirname(stateFile()), { recursive: true });
    const content = {
      format: "node-red-contrib-noojee/resume", version: 1, host: pbx!.url, authMode: "apiKey", savedAt, polls, legs,
    };
    fs.writeFileSync(stateFile(), JSON.stringify(content));
  }

  it("saves the position in the user dir while calls flow (host and sign-in mode, never the key); deleting the config node deletes it", async () => {
    await helper.load(nodes, [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "410")], credentials());
    await heldLongPoll(pbx!);
    const sent = new Sent(helper.getNode("a"));
    pbx!.startCall("410", { uniqueCallId: "1.1" });
    await sent.waitFor(() => true);
    const seq = pbx!.seq;
    let saved: Record<string, unknown> = {};
    await until(() => {
      if (!fs.existsSync(stateFile())) return false;
      saved = JSON.parse(fs.readFileSync(stateFile(), "utf8")) as Record<string, unknown>;
      return (saved.polls as Array<{ seq: number }>)[0]?.seq === seq;
    }, "the position after the call");
    assert.equal(saved.host, pbx!.url);
    assert.equal(saved.authMode, "apiKey");
    assert.deepEqual((saved.legs as Array<{ data: { uniqueCallId: string } }>).map((l) => l.data.uniqueCallId), ["1.1"]);
    assert.equal(fs.readFileSync(stateFile(), "utf8").includes(API_KEY), false);

    await deploy([{ id: "other", type: "helper" }], "full");
    await until(() => !fs.existsSync(stateFile()), "the file deleted with its config node");
  });

  it("carries on from a saved position: what changed meanwhile arrives once, as changes, a call that rang and ended as missed", async () => {
    pbx!.startCall("410", { uniqueCallId: "before", callStartTime: "" });
    const before = pbx!.leg("before")!;
    writeState(pbx!.seq, [{ extension: "410", data: { ...before } }]);
    // Node-RED is "down": the call that was ringing ends unanswered, another rings and ends.
    pbx!.update("410", "before", { status: "Hungup", canAnswer: false });
    pbx!.startCall("410", { uniqueCallId: "during", callStartTime: "" });
    pbx!.update("410", "during", { status: "Hungup", canAnswer: false });
    const last = pbx!.seq;

    await helper.load(nodes, [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "410")], credentials());
    const sent = new Sent(helper.getNode("a"));
    await until(() => sent.all.length >= 3, "the three changes");
    await heldLongPoll(pbx!);
    const [check, first] = pbx!.subscribeRequests();
    assert.deepEqual([check.query.lastSequenceNumber, check.query.timeOut], ["0", "0"], "a read to check the polls against");
    assert.deepEqual([first.query.lastSequenceNumber, first.query.timeOut], [String(last - 3), "0"]);
    assert.deepEqual(
      payloads(sent).map((p) => `${p.uniqueCallId} ${p.status} initial=${p.initial === true} missed=${p.missed}`),
      ["before Hungup initial=false missed=true", "during Ringing initial=false missed=undefined", "during Hungup initial=false missed=true"],
    );
    assert.ok(new Logged(helper.getNode("cfg"), "log").all.some((m) => /noojee-config.resume.resuming/.test(String(m))));
  });

  it("a PBX that restarted meanwhile and would hold a poll above its counter: resynchronised at once, nothing sent twice", async () => {
    await pbx!.stop();
    pbx = await startFakePbx({ restartMode: "hold" });
    pbx.startCall("410", { uniqueCallId: "kept" });
    writeState(pbx.seq + 500, [{ extension: "410", data: { ...pbx.leg("kept")! } }]); // a cursor from before its restart
    await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("a", "410")], credentials());
    const sent = new Sent(helper.getNode("a"));
    const warnings = new Logged(helper.getNode("cfg"), "warn");
    await warnings.waitFor((m) => /went back/.test(String(m)));
    await heldLongPoll(pbx);
    // Not held until the poll's timeOut + 10 s: a call that rang and ended meanwhile would have been lost.
    assert.deepEqual(pbx.subscribeRequests().map((r) => `${r.query.lastSequenceNumber}/${r.query.timeOut}`), ["0/0", `${pbx.seq}/30`]);
    pbx.update("410", "kept", { status: "Connected" });
    await sent.waitFor(() => true);
    assert.deepEqual(payloads(sent).map((p) => `${p.uniqueCallId} ${p.status}`), ["kept Connected"], "the call in progress is not sent again");
  });

  it("a position saved by a clock ahead of this one resumes: within a minute as skew, further ahead saying this clock is behind", async () => {
    const cases: Array<[number, RegExp, string]> = [
      [30_000, /noojee-config.resume.resumingAhead/, "seq"],
      // A Raspberry Pi without a real-time clock after a power cut: the PBX's seq decides, not the clock.
      [5 * 60_000, /noojee-config.resume.clockBehind .*"minutes":5/, "seq"],
      [50 * 60_000, /noojee-config.resume.clockBehind .*"minutes":50/, "seq"],
    ];
    pbx!.startCall("410", { uniqueCallId: "1.1" }); // a seq above 0
    for (const [aheadMs, logged, firstSeq] of cases) {
      writeState(pbx!.seq, [], Date.now() + aheadMs);
      const saved = pbx!.seq;
      pbx!.startCall("410"); // while Node-RED is down
      const requestsBefore = pbx!.subscribeRequests().length;
      await helper.load(nodes, [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "410")], credentials());
      await until(() => pbx!.subscribeRequests().length > requestsBefore + 1, "a read and a first poll");
      // A current-state read first either way; resuming, the poll carries on from the saved seq.
      assert.deepEqual(pbx!.subscribeRequests().slice(requestsBefore, requestsBefore + 2).map((r) => r.query.lastSequenceNumber),
        ["0", firstSeq === "seq" ? String(saved) : String(saved + 1)], `${aheadMs} ms ahead`);
      const logs = new Logged(helper.getNode("cfg"), "log").all.map(String);
      assert.ok(logs.some((m) => logged.test(m)), `${aheadMs} ms ahead: ${logs.join("; ")}`);
      assert.deepEqual(new Logged(helper.getNode("cfg"), "warn").all, [], "a log line, not a warning");
      await heldLongPoll(pbx!);
      await deploy([{ id: "other", type: "helper" }], "full");
      await helper.unload();
    }
  });

  it("a saved position that covers no poll is logged as nothing to resume, not as resuming", async () => {
    pbx!.startCall("410", { uniqueCallId: "in-progress" });
    for (const polls of [[], [{ seq: 0, extensions: ["410"], fences: {} }]]) {
      writeState(0, [], Date.now(), polls);
      const requestsBefore = pbx!.subscribeRequests().length;
      await helper.load(nodes, [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "410")], credentials());
      const sent = new Sent(helper.getNode("a"));
      await sent.waitFor(() => true);
      assert.equal(pbx!.subscribeRequests()[requestsBefore].query.lastSequenceNumber, "0");
      const logs = new Logged(helper.getNode("cfg"), "log").all.map(String);
      assert.ok(logs.some((m) => /noojee-config.resume.nothingToResume/.test(m)), logs.join("; "));
      assert.equal(logs.some((m) => /noojee-config.resume.resuming/.test(m)), false, logs.join("; "));
      await heldLongPoll(pbx!);
      await deploy([{ id: "other", type: "helper" }], "full");
      await helper.unload();
    }
  });

  it("off, or with a position too old, another host's or a damaged one: the current-state read as before", async () => {
    pbx!.startCall("410", { uniqueCallId: "in-progress" });
    const cases: Array<[string, () => void, Record<string, unknown>, RegExp | undefined]> = [
      ["off", () => writeState(1), { resumeAfterRestart: false }, undefined],
      ["too old", () => writeState(1, [], Date.now() - 2 * 3_600_000), {}, undefined],
      ["too old for a shorter bound", () => writeState(1, [], Date.now() - 10 * 60_000), { resumeMaxAge: 5 }, undefined],
      ["another host's", () => {
        writeState(1);
        const content = JSON.parse(fs.readFileSync(stateFile(), "utf8")) as Record<string, unknown>;
        fs.writeFileSync(stateFile(), JSON.stringify({ ...content, host: "https://other-pbx.example.com:443" }));
      }, {}, /noojee-config.resume.otherHost/],
      ["damaged", () => fs.writeFileSync(stateFile(), "{ not json"), {}, /noojee-config.resume.badFile/],
    ];
    for (const [what, prepare, extra, warning] of cases) {
      prepare();
      const requestsBefore = pbx!.subscribeRequests().length;
      await helper.load(nodes, [configFlowNode(pbx!.url, extra), ...subscribeFlowNodes("a", "410")], credentials());
      const sent = new Sent(helper.getNode("a"));
      await sent.waitFor(() => true);
      const first = pbx!.subscribeRequests()[requestsBefore];
      assert.equal(first.query.lastSequenceNumber, "0", what);
      assert.equal((sent.all[0].payload as Record<string, unknown>).initial, true, what);
      const warnings = new Logged(helper.getNode("cfg"), "warn").all.map(String);
      if (warning) assert.ok(warnings.length === 1 && warning.test(warnings[0]), `${what}: ${warnings.join("; ")}`);
      else assert.deepEqual(warnings, [], what);
      if (what === "off") await until(() => !fs.existsSync(stateFile()), "turning it off forgets the position");
      await heldLongPoll(pbx!); // so that no request of this case reaches the PBX during the next
      // Deleted, not stopped: a stopped config node's connection would be taken over by the next case's.
      await deploy([{ id: "other", type: "helper" }], "full");
      await helper.unload();
    }
  });

  it("a context store settings.js does not configure, or one in memory only: a warning, and the file keeps the position", async () => {
    const cases: Array<[string, RegExp]> = [["nothere", /noojee-config.resume.unknownStore/], ["volatile", /noojee-config.resume.memoryStore/]];
    for (const [store, warning] of cases) {
      helper.settings({ userDir, contextStorage: { default: { module: "memory" }, volatile: { module: "memory" } } });
      await helper.load(nodes, [configFlowNode(pbx!.url, { resumeStore: store }), ...subscribeFlowNodes("a", "410")], credentials());
      const warnings = new Logged(helper.getNode("cfg"), "warn").all.map(String);
      assert.ok(warnings.length === 1 && warning.test(warnings[0]), `${store}: ${warnings.join("; ")}`);
      const sent = new Sent(helper.getNode("a"));
      pbx!.startCall("410", { uniqueCallId: `call-${store}` });
      await sent.waitFor(() => true);
      await until(() => fs.existsSync(stateFile()), `${store}: the position in the file`);
      await heldLongPoll(pbx!);
      await deploy([{ id: "other", type: "helper" }], "full");
      await helper.unload();
    }
  });

  it("choosing a context store forgets the position in the file, so that switching back never starts from a stale one", async () => {
    writeState(1);
    helper.settings({ userDir, contextStorage: { default: { module: "memory" }, disk: { module: "localfilesystem" } } });
    await helper.load(nodes, [configFlowNode(pbx!.url, { resumeStore: "disk" })], credentials());
    await until(() => !fs.existsSync(stateFile()), "the file deleted");
    assert.deepEqual(new Logged(helper.getNode("cfg"), "warn").all, []);
  });
});
