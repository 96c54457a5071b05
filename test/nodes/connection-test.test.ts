/**
 * The config dialog's "Test connection" admin endpoint, against the fake PBX over HTTP.
 */
import assert from "node:assert/strict";
import { FakePbx, loadTestTls } from "../fake-pbx";
import { API_KEY, configFlowNode, credentials, helper, nodes } from "./support";

describe("noojee-config: Test connection", function () {
  let pbx: FakePbx;

  beforeEach(async () => {
    pbx = new FakePbx({ apiKey: API_KEY });
    await pbx.start();
    await helper.load(nodes, [configFlowNode(pbx.url)], credentials());
  });

  afterEach(async () => {
    await helper.unload();
    await pbx.stop();
  });

  async function test(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await helper.request().post("/noojee-config/test").send(body).expect(200);
    assert.ok(!JSON.stringify(response.body).includes(API_KEY), "the key is never sent back");
    return response.body as Record<string, unknown>;
  }

  it("says connected for the typed host and key of an unsaved node, with one timeOut=0 read", async () => {
    assert.deepEqual(await test({ id: "new-node", host: pbx.url, verifyTls: true, apiKey: API_KEY }), { ok: true, status: "connected" });
    const [request] = pbx.subscribeRequests();
    assert.deepEqual([request.query.lastSequenceNumber, request.query.timeOut], ["0", "0"]);
    assert.equal(pbx.openPolls(), 0);
  });

  it("uses the stored credential of a saved node when the key field is untouched", async () => {
    assert.deepEqual(await test({ id: "cfg", host: pbx.url, apiKey: "__PWRD__" }), { ok: true, status: "connected" });
    assert.equal(pbx.subscribeRequests()[0].query.apiKey, API_KEY);
    assert.deepEqual(await test({ id: "unknown", host: pbx.url, apiKey: "__PWRD__" }), { ok: false, status: "noKey" });
    assert.deepEqual(await test({ id: "cfg", host: "http://127.0.0.1:9", apiKey: "__PWRD__" }), { ok: false, status: "noKey" },
      "the stored key is never sent to another host than the deployed one");
  });

  it("says authentication failed for a wrong key", async () => {
    const result = await test({ id: "cfg", host: pbx.url, apiKey: "wrong" });
    assert.equal(result.status, "authFailed");
    assert.equal(result.ok, false);
  });

  it("says unreachable, with the reason, for a closed port or a bad host", async () => {
    assert.deepEqual(await test({ host: "http://127.0.0.1:1", apiKey: API_KEY }), { ok: false, status: "unreachable", reason: "connection refused" });
    assert.deepEqual(await test({ host: "pbx.example.com/x", apiKey: API_KEY }), { ok: false, status: "invalidHost", reason: "must not contain a path" });
  });

  it("honours Verify TLS for a self-signed PBX", async () => {
    const tlsPbx = new FakePbx({ apiKey: API_KEY, tls: loadTestTls() });
    await tlsPbx.start();
    try {
      const strict = await test({ host: tlsPbx.url, verifyTls: true, apiKey: API_KEY });
      assert.equal(strict.status, "unreachable");
      assert.match(String(strict.reason), /TLS certificate not trusted/);
      assert.deepEqual(await test({ host: tlsPbx.url, verifyTls: false, apiKey: API_KEY }), { ok: true, status: "connected" });
    } finally {
      await tlsPbx.stop();
    }
  });
});
