/**
 * The example flows of dial, hangup, record, presence and missed calls: importable as shipped (no credentials, the placeholder host, only
 * known node types), and doing what their comments say when deployed against the fake PBX.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { NodeAPI } from "node-red";
import { FakePbx } from "../fake-pbx";
import { requireFromNodeRed } from "../harness/node-red-under-test";
import { API_KEY, catchNode, FlowNode, helper, nodes, Sent, until, startFakePbx, unloadAndStop } from "./support";

// Core nodes of the Node-RED under test (see node-red-under-test.ts), as the examples use them.
const core = [
  "@node-red/nodes/core/common/20-inject.js",
  "@node-red/nodes/core/function/10-switch.js",
  "@node-red/nodes/core/function/15-change.js",
  "@node-red/nodes/core/common/90-comment.js",
  "@node-red/nodes/core/parsers/70-CSV.js",
].map((id) => requireFromNodeRed<(RED: NodeAPI) => void>(id));

// Compiled to dist/test/nodes/, the examples stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const EXAMPLES = ["click-to-dial", "hang-up-calls", "record-calls", "busy-light", "missed-calls-and-call-log"];

function readExample(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(root, "examples", `${name}.json`), "utf8")) as FlowNode[];
}

/** The example with its config node pointed at the fake PBX and its debug nodes replaced by helper nodes. */
function deployable(name: string, pbxUrl: string): { flow: FlowNode[]; credentials: Record<string, { apiKey: string }> } {
  const flow = readExample(name).map((n) => {
    if (n.type === "noojee-config") return { ...n, host: pbxUrl };
    if (n.type === "debug") return { id: n.id, z: n.z, type: "helper", name: n.name, wires: [] } as FlowNode;
    return n;
  });
  const cfg = flow.find((n) => n.type === "noojee-config")!;
  return { flow, credentials: { [cfg.id]: { apiKey: API_KEY } } };
}

function byName(flow: FlowNode[], type: string, name: string): string {
  const found = flow.find((n) => n.type === type && n.name === name);
  assert.ok(found, `${type} "${name}"`);
  return found.id;
}

describe("example flows of dial, hangup, record and presence", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  it("ship without credentials, with the placeholder host, and use every call-control node type", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } };
    const used = new Set<string>();
    for (const name of EXAMPLES) {
      const flow = readExample(name);
      const configs = flow.filter((n) => n.type === "noojee-config");
      assert.equal(configs.length, 1, name);
      assert.equal(configs[0].host, "pbx.example.com", name);
      assert.ok(!JSON.stringify(flow).includes('"credentials"'), name);
      assert.ok(!/apiKey"\s*:/.test(JSON.stringify(flow)), name);
      assert.equal(new Set(flow.map((n) => n.id)).size, flow.length, `${name}: unique ids`);
      for (const n of flow) {
        used.add(n.type);
        if (n.type.startsWith("noojee-")) assert.ok(n.type in pkg["node-red"].nodes, `${name}: ${n.type} is declared`);
        if (n.type !== "tab" && n.type !== "noojee-config") assert.equal(n.z, flow[0].id, `${name}: ${n.id} on the tab`);
      }
    }
    for (const type of ["noojee-dial", "noojee-hangup", "noojee-record", "noojee-presence"]) assert.ok(used.has(type), type);
  });

  it("share one PBX configuration node: the same id and the same settings in every example file", () => {
    // Node-RED's import keeps a config node whose id is already in the workspace ("Import copy" reuses it), so the
    // user fills in the host and key once; test/browser/examples.test.ts imports them all in a real editor.
    const files = fs.readdirSync(path.join(root, "examples")).filter((f) => f.endsWith(".json"));
    assert.ok(files.length >= 8);
    const configs = files.map((f) => readExample(f.slice(0, -".json".length)).filter((n) => n.type === "noojee-config"));
    for (const [i, c] of configs.entries()) assert.equal(c.length, 1, files[i]);
    for (const [i, c] of configs.entries()) assert.deepEqual(c[0], configs[0][0], `${files[i]}'s PBX is ${files[0]}'s`);
    // Every setting written out, so that no editor default or a later change of one makes the copies differ.
    assert.deepEqual(Object.keys(configs[0][0]).sort(), ["authMode", "country", "host", "id", "name", "phonebookContext",
      "phonebookContextType", "phonebookFile", "resumeAfterRestart", "resumeMaxAge", "resumeStore", "type", "verifyTls"]);
  });

  it("click-to-dial: the inject button makes 100 call the number, and the subscribe node sees the call", async () => {
    const { flow, credentials } = deployable("click-to-dial", pbx.url);
    await helper.load([...nodes, ...core, catchNode], flow, credentials);
    const responses = new Sent(helper.getNode(byName(flow, "noojee-dial", "")));
    const calls: Array<Record<string, unknown>> = [];
    helper.getNode(byName(flow, "helper", "calls on 100")).on("input", (msg: Record<string, unknown>) => calls.push(msg.payload as Record<string, unknown>));

    helper.getNode(byName(flow, "inject", "call +61 2 9999 0000")).receive({});
    const [out] = await responses.count(1);
    assert.equal((out.payload as { SessionID: string }).SessionID, pbx.dialed[0].sessionId);
    const query = pbx.dialed[0].query;
    assert.equal(query.number, "+61299990000");
    assert.equal(query.extenOrUniqueId, "SIP/100");
    assert.equal(query.autoAnswer, "Call-info:answer-after=0");
    assert.equal(query.monitored, "yes");
    await until(() => calls.some((c) => c.status === "Dialing Out" && c.isClickToDialCall === true), "the dialed call on 100");
  });

  it("missed-calls-and-call-log: one msg per missed call (No Answer then Hungup counted once), one log row per leg", async () => {
    const { flow, credentials } = deployable("missed-calls-and-call-log", pbx.url);
    await helper.load([...nodes, ...core, catchNode], flow, credentials);
    const missed: Array<Record<string, unknown>> = [];
    const rows: string[] = [];
    helper.getNode(byName(flow, "helper", "missed call")).on("input", (msg: Record<string, unknown>) => missed.push(msg.payload as Record<string, unknown>));
    helper.getNode(byName(flow, "helper", "call log")).on("input", (msg: Record<string, unknown>) => rows.push(String(msg.payload)));
    await until(() => pbx.openPolls() === 1, "the subscribe node's poll");

    const unanswered = pbx.startCall("410", { callerId: "0355501234" });
    const ringing = pbx.leg(unanswered)!;
    pbx.update("410", unanswered, { status: "No Answer", canAnswer: false });
    // The Hungup with the cause that usually follows (the simulator ends a leg at No Answer).
    pbx.emit("410", { ...ringing, status: "Hungup", canAnswer: false, hangupCause: "NO_ANSWER" });
    const busy = pbx.startCall("400", { callerId: "0398765432" });
    pbx.update("400", busy, { status: "Hungup", canAnswer: false });
    const answered = pbx.startCall("410", { callerId: "0412345678" });
    pbx.update("410", answered, { status: "Connected", canAnswer: false });
    pbx.update("410", answered, { status: "Hungup" });
    await until(() => rows.length >= 3 && missed.length >= 2, "a log row for each leg, the missed calls");
    // Every msg of the three legs has been through the switch by now: each leg's summary is sent after its end msgs,
    // and the answered call's msgs after the others'.
    const described = missed.map((p) => `${String(p.uniqueCallId)} ${String(p.status)}`).sort();
    assert.deepEqual(described, [`${unanswered} No Answer`, `${busy} Hungup`].sort());
    assert.equal(rows.filter((r) => r.includes(unanswered)).length, 1);
    assert.match(rows.find((r) => r.includes(unanswered))!, /No Answer,NO_ANSWER,false,true/);
  });

  it("hang-up-calls: ends calls from 400 to 19xx numbers only, and hangs up 410 on demand", async () => {
    const { flow, credentials } = deployable("hang-up-calls", pbx.url);
    await helper.load([...nodes, ...core, catchNode], flow, credentials);
    const response = helper.getNode(byName(flow, "helper", "PBX response"));
    const responses: unknown[] = [];
    response.on("input", (msg: Record<string, unknown>) => responses.push(msg.payload));
    await until(() => pbx.openPolls() === 1, "the subscribe node's poll");

    const ordinary = pbx.startCall("400", { status: "Dialing Out", inbound: false, canAnswer: false, callerId: "0299990000" });
    const premium = pbx.startCall("400", { status: "Dialing Out", inbound: false, canAnswer: false, callerId: "1900123456" });
    await until(() => pbx.leg(premium) === undefined, "the 19xx call hung up");
    assert.equal(pbx.leg(ordinary)?.status, "Dialing Out", "the ordinary call goes on");

    const on410 = pbx.startCall("410", { status: "Connected" });
    helper.getNode(byName(flow, "inject", "hang up 410")).receive({});
    await until(() => pbx.leg(on410) === undefined, "410 hung up");
    await until(() => responses.length === 2, "two PBX responses");
    assert.deepEqual(responses, [
      { Message: "Channel Hungup", Code: 0 },
      { Message: "Channel Hungup", Code: 0 },
    ]);
  });

  it("record-calls: records every answered call on 410, and starts/stops 411 from the inject buttons", async () => {
    const { flow, credentials } = deployable("record-calls", pbx.url);
    await helper.load([...nodes, ...core, catchNode], flow, credentials);
    await until(() => pbx.openPolls() === 1, "the subscribe node's poll");

    const id = pbx.startCall("410");
    pbx.update("410", id, { status: "Connected", canAnswer: false });
    await until(() => pbx.recordings.length === 1, "recording started");
    assert.deepEqual(pbx.recordings[0], { action: "start", extenOrUniqueId: id, uniqueCallId: id, tag: "ext-410", agentLoginName: undefined });

    const other = pbx.startCall("411", { status: "Connected" });
    helper.getNode(byName(flow, "inject", "start recording 411")).receive({});
    await until(() => pbx.recordings.length === 2, "411 started");
    helper.getNode(byName(flow, "inject", "stop recording 411")).receive({});
    await until(() => pbx.recordings.length === 3, "411 stopped");
    assert.deepEqual(
      pbx.recordings.slice(1).map((r) => [r.action, r.extenOrUniqueId, r.uniqueCallId]),
      [
        ["start", "411", other],
        ["stop", "411", other],
      ],
    );
  });

  it("busy-light: a light per extension, on while it is on a call, off otherwise; the states in global context", async () => {
    const { flow, credentials } = deployable("busy-light", pbx.url);
    await helper.load([...nodes, ...core, catchNode], flow, credentials);
    const lights: Array<[unknown, unknown]> = [];
    helper.getNode(byName(flow, "helper", "busy light")).on("input", (msg: Record<string, unknown>) => lights.push([msg.topic, msg.payload]));
    await until(() => lights.length === 2, "both lights off at start");
    assert.deepEqual([...lights].sort(), [["400", false], ["410", false]]);
    await until(() => pbx.openPolls() === 1, "the presence node's poll");

    const call = pbx.startCall("410");
    await until(() => lights.length === 3, "ringing: still off");
    pbx.update("410", call, { status: "Connected", canAnswer: false });
    await until(() => lights.length === 4, "on a call: on");
    pbx.update("410", call, { status: "Hungup" });
    await until(() => lights.length === 5, "idle again: off");
    assert.deepEqual(lights.slice(2), [["410", false], ["410", true], ["410", false]]);

    const presence = helper.getNode(byName(flow, "noojee-presence", ""));
    const states = presence.context().global.get("noojee.presence") as Record<string, { state: string }>;
    assert.deepEqual(Object.keys(states).sort(), ["400", "410"]);
    assert.equal(states["410"].state, "idle");
    helper.getNode(byName(flow, "inject", "ask states")).receive({});
    await until(() => lights.length === 7, "the answer to the inject button");
  });
});
