/**
 * With timestamp sign-in one call is a PBX clock read, the request and, after "Expired TimeStamp", a second read and
 * request: the caller's limit bounds all of it together, over real HTTP to a server started by the test whose clock
 * and answers each trickle in just under that limit (so that no single exchange would hit it).
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { NoojeeError } from "../../nodes/lib/client/errors";

const KEY = "deadline-key-9f8e7d6c";
const LIMIT_MS = 2000;
/** When an "Expired TimeStamp" answer comes. */
const EXPIRY_MS = 700;

/** Writes `body` a byte at a time over `ms`. */
function trickle(res: http.ServerResponse, body: string, ms: number): void {
  res.writeHead(200, { "Content-Type": "application/json" });
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < body.length) res.write(body[sent++]);
    else {
      clearInterval(timer);
      res.end();
    }
  }, Math.floor(ms / body.length));
  res.on("close", () => clearInterval(timer));
}

describe("NoojeeClient timestamp sign-in: one deadline for the whole call", function () {
  this.timeout(10_000);
  let server: http.Server;
  let client: NoojeeClient;
  let expiredFirst = false;
  let calls = 0;
  /** How long the clock and each answer take to trickle in, each under the limit. */
  let clockMs = 0;
  let answerMs = 0;

  beforeEach(async () => {
    calls = 0;
    server = http.createServer((req, res) => {
      if ((req.url ?? "").includes("/Time")) return trickle(res, String(Date.now()), clockMs);
      calls += 1;
      if (expiredFirst && calls === 1) {
        // At once after a pause, not trickled: on a loaded machine a trickle's many timers run late, and the expiry
        // must come well before the limit for the retry to be sent at all.
        const timer = setTimeout(() => {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end('{"Message":"Expired TimeStamp","Code":-1}');
        }, EXPIRY_MS);
        res.on("close", () => clearTimeout(timer));
        return;
      }
      trickle(res, '{"Message":"OK","Code":0}', answerMs);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new NoojeeClient({ origin, apiKey: KEY, verifyTls: true, authMode: "timestamp" });
  });

  afterEach(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function timesOut(): Promise<void> {
    const started = Date.now();
    await assert.rejects(client.call("hangup", { extenOrUniqueId: "1700000000.1" }, { timeoutMs: LIMIT_MS }), (err: unknown) => {
      assert.ok(err instanceof NoojeeError, String(err));
      assert.equal(err.kind, "timeout");
      assert.equal(err.message, "no answer within 2 s");
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= LIMIT_MS - 50 && elapsed < LIMIT_MS + 1000, `settled after ${elapsed} ms, limit ${LIMIT_MS} ms`);
  }

  it("a slow clock read and a slow answer together time out at the caller's limit", async () => {
    [expiredFirst, clockMs, answerMs] = [false, 1200, 1200];
    await timesOut();
  });

  it("the retry after an expired pair gets no fresh limit", async () => {
    // The expiry comes at about 0.9 s, the retry is sent at about 1.1 s and would be answered at about 2.6 s: each
    // exchange is under the limit, the whole call is not.
    [expiredFirst, clockMs, answerMs] = [true, 200, 1500];
    await timesOut();
    assert.equal(calls, 2, "the retry was sent");
  });
});
