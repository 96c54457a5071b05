/**
 * Every request has an overall deadline, over real HTTP to a server started by the test that trickles its answer a
 * byte at a time: the socket is never idle long enough for an idle timeout, so only a limit on the whole exchange ends
 * it. Then the poll loop on top of the client: such a poll fails as a timeout instead of showing "listening" for ever.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { LoopStatus, PollLoop } from "../../nodes/lib/poll/poll-loop";

const KEY = "deadline-key-0a1b2c3d-4e5f";
const IDLE_ANSWER = '{"Data":{},"seq":10,"Code":0}';

interface Trickler {
  url: string;
  /** lastSequenceNumber of each request, in order. */
  requests: string[];
  /** Resolves when the n-th trickled answer's connection has closed (0-based), with the time it closed. */
  closed(n: number): Promise<number>;
  close(): Promise<void>;
}

/** Answers a current-state read at once and trickles every other answer, one byte each `everyMs`. */
async function startTrickler(everyMs: number): Promise<Trickler> {
  const requests: string[] = [];
  const closings: Array<Promise<number>> = [];
  const server = http.createServer((req, res) => {
    const last = new URL(req.url ?? "/", "http://x").searchParams.get("lastSequenceNumber") ?? "";
    requests.push(last);
    res.writeHead(200, { "Content-Type": "application/json" });
    if (last === "0") {
      res.end(IDLE_ANSWER);
      return;
    }
    const body = `${" ".repeat(10_000)}${IDLE_ANSWER}`;
    let sent = 0;
    const timer = setInterval(() => res.write(body[sent++ % body.length]), everyMs);
    closings.push(new Promise((resolve) => res.on("close", () => {
      clearInterval(timer);
      resolve(Date.now());
    })));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async closed(n) {
      while (closings.length <= n) await new Promise((r) => setTimeout(r, 10));
      return closings[n];
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe("NoojeeClient: an overall deadline per request", function () {
  this.timeout(20_000);
  let server: Trickler;
  let client: NoojeeClient;

  beforeEach(async () => {
    server = await startTrickler(50);
    client = new NoojeeClient({ origin: server.url, apiKey: KEY, verifyTls: true });
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  const poll = (timeoutMs: number, signal?: AbortSignal) =>
    client.call("subscribe", { exten: "410", lastSequenceNumber: 10, timeOut: 0 }, { timeoutMs, signal });

  it("ends an answer that trickles past the limit as a timeout, and closes the connection", async () => {
    const started = Date.now();
    await assert.rejects(poll(1000), (err: unknown) => {
      assert.ok(err instanceof NoojeeError, String(err));
      assert.equal(err.kind, "timeout");
      assert.equal(err.message, "no answer within 1 s");
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 950 && elapsed < 3000, `failed after ${elapsed} ms`);
    const closedAt = await server.closed(0);
    assert.ok(closedAt - started < 3000, `the connection stayed open ${closedAt - started} ms`);
  });

  it("tells the caller's abort from the deadline, and leaves no listener on the caller's signal", async () => {
    const controller = new AbortController();
    const aborted = poll(5000, controller.signal);
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(aborted, (err: unknown) => err instanceof NoojeeError && err.kind === "aborted" && err.message === "request cancelled");

    const kept = new AbortController();
    await assert.rejects(poll(300, kept.signal), (err: unknown) => err instanceof NoojeeError && err.kind === "timeout");
    assert.equal(getEventListeners(kept.signal, "abort").length, 0, "the deadline's listener is removed");
    assert.equal(kept.signal.aborted, false, "the deadline does not abort the caller's signal");
    const answered = await client.call("subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }, { timeoutMs: 5000, signal: kept.signal });
    assert.equal(answered.seq, 10);
    assert.equal(getEventListeners(kept.signal, "abort").length, 0, "none left after an answer either");
  });
});

describe("PollLoop on a trickled answer", function () {
  this.timeout(20_000);

  it("fails the poll as a timeout at timeOut + 10 s (not 'listening' for ever), then checks for a PBX restart", async () => {
    const server = await startTrickler(200);
    const client = new NoojeeClient({ origin: server.url, apiKey: KEY, verifyTls: true });
    const statuses: LoopStatus[] = [];
    let failedAt = 0;
    let failed: () => void = () => undefined;
    const failure = new Promise<void>((resolve) => (failed = resolve));
    const onStatus = (status: LoopStatus): void => {
      statuses.push(status);
      if (status.state !== "failing" || failedAt > 0) return;
      failedAt = Date.now();
      failed();
    };
    const loop = new PollLoop({ api: client, timeoutSec: 1, onEvents: () => undefined, onStatus, random: () => 0 });
    loop.setExtensions(["410"]);
    const started = Date.now();
    loop.start();
    try {
      await failure;
      const elapsed = failedAt - started;
      // The current-state read comes at once; the held poll (timeOut 1) is given 1 + 10 s.
      assert.ok(elapsed >= 10_500 && elapsed < 14_000, `failed after ${elapsed} ms`);
      assert.deepEqual(statuses.slice(0, 2).map((s) => s.state), ["connecting", "listening"]);
      const first = statuses.find((s): s is Extract<LoopStatus, { state: "failing" }> => s.state === "failing");
      assert.equal(first?.error.kind, "timeout");
      assert.equal(first?.error.message, "no answer within 11 s");
      // After a timeout the loop checks for a PBX restart with a current-state read (last 0) before polling on.
      while (server.requests.length < 3) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(server.requests.slice(0, 3), ["0", "10", "0"]);
    } finally {
      await loop.stop();
      client.close();
      await server.close();
    }
  });
});
