/**
 * noojee-record inside Node-RED's test helper, over real HTTP to the fake PBX.
 */
import assert from "node:assert/strict";
import { FakePbx } from "../fake-pbx";
import { API_KEY, caughtMessage, helper, isRed, loadSingleNode, startFakePbx, unloadAndStop } from "./support";

describe("noojee-record", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  function load(settings: Record<string, unknown> = {}) {
    return loadSingleNode(pbx.url, { type: "noojee-record", action: "start", by: "call", extension: "", tag: "", agentLoginName: "", ...settings });
  }

  it("starts recording the call of a subscribe msg with the tag and agent percent-encoded, and sends the envelope on", async () => {
    const id = pbx.startCall("410", { status: "Connected" });
    const { node, sent, statuses } = await load({ tag: "Sales & support: 100% + more", agentLoginName: "jo.bloggs@example" });
    node.receive({ topic: "410", payload: { ...pbx.leg(id), extension: "410" }, keep: "me" });
    const [out] = await sent.count(1);
    assert.deepEqual(out.payload, { Message: "Recording started", Code: 0 });
    assert.equal((out as Record<string, unknown>).keep, "me");
    const request = pbx.requests.at(-1)!;
    assert.equal(request.method, "POST");
    assert.deepEqual(request.query, {
      extenOrUniqueId: id,
      agentLoginName: "jo.bloggs@example",
      tag: "Sales & support: 100% + more",
      apiKey: API_KEY,
    });
    assert.ok(request.rawQuery.includes("tag=Sales%20%26%20support%3A%20100%25%20%2B%20more"), request.rawQuery);
    assert.deepEqual(pbx.recordings, [
      { action: "start", extenOrUniqueId: id, uniqueCallId: id, tag: "Sales & support: 100% + more", agentLoginName: "jo.bloggs@example" },
    ]);
    assert.deepEqual(statuses.all.map((s) => [s.fill, s.text]), [
      ["grey", "noojee-record.status.ready"],
      ["blue", "noojee-record.status.starting"],
      ["green", "noojee-record.status.started"],
    ]);
  });

  it("stops recording without a tag, even when the node or the msg has one", async () => {
    const id = pbx.startCall("410", { status: "Connected" });
    const { node, sent, statuses } = await load({ action: "stop", tag: "node-tag" });
    node.receive({ payload: id, tag: "msg-tag", action: "start" });
    const [out] = await sent.count(1);
    assert.deepEqual(out.payload, { Message: "Recording stopped", Code: 0 });
    assert.deepEqual(pbx.requests.at(-1)!.query, { extenOrUniqueId: id, apiKey: API_KEY });
    assert.equal(pbx.recordings[0].action, "stop");
    assert.equal(statuses.last?.text, "noojee-record.status.stopped");
  });

  it("takes start or stop from msg.action when set to, and msg.tag / msg.agentLoginName override the node's", async () => {
    const id = pbx.startCall("410", { status: "Connected" });
    const { node, sent, caught } = await load({ action: "msg", tag: "node-tag", agentLoginName: "node.agent" });
    node.receive({ payload: id, action: "start" });
    await sent.count(1);
    node.receive({ payload: id, action: "Stop", agentLoginName: "msg.agent" });
    await sent.count(2);
    node.receive({ payload: id, action: "start", tag: "msg & tag" });
    await sent.count(3);
    assert.deepEqual(
      pbx.recordings.map((r) => [r.action, r.tag, r.agentLoginName]),
      [
        ["start", "node-tag", "node.agent"],
        ["stop", undefined, "msg.agent"],
        ["start", "msg & tag", "node.agent"],
      ],
    );
    for (const [input, error] of [
      [{ payload: id }, /error.noAction/],
      [{ payload: id, action: "pause" }, /error.badAction/],
    ] as Array<[Record<string, unknown>, RegExp]>) {
      const next = caught.next();
      node.receive(input);
      assert.match(caughtMessage(await next), error);
    }
    assert.equal(pbx.requests.length, 3);
  });

  it("records by extension: the node's Extension wins, else msg.extension, msg.payload.extension, msg.topic", async () => {
    for (const ext of ["410", "411", "412"]) pbx.startCall(ext, { status: "Connected" });
    const { node, sent } = await load({ by: "extension" });
    node.receive({ extension: "SIP/410", topic: "499" });
    node.receive({ payload: { extension: "411", uniqueCallId: "9.9" } });
    node.receive({ topic: 412 } as unknown as { topic: string }); // a number, as a change node may set it
    await sent.count(3);
    assert.deepEqual(pbx.recordings.map((r) => r.extenOrUniqueId).sort(), ["411", "412", "SIP/410"]);

    await helper.unload();
    const fixed = await load({ by: "extension", extension: "PJSIP/410", action: "stop" });
    fixed.node.receive({ extension: "411", topic: "411" });
    await fixed.sent.count(1);
    assert.equal(pbx.recordings.at(-1)?.extenOrUniqueId, "PJSIP/410");
  });

  it("rejects bad input with a clear error and sends no request", async () => {
    const { node, sent, caught } = await load();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ topic: "410" }, /error.noCallId/],
      [{ uniqueCallId: 1412750652.496 }, /error.badCallId/],
      [{ payload: "410" }, /error.extensionAsCallId/],
      [{ payload: "1.1", tag: "a\nb" }, /error.badTag/],
      [{ payload: "1.1", agentLoginName: ["x"] }, /error.badAgentLoginName/],
    ];
    for (const [input, error] of bad) {
      const next = caught.next();
      node.receive(input);
      assert.match(caughtMessage(await next), error, JSON.stringify(input));
    }
    assert.equal(sent.all.length, 0);
    assert.equal(pbx.requests.length, 0, "no request for bad input");
  });

  it("sends a PBX refusal and an unreachable PBX to Catch without the key", async () => {
    const { node, sent, statuses, caught } = await load();
    let next = caught.next();
    node.receive({ payload: "1412750652.496", _msgid: "m1" });
    let msg = await next;
    assert.match(caughtMessage(msg), /noojee-record.error.rejected .*No channel found/);
    assert.equal(msg.payload, "1412750652.496");
    assert.ok(isRed(statuses.last!));

    pbx.refuseNext("start", { Message: `Recording disabled for key ${API_KEY}`, Code: -9 });
    next = caught.next();
    node.receive({ payload: pbx.startCall("410") });
    msg = await next;
    assert.match(caughtMessage(msg), /Recording disabled/);
    assert.ok(!JSON.stringify(msg).includes(API_KEY));
    assert.ok(!JSON.stringify(statuses.all).includes(API_KEY));

    await pbx.stop();
    next = caught.next();
    node.receive({ payload: "1.1" });
    msg = await next;
    assert.match(caughtMessage(msg), /noojee-record.error.requestFailed/);
    assert.ok(!JSON.stringify(msg).includes(API_KEY));
    assert.equal(sent.all.length, 0);
  });

  it("refuses a bad node configuration before any msg", async () => {
    for (const config of [{ action: "pause" }, { by: "channel" }, { by: "extension", extension: "x" }, { tag: "a\nb" }, { server: "" }]) {
      const { node, caught, statuses } = await load(config);
      assert.ok(isRed(statuses.all[0]), JSON.stringify(config));
      const next = caught.next();
      node.receive({ payload: "1.1", topic: "410", action: "start" });
      await next;
      assert.equal(pbx.requests.length, 0);
      await helper.unload();
    }
  });
});
