/**
 * noojee-answer inside Node-RED's test helper, over real HTTP to the fake PBX.
 */
import assert from "node:assert/strict";
import { FakePbx } from "../fake-pbx";
import { requireFromNodeRed } from "../harness/node-red-under-test";
import { API_KEY, configFlowNode, credentials, FlowNode, helper, isGreen, isRed, nodes, Sent, Statuses, startFakePbx, unloadAndStop, catcher } from "./support";

// The core Catch node, to see errors the way a user's flow does. It must be the very module of the Node-RED under
// test: the helper loads that one itself for a flow with a catch node, and skips ours only when it is the same.
const catchNode = requireFromNodeRed<(RED: unknown) => void>("@node-red/nodes/core/common/25-catch.js");

describe("noojee-answer", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  async function load(answer: Record<string, unknown> = {}, extra: FlowNode[] = []) {
    await helper.load([...nodes, catchNode], [
      { id: "f1", type: "tab", label: "answer" },
      configFlowNode(pbx.url),
      { id: "ans", z: "f1", type: "noojee-answer", server: "cfg", extension: "", answerString: "", wires: [["out"]], ...answer },
      { id: "out", z: "f1", type: "helper" },
      { id: "catcher", z: "f1", type: "catch", scope: ["ans"], uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "f1", type: "helper" },
      ...extra,
    ], credentials());
    const node = helper.getNode("ans");
    return { node, sent: new Sent(node), statuses: new Statuses(node), caught: catcher(helper.getNode("caught")) };
  }

  it("answers the call named by the subscribe msg itself (payload.uniqueCallId, topic), and sends the envelope on", async () => {
    const id = pbx.startCall("410");
    const { node, sent, statuses } = await load({ answerString: "Call-info:answer-after=0" });
    const msg = { topic: "410", payload: { ...pbx.leg(id), extension: "410", seq: pbx.seq }, keep: "me" };
    node.receive(msg);
    const [out] = await sent.count(1);
    assert.deepEqual(out.payload, { Message: "Call answered", Code: 0 });
    assert.equal((out as Record<string, unknown>).keep, "me", "the rest of the msg travels on");
    assert.deepEqual(pbx.answered, [{ uniqueId: id, exten: "410", answerString: "Call-info:answer-after=0" }]);
    assert.equal(pbx.leg(id)?.status, "Connected");
    assert.deepEqual(statuses.all.map((s) => s.fill), ["grey", "blue", "green"]);
  });

  it("a hand-written flow's Extension as a JSON number (410) or with spaces around it is read as the extension, not a crash", async () => {
    for (const extension of [410, " 410 "]) {
      const id = pbx.startCall("410");
      const { node, sent } = await load({ extension });
      node.receive({ payload: id });
      await sent.count(1);
      assert.equal(pbx.answered.at(-1)?.exten, "410", JSON.stringify(extension));
      await helper.unload();
    }
  });

  it("follows the input precedence: msg.uniqueCallId, then payload.uniqueCallId, then a string payload; node extension first", async () => {
    const a = pbx.startCall("410");
    const b = pbx.startCall("411");
    const c = pbx.startCall("412");
    const { node, sent } = await load();
    node.receive({ uniqueCallId: a, payload: { uniqueCallId: "9.9", extension: "499" }, extension: "SIP/410", topic: "498" });
    await sent.count(1);
    node.receive({ payload: { uniqueCallId: b, extension: "411" }, topic: "498" });
    await sent.count(2);
    node.receive({ payload: c, topic: "412" });
    await sent.count(3);
    assert.deepEqual(pbx.answered.map((x) => [x.uniqueId, x.exten]), [[a, "SIP/410"], [b, "411"], [c, "412"]]);

    await helper.unload();
    const d = pbx.startCall("420");
    const fixed = await load({ extension: "420" });
    fixed.node.receive({ payload: d, extension: "999", topic: "998" });
    await fixed.sent.count(1);
    assert.deepEqual(pbx.answered.at(-1), { uniqueId: d, exten: "420", answerString: undefined });
  });

  it("sends a PBX refusal to the Catch node with the msg, and shows red", async () => {
    const { node, sent, statuses, caught } = await load();
    const next = caught.next();
    node.receive({ payload: "1412750652.496", topic: "410", _msgid: "m1" });
    const msg = await next;
    const error = msg.error as { message: string; source: { id: string } };
    assert.match(error.message, /noojee-answer.error.rejected/);
    assert.equal(error.source.id, "ans");
    assert.equal(msg.payload, "1412750652.496", "the Catch node gets the original msg");
    assert.equal(sent.all.length, 0);
    await statuses.waitFor(isRed);
    assert.equal(pbx.answered.length, 0);
  });

  it("rejects bad input with a clear error and sends no request", async () => {
    const { node, sent, caught } = await load();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ payload: { status: "Ringing" }, topic: "410" }, /error.noCallId/],
      [{ payload: 1412750652.496, topic: "410" }, /error.noCallId/],
      [{ uniqueCallId: 1412750652.496, topic: "410" }, /error.badCallId/],
      [{ payload: "1.1&apiKey=x", topic: "410" }, /error.badCallId/],
      [{ payload: "1.1" }, /error.noExtension/],
      [{ payload: "1.1", topic: "4 1 0" }, /error.badExtension/],
      [{ payload: "1.1", extension: { n: 1 } }, /error.badExtension/],
    ];
    for (const [input, error] of bad) {
      const next = caught.next();
      node.receive(input);
      const msg = await next;
      assert.match((msg.error as { message: string }).message, error, JSON.stringify(input));
    }
    assert.equal(caught.msgs.length, bad.length);
    assert.equal(sent.all.length, 0);
    assert.equal(pbx.requests.length, 0, "no request for bad input");
  });

  it("reports an unreachable PBX to Catch without the key", async () => {
    const { node, caught } = await load();
    await pbx.stop();
    const next = caught.next();
    node.receive({ payload: "1.1", topic: "410" });
    const msg = await next;
    assert.match((msg.error as { message: string }).message, /noojee-answer.error.requestFailed/);
    assert.ok(!JSON.stringify(msg).includes(API_KEY));
  });

  it("refuses a bad node configuration before any msg", async () => {
    for (const config of [{ extension: "4a0" }, { answerString: "x\r\ny" }, { server: "" }]) {
      const { node, caught, statuses } = await load(config);
      assert.ok(isRed(statuses.all[0]), JSON.stringify(config));
      const next = caught.next();
      node.receive({ payload: "1.1", topic: "410" });
      await next;
      assert.equal(pbx.requests.length, 0);
      await helper.unload();
    }
  });

  it("shows green again after a later success", async () => {
    const { node, sent, statuses, caught } = await load();
    const failed = caught.next();
    node.receive({ payload: "nope.1", topic: "410" });
    await failed;
    const id = pbx.startCall("410");
    node.receive({ payload: id, topic: "410" });
    await sent.count(1);
    await statuses.waitFor(isGreen);
    assert.equal(statuses.last?.fill, "green");
  });
});
