/**
 * The API key must never reach a log line, a status, an error or a msg, whatever goes wrong;
 * and a self-signed PBX is refused while "Verify TLS certificate" is on.
 */
import assert from "node:assert/strict";
import axios, { AxiosError } from "axios";
import sinon from "sinon";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { FakePbx, loadTestTls } from "../fake-pbx";
import { configFlowNode, credentials, helper, isGreen, isRed, nodes, Sent, Statuses, subscribeFlowNodes, heldLongPoll, visibleText } from "./support";

// Distinctive, and with characters that change when percent-encoded.
const SECRET = "s3cr3t+key/with=odd&chars-42";

function assertNoSecret(text: string): void {
  for (const form of [SECRET, encodeURIComponent(SECRET)]) {
    assert.ok(!text.includes(form), `the key leaked: …${text.slice(Math.max(0, text.indexOf(form) - 120), text.indexOf(form) + 40)}…`);
  }
}

describe("secrets and TLS", function () {
  let pbx: FakePbx;

  afterEach(async () => {
    await helper.unload();
    await pbx?.stop();
  });

  it("keeps the key out of every log, status, error and msg through success and failures", async () => {
    pbx = new FakePbx({ apiKey: SECRET });
    await pbx.start();
    await helper.load(nodes, [
      configFlowNode(pbx.url),
      ...subscribeFlowNodes("sub", "410"),
      { id: "ans", type: "noojee-answer", server: "cfg", wires: [["out-ans"]] },
      { id: "out-ans", type: "helper" },
    ], credentials(SECRET));
    const sub = helper.getNode("sub");
    const statuses = new Statuses(sub);
    const sent = new Sent(sub);
    await heldLongPoll(pbx);
    assert.equal(pbx.requests[0].query.apiKey, SECRET, "the key does reach the PBX, encoded correctly");

    const id = pbx.startCall("410");
    await sent.count(1);
    helper.getNode("ans").receive({ payload: id, topic: "410" });
    await new Sent(helper.getNode("ans")).count(1);
    helper.getNode("ans").receive({ payload: "no.such", topic: "410" }); // a refusal
    await pbx.waitForRequest((r) => r.query.uniqueId === "no.such");

    // A poll failure whose error text would carry the URL, then a key rejection.
    await heldLongPoll(pbx);
    const seen = statuses.all.length;
    pbx.fault("http500");
    pbx.update("410", id, { status: "Hungup" });
    await statuses.waitFor(isRed, 5000, seen);
    await statuses.waitFor(isGreen, 5000, statuses.all.length);
    pbx.apiKey = "another-key";
    pbx.startCall("410");
    await statuses.waitFor((s) => isRed(s) && String(s.text).includes("retrying"), 5000, statuses.all.length);
    const text = visibleText();
    assert.match(text, /authentication failed: Invalid API Key/);
    assert.match(text, /HTTP 500/, "failure reasons are visible, so the check below means something");
    assertNoSecret(text);
  });

  it("redacts a transport error that carries the request URL (axios stub: the one unit edge case)", async () => {
    const post = sinon.stub().callsFake((url: string) => {
      const error = new AxiosError(`weird failure for ${url}`, "EWEIRD", { url } as never);
      return Promise.reject(error);
    });
    const create = sinon.stub(axios, "create").returns({ post } as never);
    try {
      const client = new NoojeeClient({ origin: "https://pbx.example.com", apiKey: SECRET, verifyTls: true });
      await assert.rejects(client.subscribe(["410"], 0, 0), (err: Error) => {
        assert.match(err.message, /weird failure for https:\/\/pbx.example.com\/.*apiKey=\*\*\* \(EWEIRD\)/);
        assertNoSecret(JSON.stringify({ stack: err.stack, ...err }) + err.message);
        return true;
      });
      client.close();
    } finally {
      create.restore();
    }
  });

  it("refuses a self-signed PBX certificate while Verify TLS is on, with a clear red status", async () => {
    pbx = new FakePbx({ apiKey: SECRET, tls: loadTestTls() });
    await pbx.start();
    await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", "410")], credentials(SECRET));
    const sub = helper.getNode("sub");
    await new Statuses(sub).waitFor(isRed);
    const errors = (sub.error as unknown as sinon.SinonSpy).getCalls().filter((c) => c.thisValue === sub);
    await new Promise<void>((resolve) => (errors.length > 0 ? resolve() : sub.once("call:error" as never, () => resolve())));
    const logged = JSON.stringify((sub.error as unknown as sinon.SinonSpy).getCalls().filter((c) => c.thisValue === sub).map((c) => c.args));
    assert.match(logged, /self-signed, so not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    assert.equal(pbx.subscribeRequests().length, 0, "no request crossed the refused handshake");
    assertNoSecret(visibleText());
  });

  it("accepts the self-signed certificate when Verify TLS is off", async () => {
    pbx = new FakePbx({ apiKey: SECRET, tls: loadTestTls() });
    await pbx.start();
    await helper.load(nodes, [configFlowNode(pbx.url, { verifyTls: false }), ...subscribeFlowNodes("sub", "410")], credentials(SECRET));
    const sent = new Sent(helper.getNode("sub"));
    await heldLongPoll(pbx);
    pbx.startCall("410");
    const [msg] = await sent.count(1);
    assert.equal((msg.payload as { status: string }).status, "Ringing");
  });
});
