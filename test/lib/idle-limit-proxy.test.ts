/**
 * The tests' reverse proxy with an idle limit (test/harness/idle-limit-proxy.ts), in front of the fake PBX, seen
 * through the real client: what passes, what a cut looks like in each mode, and what the client makes of it.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { FakePbx } from "../fake-pbx";
import { IdleCutMode, IdleLimitProxy, startIdleLimitProxy } from "../harness/idle-limit-proxy";

const KEY = "proxy-key-0b7e-4c1d+/=";

describe("idle-limit proxy (test harness)", function () {
  let pbx: FakePbx;
  let proxy: IdleLimitProxy | undefined;
  let client: NoojeeClient | undefined;

  beforeEach(async () => {
    // One timeOut "second" is 100 ms: a poll with timeOut=5 is held 500 ms.
    pbx = new FakePbx({ apiKey: KEY, timeOutUnitMs: 100 });
    await pbx.start();
  });

  afterEach(async () => {
    client?.close();
    await proxy?.close();
    proxy = undefined;
    await pbx.stop();
  });

  async function through(idleLimitMs: number, mode?: IdleCutMode): Promise<NoojeeClient> {
    proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs, ...(mode ? { mode } : {}) });
    client = new NoojeeClient({ origin: proxy.url, apiKey: KEY, verifyTls: true });
    return client;
  }

  it("forwards the query string byte for byte and the answer unchanged", async () => {
    const c = await through(2000);
    const answer = await c.subscribe(["SIP/410", "420"], 0, 0);
    assert.equal(typeof answer.seq, "number");
    const request = pbx.subscribeRequests().at(-1);
    assert.ok(request);
    assert.match(request.rawQuery, /apiKey=proxy-key-0b7e-4c1d%2B%2F%3D/);
    assert.match(request.rawQuery, /exten=SIP%2F410%2C420/);
    assert.equal(proxy?.cuts, 0);
  });

  it("answers a 504 page once the upstream has been silent for the limit, and counts the cut", async () => {
    const c = await through(150);
    const { seq } = await c.subscribe(["410"], 0, 0);
    const started = Date.now();
    const err = await c.subscribe(["410"], seq, 5).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NoojeeError);
    assert.equal(err.kind, "http");
    assert.equal(err.httpStatus, 504);
    assert.ok(Date.now() - started >= 140, "cut at the limit, not before");
    assert.equal(proxy?.cuts, 1);
  });

  for (const mode of ["reset", "close"] as const) {
    it(`mode "${mode}": the client sees its connection reset`, async () => {
      const c = await through(150, mode);
      const { seq } = await c.subscribe(["410"], 0, 0);
      const err = await c.subscribe(["410"], seq, 5).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof NoojeeError);
      assert.equal(err.kind, "network");
      assert.equal(err.message, "connection reset");
      assert.equal(proxy?.cuts, 1);
    });
  }

  it("passes a poll answered within the limit, and setIdleLimit applies to the next request", async () => {
    const c = await through(150);
    const { seq } = await c.subscribe(["410"], 0, 0);
    proxy?.setIdleLimit(2000);
    const answer = await c.subscribe(["410"], seq, 5); // held 500 ms, answered without entries
    assert.equal(answer.seq, seq);
    assert.equal(proxy?.cuts, 0);
  });

  it("answers 502 at once when the upstream refuses (a fast failure, not a cut)", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    proxy = await startIdleLimitProxy({ target: `http://127.0.0.1:${closedPort}`, idleLimitMs: 2000 });
    client = new NoojeeClient({ origin: proxy.url, apiKey: KEY, verifyTls: true });
    const started = Date.now();
    const err = await client.subscribe(["410"], 0, 0).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NoojeeError);
    assert.equal(err.httpStatus, 502);
    assert.ok(Date.now() - started < 1000);
    assert.equal(proxy.cuts, 0);
  });
});
