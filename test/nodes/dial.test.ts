/**
 * noojee-dial inside Node-RED's test helper, over real HTTP to the fake PBX.
 */
import assert from "node:assert/strict";
import { API_BASE, FakePbx } from "../fake-pbx";
import { API_KEY, caughtMessage, helper, isRed, loadSingleNode, startFakePbx, unloadAndStop } from "./support";

const DIAL = `${API_BASE}dial`;

describe("noojee-dial", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  function load(settings: Record<string, unknown> = {}, apiKey = API_KEY) {
    return loadSingleNode(pbx.url, { type: "noojee-dial", extension: "", tech: "SIP", number: "", autoAnswer: "", ...settings }, apiKey);
  }

  const dials = () => pbx.requests.filter((r) => r.path === DIAL);

  it("dials with every parameter percent-encoded and exactly as given, and sends the envelope on", async () => {
    const { node, sent, statuses } = await load({
      extension: "100",
      autoAnswer: "Call-Info:\\; answer-after=0",
      callerId: "0299990000",
      phoneCaption: "Jo & Co (sales)",
      record: true,
    });
    node.receive({ payload: "+61 2 9999 0000", tag: "Q&A: 50% off + more", keep: "me" });
    const [out] = await sent.count(1);
    const [request] = dials();
    assert.equal(request.method, "POST");
    assert.deepEqual(request.query, {
      number: "+61299990000",
      extenOrUniqueId: "SIP/100",
      autoAnswer: "Call-Info:\\; answer-after=0",
      callerId: "0299990000",
      phoneCaption: "Jo & Co (sales)",
      monitored: "yes",
      record: "true",
      tag: "Q&A: 50% off + more",
      apiKey: API_KEY,
    });
    for (const encoded of ["number=%2B61299990000", "tag=Q%26A%3A%2050%25%20off%20%2B%20more", "extenOrUniqueId=SIP%2F100"]) {
      assert.ok(request.rawQuery.includes(encoded), `${encoded} in ${request.rawQuery}`);
    }
    const [dialed] = pbx.dialed;
    assert.deepEqual(out.payload, { SessionID: dialed.sessionId, Message: "Dialing", Code: 0 });
    assert.equal((out as Record<string, unknown>).keep, "me", "the rest of the msg travels on");
    assert.equal(pbx.leg(dialed.uniqueCallId)?.status, "Dialing Out");
    assert.deepEqual(statuses.all.map((s) => s.fill), ["grey", "blue", "green"]);
  });

  it("lets every msg property override the node's setting of the same name, the calling extension too", async () => {
    const { node, sent } = await load({
      extension: "100",
      number: "0299990000",
      callerId: "0211110000",
      phoneCaption: "node caption",
      tag: "node-tag",
      monitored: true,
      record: false,
    });
    node.receive({ payload: "0388880000" }); // payload does not replace the node's Number
    await sent.count(1);
    node.receive({
      number: "0412 345 678",
      extension: "SIP/999",
      callerId: "0222220000",
      phoneCaption: "msg caption",
      tag: "msg tag",
      monitored: false,
      record: true,
    });
    await sent.count(2);
    const [first, second] = dials().map((r) => r.query);
    assert.deepEqual(first, {
      number: "0299990000",
      extenOrUniqueId: "SIP/100",
      callerId: "0211110000",
      phoneCaption: "node caption",
      monitored: "yes",
      tag: "node-tag",
      apiKey: API_KEY,
    });
    assert.deepEqual(second, {
      number: "0412345678",
      extenOrUniqueId: "SIP/999",
      callerId: "0222220000",
      phoneCaption: "msg caption",
      record: "true",
      tag: "msg tag",
      apiKey: API_KEY,
    });
  });

  it("takes the calling extension from msg.extension when the node has none, with the node's technology", async () => {
    const { node, sent } = await load({ tech: "PJSIP", monitored: false });
    node.receive({ payload: 299990000, extension: 101 });
    node.receive({ number: "*72#", extension: "IAX2/102", monitored: true });
    await sent.count(2);
    assert.deepEqual(
      dials().map((r) => r.query),
      [
        { number: "299990000", extenOrUniqueId: "PJSIP/101", apiKey: API_KEY },
        { number: "*72#", extenOrUniqueId: "IAX2/102", monitored: "yes", apiKey: API_KEY },
      ],
    );
  });

  it("rejects bad input with a clear error and sends no request", async () => {
    const { node, sent, caught, statuses } = await load();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ extension: "100" }, /error.noNumber/],
      [{ payload: { number: "0299990000" }, extension: "100" }, /error.noNumber/],
      [{ payload: "call me maybe", extension: "100" }, /error.badNumber/],
      [{ payload: "0299990000&apiKey=x", extension: "100" }, /error.badNumber/],
      [{ number: 2.5, extension: "100" }, /error.badNumber/],
      [{ payload: "0299990000" }, /error.noExtension/],
      [{ payload: "0299990000", extension: "SIP/" }, /error.badExtension/],
      [{ payload: "0299990000", extension: "100", monitored: "yes" }, /error.badMonitored/],
      [{ payload: "0299990000", extension: "100", record: "true" }, /error.badRecord/],
      [{ payload: "0299990000", extension: "100", callerId: "a\r\nb" }, /error.badCallerId/],
      [{ payload: "0299990000", extension: "100", phoneCaption: { text: "x" } }, /error.badPhoneCaption/],
      [{ payload: "0299990000", extension: "100", tag: "x".repeat(101) }, /error.badTag/],
    ];
    for (const [input, error] of bad) {
      const next = caught.next();
      node.receive(input);
      assert.match(caughtMessage(await next), error, JSON.stringify(input));
    }
    assert.equal(caught.msgs.length, bad.length);
    assert.equal(sent.all.length, 0);
    assert.equal(pbx.requests.length, 0, "no request for bad input");
    assert.ok(isRed(statuses.last!));
  });

  it("sends a PBX refusal to Catch with the msg, without the key even when the PBX echoes it", async () => {
    const { node, sent, statuses, caught } = await load({ extension: "100" });
    pbx.refuseNext("dial", { Message: `Extension busy (apiKey=${API_KEY})`, Code: -7 });
    const next = caught.next();
    node.receive({ payload: "0299990000", _msgid: "m1" });
    const msg = await next;
    assert.match(caughtMessage(msg), /noojee-dial.error.rejected .*Extension busy.*"code":-7/);
    assert.equal((msg.error as { source: { id: string } }).source.id, "n");
    assert.equal(msg.payload, "0299990000", "the Catch node gets the original msg");
    assert.ok(!JSON.stringify(msg).includes(API_KEY));
    assert.ok(!JSON.stringify(statuses.all).includes(API_KEY));
    assert.equal(sent.all.length, 0);
    assert.ok(isRed(statuses.last!));
    assert.equal(pbx.dialed.length, 0);
  });

  it("reports a refused key and an unreachable PBX to Catch without the key", async () => {
    const wrong = await load({ extension: "100" }, "wrong-key-0000");
    let next = wrong.caught.next();
    wrong.node.receive({ payload: "0299990000" });
    assert.match(caughtMessage(await next), /noojee-dial.error.rejected .*Invalid API Key/);
    await helper.unload();

    const { node, caught } = await load({ extension: "100" });
    await pbx.stop();
    next = caught.next();
    node.receive({ payload: "0299990000" });
    const msg = await next;
    assert.match(caughtMessage(msg), /noojee-dial.error.requestFailed .*connection refused/);
    assert.ok(!JSON.stringify(msg).includes(API_KEY));
  });

  it("refuses a bad node configuration before any msg", async () => {
    for (const config of [{ extension: "10O" }, { tech: "SIP/" }, { number: "call me" }, { autoAnswer: "x\ny" }, { tag: "a\tb" }, { server: "" }]) {
      const { node, caught, statuses } = await load(config);
      assert.ok(isRed(statuses.all[0]), JSON.stringify(config));
      const next = caught.next();
      node.receive({ payload: "0299990000", extension: "100" });
      await next;
      assert.equal(pbx.requests.length, 0);
      await helper.unload();
    }
  });

  it("treats a missing tech or monitored setting (an older flow) as SIP and monitored", async () => {
    const { node, sent } = await loadSingleNode(pbx.url, { type: "noojee-dial", extension: "100" });
    node.receive({ payload: "0299990000" });
    await sent.count(1);
    assert.deepEqual(dials()[0].query, { number: "0299990000", extenOrUniqueId: "SIP/100", monitored: "yes", apiKey: API_KEY });
  });
});
