/**
 * The config dialog's "Test connection" admin endpoint, against the fake PBX over HTTP.
 */
import assert from "node:assert/strict";
import { FakePbx, loadTestTls } from "../fake-pbx";
import type { NodeAPI } from "node-red";
import { API_KEY, configFlowNode, credentials, FlowNode, helper, nodes, subscribeFlowNodes, visibleText } from "./support";

async function test(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await helper.request().post("/noojee-config/test").send(body).expect(200);
  assert.ok(!JSON.stringify(response.body).includes(API_KEY), "the key is never sent back");
  return response.body as Record<string, unknown>;
}

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
    assert.deepEqual(await test({ id: "cfg", host: "http://127.0.0.1:9", apiKey: "__PWRD__" }), { ok: false, status: "otherHost" },
      "the stored key is never sent to another host than the deployed one, and the dialog says why");
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
      assert.match(String(strict.reason), /self-signed, so not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      assert.deepEqual(await test({ host: tlsPbx.url, verifyTls: false, apiKey: API_KEY }), { ok: true, status: "connected" });
    } finally {
      await tlsPbx.stop();
    }
  });
});

describe("noojee-config: Test connection never sends a secret where it should not", function () {
  const STORED = "__PWRD__";
  /** The deployed node's PBX, and one typed into the dialog that would accept the same key. */
  let deployedPbx: FakePbx;
  let typedPbx: FakePbx;

  beforeEach(async () => {
    deployedPbx = new FakePbx({ apiKey: API_KEY });
    typedPbx = new FakePbx({ apiKey: API_KEY });
    await Promise.all([deployedPbx.start(), typedPbx.start()]);
  });

  afterEach(async () => {
    await helper.unload();
    await Promise.all([deployedPbx.stop(), typedPbx.stop()]);
    delete process.env.NOOJEE_TEST_SECRET;
    delete process.env.NOOJEE_TEST_PBX_HOST;
    delete process.env.NOOJEE_TEST_OTHER_HOST;
  });

  /** No request at all reached `pbx`, so no key either. */
  function untouched(pbx: FakePbx, what: string): void {
    assert.deepEqual(pbx.requests.map((r) => r.rawQuery), [], what);
  }

  it("never sends the stored key to a host typed into the dialog, and says to retype the key", async () => {
    await helper.load(nodes, [configFlowNode(deployedPbx.url)], credentials());
    for (const apiKey of [STORED, "", undefined]) {
      assert.deepEqual(await test({ id: "cfg", host: typedPbx.url, verifyTls: true, authMode: "apiKey", apiKey }),
        { ok: false, status: "otherHost" }, `key field ${JSON.stringify(apiKey)}`);
    }
    untouched(typedPbx, "the typed-in host got nothing");
    untouched(deployedPbx, "nor did the deployed one: the test would not have been of what the dialog shows");
    // Retyped, the key goes where the user says.
    assert.deepEqual(await test({ id: "cfg", host: typedPbx.url, verifyTls: true, apiKey: API_KEY }), { ok: true, status: "connected" });
  });

  it("sends the stored key only with the deployed Verify TLS, whatever the dialog says", async () => {
    const tlsPbx = new FakePbx({ apiKey: API_KEY, tls: loadTestTls() });
    await tlsPbx.start();
    try {
      await helper.load(nodes, [configFlowNode(tlsPbx.url, { verifyTls: true })], credentials());
      const unchecked = await test({ id: "cfg", host: tlsPbx.url, verifyTls: false, authMode: "apiKey", apiKey: STORED });
      assert.deepEqual(unchecked, { ok: false, status: "otherSettings" });
      untouched(tlsPbx, "the stored key did not cross an unchecked TLS handshake");
      const deployed = await test({ id: "cfg", host: tlsPbx.url, verifyTls: true, authMode: "apiKey", apiKey: STORED });
      assert.equal(deployed.status, "unreachable");
      assert.match(String(deployed.reason), /self-signed, so not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      untouched(tlsPbx, "the deployed node's own check refused the certificate");
    } finally {
      await tlsPbx.stop();
    }
  });

  it("sends the stored key only with the deployed sign-in: never in clear to a timestamp-signed node", async () => {
    await helper.load(nodes, [configFlowNode(deployedPbx.url, { authMode: "timestamp" })], credentials());
    assert.deepEqual(await test({ id: "cfg", host: deployedPbx.url, verifyTls: true, authMode: "apiKey", apiKey: STORED }),
      { ok: false, status: "otherSettings" });
    untouched(deployedPbx, "the key was not sent in clear");
    assert.deepEqual(await test({ id: "cfg", host: deployedPbx.url, verifyTls: true, authMode: "timestamp", apiKey: STORED }),
      { ok: true, status: "connected" });
    assert.ok(deployedPbx.requests.length > 0 && deployedPbx.requests.every((r) => !r.rawQuery.includes(API_KEY)),
      "signed with the deployed node's timestamp sign-in, the key itself never sent");
  });

  it("never reads a typed ${NAME} key from the Node-RED process's environment", async () => {
    process.env.NOOJEE_TEST_SECRET = API_KEY;
    await helper.load(nodes, [configFlowNode(deployedPbx.url)], credentials());
    for (const id of ["new-node", "cfg"]) {
      assert.deepEqual(await test({ id, host: typedPbx.url, verifyTls: true, apiKey: "${NOOJEE_TEST_SECRET}" }), { ok: false, status: "envKey" });
      assert.deepEqual(await test({ id, host: deployedPbx.url, verifyTls: true, apiKey: "${NOOJEE_TEST_SECRET}" }), { ok: false, status: "envKey" });
    }
    untouched(typedPbx, "the variable's value went nowhere");
    untouched(deployedPbx, "not even to the deployed host");
  });

  it("uses a stored ${NAME} key as Node-RED resolved it at deploy, and says when the variable is unset", async () => {
    process.env.NOOJEE_TEST_SECRET = API_KEY;
    await helper.load(nodes, [configFlowNode(deployedPbx.url)], credentials("${NOOJEE_TEST_SECRET}"));
    assert.deepEqual(await test({ id: "cfg", host: deployedPbx.url, verifyTls: true, apiKey: STORED }), { ok: true, status: "connected" });
    assert.equal(deployedPbx.subscribeRequests()[0].query.apiKey, API_KEY);
    await helper.unload();
    delete process.env.NOOJEE_TEST_SECRET;
    await helper.load(nodes, [configFlowNode(deployedPbx.url)], credentials("${NOOJEE_TEST_SECRET}"));
    assert.deepEqual(await test({ id: "cfg", host: deployedPbx.url, verifyTls: true, apiKey: STORED }),
      { ok: false, status: "unsetEnv", reason: "NOOJEE_TEST_SECRET" });
  });

  it("gives no stored credential for an id that is not a deployed noojee-config node", async () => {
    // Another package's node with a host and an apiKey credential, as any node type may have.
    const otherType = (RED: NodeAPI): void => {
      RED.nodes.registerType("other-service", function (this: { host?: string }, config: FlowNode) {
        RED.nodes.createNode(this as never, config as never);
        this.host = config.host as string;
      } as never, { credentials: { apiKey: { type: "password" } } } as never);
    };
    await helper.load([...nodes, otherType], [
      configFlowNode(deployedPbx.url),
      { id: "other", type: "other-service", host: typedPbx.url },
      ...subscribeFlowNodes("sub", "410"),
    ], { ...credentials(), other: { apiKey: "another-service-secret" } });
    for (const id of ["other", "sub", "nowhere"]) {
      assert.deepEqual(await test({ id, host: typedPbx.url, verifyTls: true, apiKey: STORED }), { ok: false, status: "noKey" }, id);
    }
    assert.ok(typedPbx.requests.every((r) => !r.rawQuery.includes("another-service-secret")), "the other node's secret stayed");
    untouched(typedPbx, "nothing was sent");
  });

  it("compares a ${PBX_HOST} host as typed with the deployed one as typed", async () => {
    process.env.NOOJEE_TEST_PBX_HOST = deployedPbx.url;
    await helper.load(nodes, [configFlowNode("${NOOJEE_TEST_PBX_HOST}")], credentials());
    assert.deepEqual(await test({ id: "cfg", host: "${NOOJEE_TEST_PBX_HOST}", verifyTls: true, apiKey: STORED }), { ok: true, status: "connected" });
    assert.deepEqual(await test({ id: "cfg", host: deployedPbx.url, verifyTls: true, apiKey: STORED }), { ok: true, status: "connected" },
      "or typed as the variable's value");
    // With a typed key too, the variable is the deployed node's host.
    assert.deepEqual(await test({ id: "cfg", host: "${NOOJEE_TEST_PBX_HOST}", verifyTls: true, apiKey: API_KEY }), { ok: true, status: "connected" });
    assert.equal(deployedPbx.subscribeRequests().length, 3);
    // No other variable is read, with either key: not the deployed node's host, or no deployed node at all.
    process.env.NOOJEE_TEST_OTHER_HOST = typedPbx.url;
    for (const body of [{ id: "cfg", apiKey: STORED }, { id: "cfg", apiKey: API_KEY }, { id: "new-node", apiKey: API_KEY }]) {
      assert.deepEqual(await test({ ...body, host: "${NOOJEE_TEST_OTHER_HOST}", verifyTls: true }), { ok: false, status: "envHost" });
    }
    assert.deepEqual(await test({ id: "new-node", host: "${NOOJEE_TEST_PBX_HOST}", verifyTls: true, apiKey: API_KEY }), { ok: false, status: "envHost" });
    assert.equal(deployedPbx.subscribeRequests().length, 3);
    untouched(typedPbx, "nothing elsewhere");
  });

  it("keeps a user name and password typed into the Host field out of the log, the status and the Debug sidebar", async () => {
    const host = "https://admin:hunter2-pw@pbx.example.com";
    await helper.load(nodes, [configFlowNode(host), ...subscribeFlowNodes("sub", "410")], credentials());
    const answer = await test({ id: "cfg", host, verifyTls: true, apiKey: STORED });
    assert.equal(answer.status, "invalidHost");
    const text = visibleText() + JSON.stringify(answer);
    assert.match(text, /noojee-config\.error\.invalidHost/, "the invalid host was reported, so the check below means something");
    assert.match(text, /https:\/\/\*\*\*@pbx\.example\.com/, "the host is shown with its user name and password masked");
    assert.ok(!text.includes("hunter2-pw") && !text.includes("admin:"), "the password leaked");
  });
});
