/**
 * Replicas with a `rediss://` URL whose server has a certificate the replica cannot verify (self-signed), inside
 * Node-RED with the catalogues' texts, against a real redis-server with a TLS port: the subscribe node's status names
 * the TLS failure (not just "not reachable"), the log names it once however often ioredis tries again, and neither
 * shows the password in the URL.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import type { NodeStatus } from "node-red";
import { startRedis, requireRedis, type RedisServer } from "../harness/redis-server";
import { makeTestCerts, type TestCerts } from "../tls-certs";
import type { FakePbx } from "../fake-pbx";
import { translatedNodes } from "./catalogue";
import { configFlowNode, helper, Logged, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop, visibleText, API_KEY } from "./support";

const SECRET = "tls-Pw-5e2a9";

/** A TCP relay to `port` counting the connections made through it (each of ioredis's tries). */
async function countingRelay(port: number): Promise<{ port: number; tries(n: number): Promise<void>; close(): void }> {
  let count = 0;
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((socket) => {
    count++;
    for (const w of waiting.filter((w) => count >= w.n)) w.resolve();
    const upstream = net.connect(port, "127.0.0.1");
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined).on("close", () => (socket.destroy(), upstream.destroy()));
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  return {
    port: (relay.address() as net.AddressInfo).port,
    tries: (n) => new Promise((resolve) => (count >= n ? resolve() : waiting.push({ n, resolve }))),
    close: () => {
      for (const s of sockets) s.destroy();
      relay.close();
    },
  };
}

describe("Replicas: a rediss:// URL with a certificate the replica cannot verify", function () {
  this.timeout(20_000);
  let certs: TestCerts;
  let server: RedisServer;
  let pbx: FakePbx | undefined;
  const relays: Array<{ close(): void }> = [];

  before(async function () {
    requireRedis(this);
    certs = makeTestCerts();
    server = await startRedis({ tls: certs.selfSigned });
  });

  after(async () => {
    await server?.stop();
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await unloadAndStop(pbx);
    pbx = undefined;
    for (const relay of relays.splice(0)) relay.close();
  });

  it("the status says TLS: self-signed cert; the log names it once, across retries; never the password", async () => {
    pbx = await startFakePbx();
    const relay = await countingRelay(server.tlsPort);
    relays.push(relay);
    const url = `rediss://:${SECRET}@127.0.0.1:${relay.port}`;
    const flow = [configFlowNode(pbx.url, { replicas: true, redisKeyPrefix: "tls" }), ...subscribeFlowNodes("a", "410")];
    await helper.load(translatedNodes, flow, { cfg: { apiKey: API_KEY, redisUrl: url } });
    const statuses = new Statuses(helper.getNode("a"));
    const shown = await statuses.waitFor((s: NodeStatus) => s.fill === "red", 8000);
    assert.equal(shown.text, "coordination lost: TLS: self-signed cert");
    // ioredis tries again after 200 ms, 400 ms...: several tries of each of its two connections.
    await relay.tries(8);
    const warnings = new Logged(helper.getNode("cfg"), "warn").all.map(String);
    const tls = warnings.filter((w) => w.includes("(DEPTH_ZERO_SELF_SIGNED_CERT)"));
    assert.equal(tls.length, 1, `one warning across the retries: ${JSON.stringify(warnings)}`);
    // Node.js words the certificate error itself (Node 24 adds a hint about --use-system-ca): only our frame is fixed.
    const at = `Cannot connect to Redis at rediss://:***@127.0.0.1:${relay.port}: `;
    assert.ok(tls[0]?.startsWith(`${at}self-signed certificate`), tls[0]);
    assert.ok(tls[0]?.endsWith(" (DEPTH_ZERO_SELF_SIGNED_CERT). Trying again; logged once until it connects or fails otherwise"), tls[0]);
    assert.ok(!visibleText().includes(SECRET), "the password shown");
    assert.equal(pbx.subscribeRequests().length, 0, "no poll without the lease");
  });
});
