/**
 * A proxy that refuses (407 / 403 / 502, from a stub) and a real tinyproxy that dies mid-poll: a clear status and
 * Catch error, the normal backoff, neither the API key nor the proxy's password in anything Node-RED shows, and a
 * recovery that loses nothing.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { checkConnection } from "../../nodes/lib/client/connection-check";
import type { FakePbx } from "../fake-pbx";
import { caughtMessage, helper, heldLongPoll, isGreen, isRed, startFakePbx, until, visibleText } from "../nodes/support";
import { proxyEnv } from "./proxy-env";
import { RefusingProxy } from "./refusing-proxy";
import { assertAbsent, loadSubscribe } from "./support";
import { requireTinyproxy, Tinyproxy } from "./tinyproxy";

// Distinctive, and with characters that change when percent-encoded.
const KEY = "pr0xy+key/with=odd&chars-77";
const PROXY_PASSWORD = "Pr0xy$ecret!";

describe("proxy failures", function () {
  const env = proxyEnv();
  let pbx: FakePbx | undefined;

  afterEach(async () => {
    await helper.unload();
    await pbx?.stop();
    pbx = undefined;
    env.restore();
  });

  for (const [status, phrase] of [[407, "Proxy Authentication Required"], [403, "Forbidden"], [502, "Bad Gateway"]] as const) {
    it(`a proxy that answers ${status}: "proxy refused", Catch error, backoff, no key or proxy password anywhere`, async () => {
      const refusing = new RefusingProxy(status);
      await refusing.start();
      try {
        pbx = await startFakePbx({ apiKey: KEY });
        const withCredentials = refusing.url.replace("http://", `http://alice:${encodeURIComponent(PROXY_PASSWORD)}@`);
        env.set({ http_proxy: withCredentials });
        const { statuses, caught } = await loadSubscribe(pbx.url, { apiKey: KEY });

        const error = await caught.next();
        const reason = `proxy refused: ${status} (${phrase})`;
        assert.equal(caughtMessage(error), `noojee-subscribe.error.pollFailed ${JSON.stringify({ reason })}`);
        assert.deepEqual(error.payload, { error: reason, kind: "network" });
        await statuses.waitFor(isRed);
        assert.ok(statuses.all.filter(isRed).every((s) => String(s.text).includes("retrying")), "the status says it retries");

        // The normal backoff: a second try about a second later, not a hot loop.
        await until(() => refusing.requests.length >= 2, "a retry", 5000);
        const gap = refusing.requests[1].at - refusing.requests[0].at;
        assert.ok(gap >= 700, `retried after ${gap} ms`);
        assert.equal(refusing.requests[0].target, pbx.hostPort, "a CONNECT to the PBX");
        assert.equal(refusing.requests[0].authorization, `Basic ${Buffer.from(`alice:${PROXY_PASSWORD}`).toString("base64")}`);
        assert.equal(pbx.requests.length, 0, "nothing reached the PBX");

        assert.deepEqual(await checkConnection(pbx.url, KEY, true), { ok: false, status: "unreachable", reason });
        const seen = visibleText();
        assert.match(seen, /proxy refused/, "the reasons are visible, so the checks below mean something");
        assertAbsent(seen, KEY, "the API key");
        assertAbsent(seen, PROXY_PASSWORD, "the proxy password");
      } finally {
        await refusing.stop();
      }
    });
  }

  it("a proxy that never answers the CONNECT: the request times out and its CONNECT ends with it; close ends any other", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.resume(); // read, so that the client's close is seen
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const proxy = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      env.set({ https_proxy: proxy, http_proxy: proxy });
      for (const origin of ["https://pbx.example.com", "http://pbx.example.com"]) {
        const client = new NoojeeClient({ origin, apiKey: KEY, verifyTls: true });
        await assert.rejects(client.call("subscribe", { exten: "410" }, { timeoutMs: 300 }), (err: Error) => {
          assert.match(err.message, /^no answer within \d+ s \(via proxy http:\/\/127\.0\.0\.1:\d+\)$/);
          return true;
        });
        // Not one proxy connection left per request given up (a poll loop makes one a retry).
        await until(() => sockets.size === 0, `${origin}: the CONNECT of the request given up to end`, 2000);
        const caller = new AbortController();
        const aborted = client.call("subscribe", { exten: "410" }, { timeoutMs: 60_000, signal: caller.signal });
        await until(() => sockets.size === 1, `${origin}: a second CONNECT`, 2000);
        caller.abort();
        await assert.rejects(aborted, (err: Error) => err.message === "request cancelled");
        await until(() => sockets.size === 0, `${origin}: the CONNECT of the request cancelled to end`, 2000);
        // One still waiting when the client closes ends then.
        const pending = client.call("subscribe", { exten: "410" }, { timeoutMs: 60_000 });
        const settled = assert.rejects(pending);
        await until(() => sockets.size === 1, `${origin}: a third CONNECT`, 2000);
        client.close();
        await until(() => sockets.size === 0, `${origin}: the waiting CONNECT to end on close`, 2000);
        await settled;
      }
    } finally {
      silent.close();
    }
  });

  describe("a proxy that dies mid-poll (tinyproxy)", function () {
    let proxy: Tinyproxy;

    before(function () {
      requireTinyproxy(this);
    });

    after(async () => proxy?.stop());

    it("turns red with the proxy named, retries with backoff and delivers every change made meanwhile, once", async () => {
      proxy = new Tinyproxy();
      await proxy.start();
      pbx = await startFakePbx({ apiKey: KEY });
      env.set({ http_proxy: proxy.url });
      const { sent, statuses, caught } = await loadSubscribe(pbx.url, { apiKey: KEY });
      await heldLongPoll(pbx);
      const a = pbx.startCall("410");
      await sent.count(1);
      await heldLongPoll(pbx);

      await proxy.kill("SIGKILL");
      // While the proxy is down: changes on the PBX, and retries that find no proxy.
      pbx.update("410", a, { status: "Connected" });
      const b = pbx.startCall("410", { callerId: "0400111222" });
      const errors = (): string[] => caught.msgs.map(caughtMessage);
      await until(() => errors().some((m) => m.includes("proxy: connection refused")), "the retry's error", 5000);
      assert.match(errors()[0], /connection reset \(via proxy http:\/\/127\.0\.0\.1:\d+\)/, "the broken poll");
      assert.match(errors()[1], /proxy: connection refused \(http:\/\/127\.0\.0\.1:\d+\)/, "the retry without a proxy");
      await statuses.waitFor(isRed);

      const seen = statuses.all.length;
      await proxy.start(proxy.port);
      await sent.count(3, 15_000);
      await statuses.waitFor(isGreen, 5000, seen);
      const delivered = sent.payloads().map((p) => `${String(p.uniqueCallId)} ${String(p.status)}`);
      assert.deepEqual(delivered, [`${a} Ringing`, `${a} Connected`, `${b} Ringing`], "nothing lost, nothing twice");
      await heldLongPoll(pbx);
      assert.equal(sent.all.length, 3);
      assert.ok(proxy.connects().length >= 1, "the recovery went through the restarted proxy");
      assertAbsent(visibleText(), KEY, "the API key");
    });
  });
});
