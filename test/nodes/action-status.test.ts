/**
 * What the statuses of answer, dial, hangup and record say (issue 25, item 7): "ready" at start when the config node
 * can connect (what is wrong otherwise), and a result that turns grey after RESULT_FADE_MS with the time it happened,
 * rather than a green "answered" or "recording" long after the call ended. Sinon's fake clock (advancing with real
 * time, so that HTTP to the fake PBX goes on) sets the time of day and jumps over the fade.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { FakePbx } from "../fake-pbx";
import { RESULT_FADE_MS } from "../../nodes/request-node";
import { translatedNodes } from "./catalogue";
import { catcher, catchNode, configFlowNode, credentials, FlowNode, helper, isGreen, Logged, startFakePbx, Statuses, unloadAndStop } from "./support";

const ACTIONS: FlowNode[] = [
  { id: "ans", type: "noojee-answer", server: "cfg", extension: "", answerString: "", wires: [[]] },
  { id: "dial", type: "noojee-dial", server: "cfg", extension: "410", tech: "SIP", number: "", autoAnswer: "", wires: [[]] },
  { id: "hang", type: "noojee-hangup", server: "cfg", by: "call", extension: "", wires: [[]] },
  { id: "rec", type: "noojee-record", server: "cfg", action: "start", by: "call", wires: [[]] },
];

describe("action nodes' statuses say what is true now", function () {
  let pbx: FakePbx;
  let clock: sinon.SinonFakeTimers | undefined;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await unloadAndStop(pbx);
  });

  it("a grey 'ready' at start when the config node can connect", async () => {
    await helper.load(translatedNodes, [configFlowNode(pbx.url), ...ACTIONS], credentials());
    for (const { id } of ACTIONS) {
      assert.deepEqual(new Statuses(helper.getNode(id)).all, [{ fill: "grey", shape: "ring", text: "ready" }], id);
    }
    assert.equal(pbx.requests.length, 0, "ready is known without asking the PBX");
  });

  it("'not configured' at start, and the reason in the log, when the config node has no API key", async () => {
    await helper.load(translatedNodes, [configFlowNode(pbx.url), ...ACTIONS], credentials(""));
    for (const { id } of ACTIONS) {
      const node = helper.getNode(id);
      assert.deepEqual(new Statuses(node).all, [{ fill: "red", shape: "ring", text: "not configured" }], id);
      assert.deepEqual(new Logged(node, "error").all, ["No API key configured"], id);
    }
  });

  it("answered, then grey with the time once a minute passed; a newer result starts its own minute", async () => {
    clock = sinon.useFakeTimers({ now: new Date(2026, 11, 6, 14, 2, 5), toFake: ["setTimeout", "clearTimeout", "Date"], shouldAdvanceTime: true });
    await helper.load(translatedNodes, [configFlowNode(pbx.url), ...ACTIONS], credentials());
    const node = helper.getNode("ans");
    const statuses = new Statuses(node);
    node.receive({ topic: "410", payload: pbx.startCall("410") });
    await statuses.waitFor(isGreen);
    assert.deepEqual(statuses.last, { fill: "green", shape: "dot", text: "answered" });
    clock.tick(RESULT_FADE_MS - 1000);
    assert.deepEqual(statuses.last, { fill: "green", shape: "dot", text: "answered" }, "not before the minute is over");
    // 14:03:04: another call answered; the first result's fade must not grey this one early.
    node.receive({ topic: "411", payload: pbx.startCall("411") });
    await statuses.waitFor(isGreen, 5000, statuses.all.length);
    clock.tick(2000);
    assert.deepEqual(statuses.last, { fill: "green", shape: "dot", text: "answered" });
    clock.tick(RESULT_FADE_MS);
    assert.deepEqual(statuses.last, { fill: "grey", shape: "dot", text: "answered 14:03" });
  });

  it("record's 'recording' turns into 'recording started 14:02'; a failure into grey 'failed 14:02: …'", async () => {
    clock = sinon.useFakeTimers({ now: new Date(2026, 11, 6, 14, 2, 5), toFake: ["setTimeout", "clearTimeout", "Date"], shouldAdvanceTime: true });
    await helper.load([...translatedNodes, catchNode], [
      { id: "f1", type: "tab", label: "actions" },
      configFlowNode(pbx.url),
      ...ACTIONS.map((n) => ({ ...n, z: "f1" })),
      { id: "catcher", z: "f1", type: "catch", scope: ["hang"], uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "f1", type: "helper" },
    ], credentials());
    const rec = helper.getNode("rec");
    const recStatuses = new Statuses(rec);
    rec.receive({ payload: pbx.startCall("410") });
    await recStatuses.waitFor(isGreen);
    assert.deepEqual(recStatuses.last, { fill: "green", shape: "dot", text: "recording" });

    const hang = helper.getNode("hang");
    const hangStatuses = new Statuses(hang);
    const caught = catcher(helper.getNode("caught"));
    const next = caught.next();
    pbx.refuseNext("hangup");
    hang.receive({ payload: pbx.startCall("411") });
    await next;
    assert.deepEqual(hangStatuses.last, { fill: "red", shape: "ring", text: "failed: Request refused (Code -5)" });

    clock.tick(RESULT_FADE_MS);
    assert.deepEqual(recStatuses.last, { fill: "grey", shape: "dot", text: "recording started 14:02" });
    assert.deepEqual(hangStatuses.last, { fill: "grey", shape: "ring", text: "failed 14:02: Request refused (Code -5)" });
  });

  it("a refused msg says why in short; with a config node that cannot connect, 'not configured' comes back, not a grey old failure", async () => {
    clock = sinon.useFakeTimers({ now: new Date(2026, 11, 6, 14, 2, 5), toFake: ["setTimeout", "clearTimeout", "Date"], shouldAdvanceTime: true });
    await helper.load([...translatedNodes, catchNode], [
      { id: "f1", type: "tab", label: "actions" },
      configFlowNode(pbx.url),
      ...ACTIONS.map((n) => ({ ...n, z: "f1" })),
      { id: "catcher", z: "f1", type: "catch", scope: ["ans"], uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "f1", type: "helper" },
    ], credentials("")); // no API key (outside review: it faded to a grey "failed 16:30")
    const ans = helper.getNode("ans");
    const statuses = new Statuses(ans);
    const next = catcher(helper.getNode("caught")).next();
    ans.receive({ payload: { nothing: "to answer" } });
    await next;
    const refused = statuses.last;
    assert.equal(refused?.fill, "red");
    assert.ok(refused?.text !== undefined && refused.text.startsWith("failed: ") && refused.text.length > "failed: ".length + 3, JSON.stringify(refused));
    clock.tick(RESULT_FADE_MS);
    assert.deepEqual(statuses.last, { fill: "red", shape: "ring", text: "not configured" });
  });
});
