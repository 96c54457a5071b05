/**
 * noojee-presence inside Node-RED's test helper, over real HTTP to the fake PBX on loopback: the msgs at start (idle
 * ones too), transitions, overlapping calls, queries answered without asking the PBX, extensions changed by msg, a PBX
 * restart that takes its calls with it, and the context variable.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { NodeMessage } from "node-red";
import type { FakePbx } from "../fake-pbx";
import { eventIdOf } from "../../nodes/lib/poll/call-state-table";
import { configFlowNode, credentials, deploy, heldLongPoll, helper, isGreen, isRed, Logged, nodes, Sent, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop, until } from "./support";

type Payload = { extension: string; state: string; previous: string | null; since: string; count: number; calls: Array<Record<string, unknown>>; initial?: boolean };

describe("noojee-presence", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  async function load(extensions = "410", extra: Record<string, unknown> = {}, more: Array<Record<string, unknown> & { id: string; type: string }> = []) {
    const flow = [
      { id: "f1", type: "tab", label: "presence" },
      { ...configFlowNode(pbx.url), z: "f1" },
      { id: "p", z: "f1", type: "noojee-presence", server: "cfg", extensions, wires: [["out"]], ...extra },
      { id: "out", z: "f1", type: "helper" },
      ...more.map((n) => ({ z: "f1", ...n })),
    ];
    await helper.load(nodes, flow, credentials());
    const node = helper.getNode("p");
    return { node, sent: new Sent(node), statuses: new Statuses(node) };
  }
  const payloadOf = (m: NodeMessage) => m.payload as Payload;
  const states = (sent: Sent) => sent.all.map((m) => `${m.topic}:${payloadOf(m).state}${payloadOf(m).initial ? ":initial" : ""}`);

  it("sends one initial msg per extension at start, idle ones included, each call as subscribe describes it", async () => {
    const ringing = pbx.startCall("410", { callerId: "0412345678" });
    const { sent, statuses } = await load("410, 400");
    const msgs = await sent.count(2);
    const by = Object.fromEntries(msgs.map((m) => [m.topic, payloadOf(m)]));
    assert.equal(by["410"].state, "ringing");
    assert.equal(by["410"].previous, null);
    assert.equal(by["410"].initial, true);
    assert.equal(by["410"].count, 1);
    assert.ok(!Number.isNaN(Date.parse(by["410"].since)));
    assert.deepEqual(by["410"].calls, [{
      ...pbx.leg(ringing), extension: "410", callId: pbx.events[0].entry.CallID, seq: pbx.seq, initial: true,
      eventId: eventIdOf("410", pbx.leg(ringing)!),
    }]);
    assert.deepEqual({ ...by["400"], since: "" }, { extension: "400", state: "idle", previous: null, since: "", count: 0, calls: [], initial: true });
    await statuses.waitFor((s) => isGreen(s) && String(s.text).startsWith("noojee-presence.status.one"));
    await heldLongPoll(pbx);
    assert.equal(sent.all.length, 2);
  });

  it("follows each transition, sends only changes of state, and keeps overlapping calls right", async () => {
    const { sent, statuses } = await load("410");
    await sent.count(1);
    await heldLongPoll(pbx);
    const a = pbx.startCall("410");
    await sent.count(2);
    pbx.update("410", a, { status: "Connected", canAnswer: false, callStartTime: "2026/11/23 10:00:00" });
    await sent.count(3);
    // A second call rings during the first: still on a call, no msg; the first ends: on a call is gone, ringing stays.
    const b = pbx.startCall("410", { callerId: "0299990000" });
    await heldLongPoll(pbx);
    pbx.update("410", a, { status: "Hungup" });
    await sent.count(4);
    const ringingAgain = payloadOf(sent.all[3]);
    assert.deepEqual([ringingAgain.state, ringingAgain.previous, ringingAgain.count, ringingAgain.calls[0].uniqueCallId], ["ringing", "on a call", 1, b]);
    pbx.update("410", b, { status: "Connected", canAnswer: false });
    const c = pbx.startCall("410", { status: "Dialing Out", inbound: false, canAnswer: false });
    pbx.update("410", b, { status: "Hungup" });
    await sent.count(5);
    await heldLongPoll(pbx);
    assert.equal(payloadOf(sent.all[4]).state, "on a call");
    await until(() => sent.all.length === 6, "the end of the connected call of two");
    assert.deepEqual([payloadOf(sent.all[5]).state, payloadOf(sent.all[5]).calls.map((x) => x.uniqueCallId)], ["dialing", [c]]);
    pbx.update("410", c, { status: "Busy" });
    await sent.count(7);
    assert.deepEqual(states(sent), ["410:idle:initial", "410:ringing", "410:on a call", "410:ringing", "410:on a call", "410:dialing", "410:idle"]);
    await statuses.waitFor((s) => isGreen(s) && String(s.text).startsWith("noojee-presence.status.one"));
  });

  it("answers an input msg at once from what it knows, with no request to the PBX: all, one msg for all, or msg.extension", async () => {
    pbx.startCall("410", { status: "Connected", canAnswer: false });
    const { node, sent } = await load("410, 400");
    await sent.count(2);
    await heldLongPoll(pbx);
    const before = pbx.requests.length;
    node.receive({ payload: "?" } as NodeMessage);
    const answers = (await sent.count(4)).slice(2);
    assert.deepEqual(answers.map((m) => [m.topic, payloadOf(m).state, payloadOf(m).initial]), [["410", "on a call", undefined], ["400", "idle", undefined]]);
    node.receive({ extension: "400", correlation: 7 } as unknown as NodeMessage);
    const [one] = (await sent.count(5)).slice(4);
    assert.deepEqual([one.topic, payloadOf(one).state, (one as unknown as { correlation: number }).correlation], ["400", "idle", 7]);
    assert.equal(pbx.requests.length, before, "no extra PBX request");
  });

  it("with queryOutput all, one msg holds every extension; an unknown extension is an error", async () => {
    const { node, sent } = await load("410, 400", { queryOutput: "all" }, [
      { id: "catcher", type: "catch", scope: ["p"], uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ]);
    await sent.count(2);
    node.receive({} as NodeMessage);
    const [all] = (await sent.count(3)).slice(2);
    assert.deepEqual(Object.keys(all.payload as object).sort(), ["400", "410"]);
    assert.equal((all.payload as Record<string, Payload>)["400"].state, "idle");
    const caught = new Sent(helper.getNode("caught"));
    const errors: Array<Record<string, unknown>> = [];
    helper.getNode("caught").on("input", (m: Record<string, unknown>) => errors.push(m));
    node.receive({ extension: "999" } as unknown as NodeMessage);
    await until(() => errors.length === 1, "the error");
    assert.match((errors[0].error as { message: string }).message, /notWatched/);
    assert.equal(caught.all.length, 0);
  });

  it("msg.action add / remove / replace change the extensions; added ones send their state, initial", async () => {
    pbx.startCall("400", { status: "Connected", canAnswer: false });
    const { node, sent } = await load("410");
    await sent.count(1);
    await heldLongPoll(pbx);
    node.receive({ action: "add", extensions: ["400"] } as unknown as NodeMessage);
    const [, added] = await sent.count(2);
    assert.deepEqual([added.topic, payloadOf(added).state, payloadOf(added).initial], ["400", "on a call", true]);
    node.receive({ action: "remove", extensions: "410" } as unknown as NodeMessage);
    await until(() => pbx.subscribeRequests().at(-1)?.query.exten === "400", "a poll of 400 alone");
    pbx.startCall("410");
    node.receive({} as NodeMessage);
    const [, , answer] = await sent.count(3);
    assert.equal(answer.topic, "400");
    await heldLongPoll(pbx);
    assert.equal(sent.all.length, 3, "410 is no longer watched");
    node.receive({ action: "replace", extensions: "410" } as unknown as NodeMessage);
    const [, , , replaced] = await sent.count(4);
    assert.deepEqual([replaced.topic, payloadOf(replaced).state, payloadOf(replaced).initial], ["410", "ringing", true]);
  });

  it("keeps extensions changed by msg across a redeploy only when asked to, as subscribe does", async () => {
    for (const persist of [false, true]) {
      const { node, sent } = await load("410", { persistChanges: persist });
      await sent.count(1);
      await heldLongPoll(pbx);
      node.receive({ action: "replace", extensions: "499" } as unknown as NodeMessage);
      await until(() => pbx.subscribeRequests().at(-1)?.query.exten === "499" && pbx.openPolls() === 1, "a poll for 499");
      const flow = [
        { id: "f1", type: "tab", label: "presence" },
        { ...configFlowNode(pbx.url), z: "f1" },
        { id: "p", z: "f1", type: "noojee-presence", server: "cfg", extensions: "410", persistChanges: persist, name: "changed", wires: [["out"]] },
        { id: "out", z: "f1", type: "helper" },
      ];
      await deploy(flow, "nodes", credentials());
      const expected = persist ? "499" : "410";
      await until(() => pbx.subscribeRequests().at(-1)?.query.exten === expected && pbx.openPolls() === 1, `a poll for ${expected} after the redeploy`);
      await helper.unload();
    }
  });

  it("a PBX restart ends the calls it no longer lists, though no Hungup ever comes", async () => {
    const { sent, statuses } = await load("410, 400");
    await sent.count(2);
    await heldLongPoll(pbx);
    const a = pbx.startCall("410");
    pbx.update("410", a, { status: "Connected", canAnswer: false });
    pbx.startCall("400");
    const latest = () => Object.fromEntries(sent.all.map((m) => [m.topic, payloadOf(m).state]));
    await until(() => latest()["410"] === "on a call" && latest()["400"] === "ringing", "both calls");
    await heldLongPoll(pbx);
    const before = sent.all.length;
    pbx.restart();
    await until(() => latest()["410"] === "idle" && latest()["400"] === "idle", "both back to idle", 10_000);
    assert.equal(sent.all.length, before + 2, "one msg each");
    await statuses.waitFor((s) => isGreen(s) && String(s.text).includes("allIdle"), 10_000);
  });

  it("keeps the states in a flow context variable, and shares the poll with a subscribe node", async () => {
    const { node, sent } = await load("410", { contextScope: "flow", contextKey: "noojee.presence" }, subscribeFlowNodes("sub", "410"));
    await sent.count(1);
    const flow = node.context().flow;
    await until(() => (flow.get("noojee.presence") as Record<string, Payload> | undefined)?.["410"]?.state === "idle", "the variable");
    await heldLongPoll(pbx);
    assert.equal(pbx.openPolls(), 1, "one shared long poll");
    pbx.startCall("410");
    await sent.count(2);
    assert.equal((flow.get("noojee.presence") as Record<string, Payload>)["410"].state, "ringing");
    assert.equal((flow.get("noojee.presence") as Record<string, Payload>)["410"].calls.length, 1);
  });

  it("writes the context variable to the store the node names, not the default one", async () => {
    // The test helper configures no context stores (its load() re-initialises the context module without them): load
    // them once the flow is up, as Node-RED's start would have, then check where the next change goes.
    const contextModule = (helper as unknown as { _context: { load(): Promise<void> } })._context;
    helper.settings({ contextStorage: { default: { module: "memory" }, other: { module: "memory" } } });
    try {
      const { node, sent } = await load("410", { contextScope: "global", contextKey: "noojee.presence", contextStore: "other" });
      await contextModule.load();
      await sent.count(1);
      await heldLongPoll(pbx);
      pbx.startCall("410");
      await sent.count(2);
      const global = node.context().global;
      const inStore = (store?: string) => (global.get("noojee.presence", store as string) as Record<string, Payload> | undefined)?.["410"]?.state;
      await until(() => inStore("other") === "ringing", "the variable in the chosen store");
      assert.notEqual(inStore(), "ringing", "not in the default store");
    } finally {
      helper.settings({});
    }
  });

  it("goes red when the poll fails, with one error per failure streak for a Catch node, and recovers", async () => {
    pbx.fault("http500", 2);
    const { statuses, node } = await load("410");
    await statuses.waitFor(isRed);
    const errors = new Logged(node, "error");
    await statuses.waitFor((s) => isGreen(s) && String(s.text).startsWith("noojee-presence.status.one"), 10_000);
    assert.equal(errors.all.length, 1, "one error for two failed polls");
    assert.match(String(errors.all[0]), /pollFailed/);
  });

  it("refuses a bad extension list and a context variable without a name", async () => {
    const { statuses } = await load("4a0");
    await statuses.waitFor((s) => isRed(s) && String(s.text).includes("invalidConfig"));
    await helper.unload();
    const second = await load("410", { contextScope: "global", contextKey: " " });
    await second.statuses.waitFor((s) => isRed(s) && String(s.text).includes("invalidConfig"));
  });
});

describe("noojee-presence: deploys and Node-RED restarts", function () {
  let pbx: FakePbx;
  let userDir: string;

  beforeEach(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-presence-"));
    helper.settings({ userDir });
    pbx = await startFakePbx();
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  const flow = (name = "") => [
    { id: "f1", type: "tab", label: "presence" },
    { ...configFlowNode(pbx.url), z: "f1" },
    { id: "p", z: "f1", type: "noojee-presence", name, server: "cfg", extensions: "410", wires: [["out"]] },
    { id: "out", z: "f1", type: "helper" },
  ];

  it("after a Node-RED restart with resume: the calls in progress before it, and the changes made while it was down", async () => {
    pbx.startCall("410", { uniqueCallId: "kept", status: "Connected", canAnswer: false });
    pbx.startCall("410", { uniqueCallId: "gone" });
    const saved = pbx.seq;
    fs.mkdirSync(path.join(userDir, "noojee-resume"), { recursive: true });
    fs.writeFileSync(path.join(userDir, "noojee-resume", "cfg.json"), JSON.stringify({
      format: "node-red-contrib-noojee/resume", version: 1, host: pbx.url, authMode: "apiKey", savedAt: Date.now(),
      polls: [{ seq: saved, extensions: ["410"], fences: {} }],
      legs: [{ extension: "410", data: pbx.leg("kept") }, { extension: "410", data: pbx.leg("gone") }],
    }));
    // While Node-RED is down: one call ends, another starts.
    pbx.update("410", "gone", { status: "Hungup" });
    pbx.startCall("410", { uniqueCallId: "new", status: "Dialing Out", inbound: false });
    await helper.load(nodes, flow(), credentials());
    const sent = new Sent(helper.getNode("p"));
    const [initial] = await sent.count(1);
    assert.deepEqual(pbx.subscribeRequests().slice(0, 2).map((r) => r.query.lastSequenceNumber), ["0", String(saved)], "a read, then it resumed");
    const payload = initial.payload as Payload;
    assert.deepEqual([payload.state, payload.initial, payload.calls.map((c) => c.uniqueCallId)], ["on a call", true, ["kept", "new"]]);
    await heldLongPoll(pbx);
    pbx.update("410", "kept", { status: "Hungup" });
    const [, dialing] = await sent.count(2);
    assert.deepEqual([(dialing.payload as Payload).state, (dialing.payload as Payload).previous], ["dialing", "on a call"]);
  });

  it("a redeploy of the node sends each extension's state again, with the calls in progress", async () => {
    const a = pbx.startCall("410");
    await helper.load(nodes, flow(), credentials());
    await new Sent(helper.getNode("p")).count(1);
    await heldLongPoll(pbx);
    pbx.update("410", a, { status: "Connected", canAnswer: false });
    await new Sent(helper.getNode("p")).count(2);
    const old = helper.getNode("p");
    await deploy(flow("renamed"), "nodes", credentials());
    assert.notEqual(helper.getNode("p"), old, "a new node");
    const [first] = await new Sent(helper.getNode("p")).count(1);
    const again = first.payload as Payload;
    assert.deepEqual([again.state, again.initial, again.calls.map((c) => c.uniqueCallId)], ["on a call", true, [a]]);
  });
});
