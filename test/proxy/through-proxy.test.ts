/**
 * A Node-RED that reaches the PBX only through an outbound proxy: a real tinyproxy, the variables Node-RED's http
 * request node honours, an http and an https PBX, a long poll held for its whole timeout, the no_proxy bypass,
 * Test connection, and a close that ends the poll held through the tunnel.
 */
import assert from "node:assert/strict";
import { checkConnection } from "../../nodes/lib/client/connection-check";
import { FakePbx, loadTestTls } from "../fake-pbx";
import { API_KEY, configFlowNode, credentials, deploy, heldLongPoll, helper, isGreen, isRed, nodes, Sent, startFakePbx, Statuses, subscribeFlowNodes } from "../nodes/support";
import { proxyEnv } from "./proxy-env";
import { assertAbsent, loadSubscribe } from "./support";
import { requireTinyproxy, Tinyproxy } from "./tinyproxy";

describe("through a real proxy (tinyproxy)", function () {
  const env = proxyEnv();
  let proxy: Tinyproxy;
  let pbx: FakePbx | undefined;

  before(function () {
    requireTinyproxy(this);
  });

  beforeEach(async () => {
    proxy = new Tinyproxy();
    await proxy.start();
  });

  afterEach(async () => {
    await helper.unload();
    await pbx?.stop();
    pbx = undefined;
    await proxy.stop();
    env.restore();
  });

  it("follows calls on an http PBX through a kept-alive CONNECT tunnel; the proxy never sees the key", async () => {
    pbx = await startFakePbx();
    env.set({ http_proxy: proxy.url, https_proxy: "http://127.0.0.1:9" }); // only http_proxy applies to http
    const { sent } = await loadSubscribe(pbx.url);
    await heldLongPoll(pbx);
    const id = pbx.startCall("410");
    pbx.update("410", id, { status: "Connected" });
    await sent.waitFor((m) => (m.payload as { status: string }).status === "Connected");
    await heldLongPoll(pbx);

    const connects = proxy.connects();
    assert.ok(connects.length > 0, `tinyproxy saw no CONNECT; log:\n${proxy.log()}`);
    assert.deepEqual([...new Set(connects)], [pbx.hostPort], "every tunnel went to the PBX");
    assert.ok(connects.length < pbx.subscribeRequests().length,
      `keep-alive: ${pbx.subscribeRequests().length} polls over ${connects.length} tunnel(s)`);
    assertAbsent(proxy.log(), API_KEY, "the key (in tinyproxy's log)");
  });

  it("reaches an https PBX through the tunnel: with Verify TLS off the PBX's self-signed certificate is accepted", async () => {
    pbx = new FakePbx({ apiKey: API_KEY, tls: loadTestTls() });
    await pbx.start();
    env.set({ HTTPS_PROXY: proxy.url });
    const { sent } = await loadSubscribe(pbx.url, { verifyTls: false });
    await heldLongPoll(pbx);
    pbx.startCall("410", { callerId: "0299998888" });
    const [msg] = await sent.count(1);
    assert.equal((msg.payload as { callerId: string }).callerId, "0299998888");
    assert.deepEqual([...new Set(proxy.connects())], [pbx.hostPort]);
    assertAbsent(proxy.log(), API_KEY, "the key (in tinyproxy's log)");
  });

  it("checks the PBX's own certificate end to end: with Verify TLS on the self-signed PBX is refused after the CONNECT", async () => {
    pbx = new FakePbx({ apiKey: API_KEY, tls: loadTestTls() });
    await pbx.start();
    env.set({ https_proxy: proxy.url });
    const { statuses, caught } = await loadSubscribe(pbx.url, { verifyTls: true });
    const error = await caught.next();
    assert.match((error.error as { message: string }).message, /self-signed, so not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\): .* \(via proxy http:\/\/127\.0\.0\.1:\d+\)/);
    await statuses.waitFor(isRed);
    assert.ok(proxy.connects().includes(pbx.hostPort), "the handshake ran through the tunnel");
    assert.equal(pbx.subscribeRequests().length, 0, "no request crossed the refused handshake");
  });

  it("holds a long poll for its whole timeout through the proxy, then polls on", async () => {
    pbx = await startFakePbx();
    env.set({ http_proxy: proxy.url });
    const { sent, statuses } = await loadSubscribe(pbx.url, { timeout: 3 });
    await heldLongPoll(pbx);
    const held = pbx.subscribeRequests().at(-1)!;
    assert.equal(held.query.timeOut, "3");
    const next = await pbx.waitForRequest((r) => r.path === held.path && r.at > held.at, 8000);
    const heldFor = next.at - held.at;
    assert.ok(heldFor >= 2900 && heldFor < 5000, `the poll was held ${heldFor} ms for a 3 s timeOut`);
    const answer = pbx.answers.find((a) => a.last === Number(held.query.lastSequenceNumber) && !a.snapshot);
    assert.equal(answer?.entries, 0, "it ended as an idle timeout, not an error");
    assert.ok(!statuses.all.some(isRed), `no failure: ${JSON.stringify(statuses.all)}`);
    pbx.startCall("410");
    await sent.count(1);
    assert.ok(statuses.all.some(isGreen));
  });

  it("bypasses the proxy for hosts in no_proxy (IP, host:port, either case)", async () => {
    pbx = await startFakePbx();
    env.set({ http_proxy: proxy.url, no_proxy: "localhost,127.0.0.1" });
    const { sent } = await loadSubscribe(pbx.url);
    await heldLongPoll(pbx);
    pbx.startCall("410");
    await sent.count(1);
    env.set({ HTTP_PROXY: proxy.url, NO_PROXY: `pbx.lan, 127.0.0.1:${pbx.port}` });
    assert.deepEqual(await checkConnection(pbx.url, API_KEY, true), { ok: true, status: "connected" });
    assert.deepEqual(proxy.connects(), [], "nothing went through the proxy");

    env.set({ HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1:1" }); // another port: not bypassed
    assert.deepEqual(await checkConnection(pbx.url, API_KEY, true), { ok: true, status: "connected" });
    assert.deepEqual(proxy.connects(), [pbx.hostPort]);
  });

  it("Test connection takes the same path through the proxy", async () => {
    pbx = await startFakePbx();
    env.set({ http_proxy: proxy.url });
    await loadSubscribe(pbx.url);
    await heldLongPoll(pbx);
    const before = proxy.connects().length;
    const response = await helper.request().post("/noojee-config/test").send({ host: pbx.url, verifyTls: true, apiKey: API_KEY }).expect(200);
    assert.deepEqual(response.body, { ok: true, status: "connected" });
    assert.equal(proxy.connects().length, before + 1, "the check opened its own tunnel");
  });

  it("keeps tunnelling after a full redeploy, when the new config node takes over the parked connection", async () => {
    pbx = await startFakePbx();
    env.set({ http_proxy: proxy.url });
    const flow = [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", "410")];
    await helper.load(nodes, flow, credentials());
    await heldLongPoll(pbx);
    const tunnels = proxy.connects().length;
    await deploy(flow, "full", credentials());
    const sent = new Sent(helper.getNode("sub"));
    await heldLongPoll(pbx);
    pbx.startCall("410");
    await sent.count(1);
    assert.ok(!new Statuses(helper.getNode("sub")).all.some(isRed));
    assert.ok(proxy.connects().length > tunnels, "the close ended the old tunnel; the next poll opened a new one");
  });

  it("ends the long poll held through the tunnel when the flow stops", async () => {
    pbx = await startFakePbx();
    env.set({ http_proxy: proxy.url });
    await loadSubscribe(pbx.url);
    await heldLongPoll(pbx);
    await helper.unload();
    await pbx.waitForPolls(0, 2000);
  });
});
