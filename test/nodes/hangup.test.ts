/**
 * noojee-hangup inside Node-RED's test helper, over real HTTP to the fake PBX.
 */
import assert from "node:assert/strict";
import { API_BASE, FakePbx } from "../fake-pbx";
import { API_KEY, caughtMessage, helper, isGreen, isRed, loadSingleNode, startFakePbx, unloadAndStop } from "./support";

const HANGUP = `${API_BASE}hangup`;

describe("noojee-hangup", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  function load(settings: Record<string, unknown> = {}) {
    return loadSingleNode(pbx.url, { type: "noojee-hangup", by: "call", extension: "", ...settings });
  }

  const hangups = () => pbx.requests.filter((r) => r.path === HANGUP).map((r) => r.query.extenOrUniqueId);

  it("hangs up the call named by a subscribe msg and sends the envelope on", async () => {
    const id = pbx.startCall("410", { uniqueCallId: "342082345-238.234" });
    const other = pbx.startCall("410");
    const { node, sent, statuses } = await load();
    node.receive({ topic: "410", payload: { ...pbx.leg(id), extension: "410" }, keep: "me" });
    const [out] = await sent.count(1);
    assert.deepEqual(out.payload, { Message: "Channel Hungup", Code: 0 });
    assert.equal((out as Record<string, unknown>).keep, "me");
    const request = pbx.requests.find((r) => r.path === HANGUP)!;
    assert.deepEqual(request.query, { extenOrUniqueId: "342082345-238.234", apiKey: API_KEY });
    assert.ok(request.rawQuery.startsWith("extenOrUniqueId=342082345-238.234&"));
    assert.equal(pbx.leg(id), undefined, "that call ended");
    assert.equal(pbx.leg(other)?.status, "Ringing", "the extension's other call did not");
    assert.deepEqual(statuses.all.map((s) => s.fill), ["grey", "blue", "green"]);
  });

  it("by call: msg.uniqueCallId, then msg.payload.uniqueCallId, then a string payload; never an extension", async () => {
    const [a, b, c] = [pbx.startCall("410"), pbx.startCall("411"), pbx.startCall("412")];
    const { node, sent, caught } = await load({ extension: "499" });
    node.receive({ uniqueCallId: a, payload: { uniqueCallId: "9.9" }, extension: "410" });
    await sent.count(1);
    node.receive({ payload: { uniqueCallId: b, extension: "411" }, topic: "411" });
    await sent.count(2);
    node.receive({ payload: c });
    await sent.count(3);
    assert.deepEqual(hangups(), [a, b, c]);

    const next = caught.next();
    node.receive({ extension: "410", topic: "410" });
    assert.match(caughtMessage(await next), /error.noCallId/);
    assert.equal(hangups().length, 3);
  });

  it("by extension: the node's Extension wins, else msg.extension, msg.payload.extension, msg.topic", async () => {
    const calls = ["410", "411", "412", "413"].map((ext) => pbx.startCall(ext));
    const { node, sent } = await load({ by: "extension" });
    node.receive({ extension: "SIP/410", payload: { extension: "499" }, topic: "498" });
    await sent.count(1);
    node.receive({ payload: { extension: 411, uniqueCallId: calls[3] }, topic: "498" });
    await sent.count(2);
    node.receive({ topic: "412" });
    await sent.count(3);
    assert.deepEqual(hangups(), ["SIP/410", "411", "412"]);
    assert.equal(pbx.leg(calls[3])?.status, "Ringing", "the uniqueCallId is ignored by extension");

    await helper.unload();
    const fixed = await load({ by: "extension", extension: "413" });
    fixed.node.receive({ extension: "499", topic: "498" });
    await fixed.sent.count(1);
    assert.equal(hangups().at(-1), "413");
    assert.equal(pbx.leg(calls[3]), undefined);
  });

  it("rejects bad input with a clear error and sends no request", async () => {
    const byCall = await load();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ payload: { status: "Connected" } }, /error.noCallId/],
      [{ payload: 1412750652.496 }, /error.noCallId/],
      [{ uniqueCallId: 1412750652.496 }, /error.badCallId/],
      [{ payload: "1.1&apiKey=x" }, /error.badCallId/],
      [{ payload: "410" }, /error.extensionAsCallId/],
    ];
    for (const [input, error] of bad) {
      const next = byCall.caught.next();
      byCall.node.receive(input);
      assert.match(caughtMessage(await next), error, JSON.stringify(input));
    }
    await helper.unload();
    const byExtension = await load({ by: "extension" });
    for (const [input, error] of [
      [{ payload: "1.1" }, /error.noExtension/],
      [{ topic: "4 1 0" }, /error.badExtension/],
      [{ extension: "410&x=1" }, /error.badExtension/],
    ] as Array<[Record<string, unknown>, RegExp]>) {
      const next = byExtension.caught.next();
      byExtension.node.receive(input);
      assert.match(caughtMessage(await next), error, JSON.stringify(input));
    }
    assert.equal(pbx.requests.length, 0, "no request for bad input");
  });

  it("sends a PBX refusal (no such call) to Catch with the msg, and shows red then green again", async () => {
    const { node, sent, statuses, caught } = await load();
    const next = caught.next();
    node.receive({ payload: "1412750652.496" });
    const msg = await next;
    assert.match(caughtMessage(msg), /noojee-hangup.error.rejected .*No channel found.*"code":-4/);
    assert.equal(msg.payload, "1412750652.496");
    assert.equal(sent.all.length, 0);
    assert.ok(isRed(statuses.last!));
    assert.ok(!JSON.stringify(msg).includes(API_KEY));

    node.receive({ payload: pbx.startCall("410") });
    await sent.count(1);
    await statuses.waitFor(isGreen, 5000, statuses.all.length - 1);
  });

  it("reports an unreachable PBX to Catch without the key", async () => {
    const { node, caught } = await load();
    await pbx.stop();
    const next = caught.next();
    node.receive({ payload: "1.1" });
    const msg = await next;
    assert.match(caughtMessage(msg), /noojee-hangup.error.requestFailed/);
    assert.ok(!JSON.stringify(msg).includes(API_KEY));
  });

  it("refuses a bad node configuration before any msg", async () => {
    for (const config of [{ by: "everything" }, { by: "extension", extension: "4a0" }, { server: "" }]) {
      const { node, caught, statuses } = await load(config);
      assert.ok(isRed(statuses.all[0]), JSON.stringify(config));
      const next = caught.next();
      node.receive({ payload: "1.1", topic: "410" });
      await next;
      assert.equal(pbx.requests.length, 0);
      await helper.unload();
    }
  });
});
