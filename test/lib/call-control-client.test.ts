/**
 * The client's dial, hangup and recording methods over real HTTP to the fake PBX: parameter names, encoding, and
 * what is left out.
 */
import assert from "node:assert/strict";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { API_BASE, FakePbx } from "../fake-pbx";

const KEY = "cc-key-0d4e5f6a-7b8c";

describe("NoojeeClient dial, hangup and recording over HTTP", function () {
  let pbx: FakePbx;
  let client: NoojeeClient;

  beforeEach(async () => {
    pbx = new FakePbx({ apiKey: KEY });
    await pbx.start();
    client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true });
  });

  afterEach(async () => {
    client.close();
    await pbx.stop();
  });

  const last = () => pbx.requests.at(-1)!;

  it("dial sends every parameter percent-encoded and answers the SessionID envelope", async () => {
    const envelope = await client.dial({
      number: "+61299990000",
      extenOrUniqueId: "SIP/100",
      autoAnswer: "Call-Info:\\; answer-after=0",
      callerId: "Sales <0299990000>",
      phoneCaption: "Order #42 & co",
      monitored: true,
      record: true,
      tag: "a&b c=d+e",
    });
    assert.equal(envelope.Code, 0);
    assert.equal(typeof envelope.SessionID, "string");
    assert.equal(last().path, `${API_BASE}dial`);
    assert.equal(last().method, "POST");
    assert.deepEqual(last().query, {
      number: "+61299990000",
      extenOrUniqueId: "SIP/100",
      autoAnswer: "Call-Info:\\; answer-after=0",
      callerId: "Sales <0299990000>",
      phoneCaption: "Order #42 & co",
      monitored: "yes",
      record: "true",
      tag: "a&b c=d+e",
      apiKey: KEY,
    });
    assert.ok(last().rawQuery.includes("number=%2B61299990000"), "a + must be encoded, or it arrives as a space");
  });

  it("dial leaves out empty optional parameters, and monitored/record when false (only monitored=yes is documented)", async () => {
    await client.dial({ number: "100", extenOrUniqueId: "SIP/101", autoAnswer: "", callerId: "", monitored: false, record: false, tag: "" });
    assert.deepEqual(last().query, { number: "100", extenOrUniqueId: "SIP/101", apiKey: KEY });
    await client.dial({ number: "100", extenOrUniqueId: "SIP/101" });
    assert.deepEqual(last().query, { number: "100", extenOrUniqueId: "SIP/101", apiKey: KEY });
  });

  it("hangup sends extenOrUniqueId and answers the envelope; a refusal is a NoojeeError of kind api", async () => {
    const id = pbx.startCall("410");
    assert.deepEqual(await client.hangup(id), { Message: "Channel Hungup", Code: 0 });
    assert.deepEqual(last().query, { extenOrUniqueId: id, apiKey: KEY });
    await assert.rejects(client.hangup("SIP/499"), (err: unknown) => err instanceof NoojeeError && err.kind === "api" && err.code === -4);
  });

  it("start sends the tag and agentLoginName; stop sends no tag", async () => {
    const id = pbx.startCall("410");
    await client.startRecording({ extenOrUniqueId: id, agentLoginName: "jo.bloggs", tag: "x&y z" });
    assert.equal(last().path, `${API_BASE}start`);
    assert.deepEqual(last().query, { extenOrUniqueId: id, agentLoginName: "jo.bloggs", tag: "x&y z", apiKey: KEY });
    await client.stopRecording({ extenOrUniqueId: "SIP/410", agentLoginName: "jo.bloggs", tag: "ignored" });
    assert.equal(last().path, `${API_BASE}stop`);
    assert.deepEqual(last().query, { extenOrUniqueId: "SIP/410", agentLoginName: "jo.bloggs", apiKey: KEY });
    await client.startRecording({ extenOrUniqueId: id });
    assert.deepEqual(last().query, { extenOrUniqueId: id, apiKey: KEY });
  });
});
