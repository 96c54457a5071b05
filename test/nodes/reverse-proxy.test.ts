/**
 * noojee-subscribe behind a reverse proxy with an idle limit below the node's Long poll (test/harness/
 * idle-limit-proxy.ts in front of the fake PBX), over real HTTP. One "second" of timeOut is UNIT ms, on the fake PBX
 * (timeOutUnitMs) and in the nodes (settings.js noojeeTimeOutUnitMs), so a 30 s Long poll is held 1.5 s (LEARN_UNIT
 * ms where the node learns the limit).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import type { Node, NodeStatus } from "node-red";
import { FakePbx } from "../fake-pbx";
import { IdleCutMode, IdleLimitProxy, startIdleLimitProxy } from "../harness/idle-limit-proxy";
import { API_KEY, Caught, helper, isGreen, isRed, loadSingleNode, Logged, Sent, Statuses, until } from "./support";

const UNIT = 50;
/**
 * Where the node learns the proxy's limit from the hold it measured, a second is 100 ms: a loaded machine measured
 * cuts 200 ms late, which at 50 ms learned a timeOut above the limit.
 */
const LEARN_UNIT = 100;
let unit = UNIT;
/** The node's Long poll, in units: 1500 ms. */
const LONG_POLL = 30;

const longPolls = (pbx: FakePbx) => pbx.subscribeRequests().filter((r) => r.query.lastSequenceNumber !== "0");

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe("noojee-subscribe behind a reverse proxy with an idle limit", function () {
  this.timeout(60_000); // waits for events, with room for a loaded machine
  let pbx: FakePbx;
  let proxy: IdleLimitProxy | undefined;

  beforeEach(async () => {
    // Our own setting, unknown to the helper's types.
    helper.settings({ noojeeTimeOutUnitMs: unit } as Parameters<typeof helper.settings>[0]);
    pbx = new FakePbx({ apiKey: API_KEY, timeOutUnitMs: unit });
    await pbx.start();
  });

  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await proxy?.close();
    proxy = undefined;
    await pbx.stop();
  });

  interface Loaded {
    node: Node;
    sent: Sent;
    statuses: Statuses;
    caught: Caught;
    warnings: () => string[];
  }

  async function load(host: string): Promise<Loaded> {
    const loaded = await loadSingleNode(host, { type: "noojee-subscribe", extensions: "410", timeout: LONG_POLL });
    const cfgWarn = new Logged(helper.getNode("cfg"), "warn");
    return { ...loaded, warnings: () => cfgWarn.all.map(String) };
  }

  const redSince = (statuses: Statuses, from: number): NodeStatus[] => statuses.all.slice(from).filter(isRed);

  /**
   * The hold a cut was measured at and the timeOut learned from it, as the n-th "cut after" warning says them. The
   * proxy cuts at its limit, but a loaded machine measures more (a clean-clone CI beside another learned other than
   * the 8 expected at a "12 s" limit): the learned timeOut is checked against the limit, and the polls against what
   * was said.
   */
  async function learnedFrom(warnings: () => string[], n: number, limit: number): Promise<{ heldSec: number; timeOutSec: number; said: string }> {
    await until(() => warnings().filter((w) => w.includes("cut after")).length > n, `warning ${n + 1} on the cut`, 15_000);
    const said = warnings().filter((w) => w.includes("cut after"))[n] ?? "";
    const heldSec = Number(/idle limit of about (\d+) s/.exec(said)?.[1]);
    const timeOutSec = Number(/ask for (\d+) s instead of 30 s/.exec(said)?.[1]);
    assert.ok(heldSec >= limit, `measured at the limit (${limit}) or later: ${said}`);
    // The node's rule (hold-limit.ts): 80 % of the hold, less a second. Below the limit unless the measure was a third
    // late (400 ms at a "12 s" limit, a second being LEARN_UNIT ms; two busy loops beside the test made it 200 ms).
    assert.ok(timeOutSec >= Math.floor(limit * 0.8 - 1) && timeOutSec < limit, `learned below the limit: ${said}`);
    return { heldSec, timeOutSec, said };
  }

  describe("learning the limit", () => {
    before(() => (unit = LEARN_UNIT));
    after(() => (unit = UNIT));

    for (const mode of ["504", "reset"] as IdleCutMode[]) {
      it(`mode ${mode}: stays green, retries at once with a timeOut below the limit, says it once, sends nothing to Catch`, async () => {
        proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs: 12 * unit, mode }); // "12 s"
        const { node, sent, statuses, caught, warnings } = await load(proxy.url);
        await statuses.waitFor(isGreen);
        const firstGreen = statuses.all.findIndex(isGreen);

        // A call made as the first held poll is cut reaches the flow at once, not after a backoff (800 ms or more).
        const p = proxy;
        await until(() => p.cuts === 1, "the first cut", 15_000);
        const calledAt = Date.now();
        const id = pbx.startCall("410");
        await sent.waitFor((m) => (m.payload as { uniqueCallId?: string }).uniqueCallId === id, 3000);
        assert.ok(Date.now() - calledAt < 500, `the call took ${Date.now() - calledAt} ms to arrive`);

        // Several idle-limit periods more: the polls, held 8 units (800 ms) each, are answered by the PBX, not cut.
        const learned = await learnedFrom(warnings, 0, 12);
        const at = String(learned.timeOutSec);
        await until(() => longPolls(pbx).filter((r) => r.query.timeOut === at).length >= 6, "six polls at the learned timeOut", 20_000);
        assert.equal(proxy.cuts, 1, "learned once, not cut again");
        const asked = longPolls(pbx).map((r) => r.query.timeOut);
        assert.equal(asked[0], String(LONG_POLL));
        // After the cut, a current-state read (a restarting PBX cuts polls too) and the quick poll that catches up with it.
        assert.equal(asked[1], "0", `the quick poll after the read: ${asked.join(",")}`);
        assert.deepEqual(new Set(asked.slice(2)), new Set([at]), `every later poll asks ${at} (below 12): ${asked.join(",")}`);

        assert.deepEqual(redSince(statuses, firstGreen), [], "no red status");
        assert.ok(statuses.all.slice(firstGreen).every(isGreen), JSON.stringify(statuses.all));
        assert.deepEqual(caught.msgs, [], "nothing reached the Catch node");
        assert.deepEqual(new Logged(node, "error").all, []);
        assert.ok(!new Logged(node, "log").all.map(String).some((m) => m.includes("recovered")), "no 'restored' line");
        const said = warnings().filter((w) => w.includes("cut after"));
        assert.equal(said.length, 1, JSON.stringify(warnings()));
        assert.match(said[0], new RegExp(`set Long poll below ${learned.heldSec} s, or raise the proxy's idle limit above 30 s`));
        assert.ok(!said[0].includes(API_KEY));
      });
    }

    it("learns again, and says it again, when the proxy's limit goes down", async () => {
      proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs: 20 * unit }); // "20 s": learns 15
      const { statuses, caught, warnings } = await load(proxy.url);
      await statuses.waitFor(isGreen);
      const firstGreen = statuses.all.findIndex(isGreen);
      const first = String((await learnedFrom(warnings, 0, 20)).timeOutSec);
      await until(() => longPolls(pbx).some((r) => r.query.timeOut === first), `a poll at ${first}`, 15_000);
      proxy.setIdleLimit(10 * unit); // "10 s": learns 7
      const second = String((await learnedFrom(warnings, 1, 10)).timeOutSec);
      await until(() => longPolls(pbx).filter((r) => r.query.timeOut === second).length >= 3, `polls at ${second}`, 20_000);
      assert.equal(proxy.cuts, 2);
      assert.deepEqual(redSince(statuses, firstGreen), []);
      assert.deepEqual(caught.msgs, []);
      const said = warnings().filter((w) => w.includes("cut after"));
      assert.equal(said.length, 2, JSON.stringify(warnings()));
    });
  });

  it("a proxy that drops held polls silently: red while they are lost, a shorter timeOut learned and said once, then green", async () => {
    // "20 s": a poll held 30 gets no answer at all and ends at the client's deadline (the hold + 2 s here); a quick
    // check answers. Two such in a row: polls ask 15, which gets through.
    proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs: 20 * UNIT, mode: "silent" });
    const { node, sent, statuses, caught, warnings } = await load(proxy.url);
    await statuses.waitFor(isGreen);
    await statuses.waitFor(isRed);
    const firstRed = statuses.all.findIndex(isRed);
    // The catalogue's line (the test helper gives its key and values; locale-texts.test checks the text).
    const said = () => warnings().filter((w) => w.startsWith("noojee-config.holdLimit.dropped "));
    await until(() => said().length > 0, "the line naming the cause", 15_000);
    // Until then the quick checks worked, but no held poll did: never green meanwhile.
    assert.deepEqual(statuses.all.slice(firstRed).filter(isGreen), [], JSON.stringify(statuses.all));
    await until(() => longPolls(pbx).some((r) => r.query.timeOut === "15"), "a poll at the learned timeOut", 3000);
    await statuses.waitFor(isGreen);
    const calledAt = Date.now();
    const id = pbx.startCall("410");
    await sent.waitFor((m) => (m.payload as { uniqueCallId?: string }).uniqueCallId === id, 3000);
    assert.ok(Date.now() - calledAt < 500, `the call took ${Date.now() - calledAt} ms to arrive`);
    assert.equal(said().length, 1, JSON.stringify(warnings()));
    assert.deepEqual(JSON.parse(said()[0].slice(said()[0].indexOf(" "))),
      { kind: "dropped", heldSec: 30, timeOutSec: 15, reason: "no answer within 4 s", configuredSec: 30 });
    assert.ok(!said()[0].includes(API_KEY));
    assert.equal(caught.msgs.length, 1, "one error for the run");
    assert.deepEqual(new Logged(node, "error").all.length, 1);
  });

  /** The message of the first error a Catch node received, once there is one. */
  async function firstCaught(caught: Caught): Promise<string> {
    await until(() => caught.msgs.length > 0, "an error at the Catch node", 5000);
    return (caught.msgs[0].error as { message: string }).message;
  }

  describe("real failures still go red and back off", () => {
    it("a fast 502 from behind the proxy", async () => {
      proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs: 40 * UNIT }); // above the Long poll
      const { statuses, caught, warnings } = await load(proxy.url);
      await statuses.waitFor(isGreen);
      pbx.fault("html502");
      pbx.startCall("410"); // ends the held poll, so the next one meets the fault at once
      assert.match(await firstCaught(caught), /HTTP 502/);
      const failedAt = Date.now();
      await statuses.waitFor(isRed);
      await until(() => pbx.subscribeRequests().some((r) => r.at > failedAt), "the retry after the backoff", 5000);
      const retry = pbx.subscribeRequests().find((r) => r.at > failedAt);
      assert.ok(retry && retry.at - failedAt >= 600, `retried ${retry ? retry.at - failedAt : "?"} ms after the failure`);
      assert.equal(proxy.cuts, 0);
      assert.deepEqual(warnings().filter((w) => w.includes("cut after")), []);
    });

    it("a refused upstream (the proxy's own fast 502) and a refused connection", async () => {
      proxy = await startIdleLimitProxy({ target: `http://127.0.0.1:${await closedPort()}`, idleLimitMs: 12 * UNIT });
      const viaProxy = await load(proxy.url);
      assert.match(await firstCaught(viaProxy.caught), /HTTP 502/);
      await viaProxy.statuses.waitFor(isRed);
      await helper.unload();

      const direct = await load(`http://127.0.0.1:${await closedPort()}`);
      assert.match(await firstCaught(direct.caught), /connection refused/);
      await direct.statuses.waitFor(isRed);
    });

    it("cuts so short that the learned timeOut would fall below 5 s are failures", async () => {
      proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs: 6 * UNIT }); // "6 s" would learn 3
      const { statuses, caught, warnings } = await load(proxy.url);
      assert.match(await firstCaught(caught), /HTTP 504/);
      await statuses.waitFor(isRed);
      const asked = new Set(longPolls(pbx).map((r) => r.query.timeOut));
      assert.ok([...asked].every((t) => t === String(LONG_POLL) || t === "0"), [...asked].join(","));
      await until(() => warnings().some((w) => w.includes("treating the cuts as failures")), "the give-up line", 3000);
    });

    it("a proxy cutting every held poll after 3 s: one error for the streak, one line naming the cause", async () => {
      proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs: 3 * UNIT });
      const { node, statuses, caught, warnings } = await load(proxy.url);
      const p = proxy;
      // Each poll held 3 units is cut, fails, backs off 1 s; the quick check after it works: failing, listening, ...
      await until(() => p.cuts >= 4, "four cuts", 10_000);
      const firstRed = statuses.all.findIndex(isRed);
      assert.ok(firstRed >= 0 && statuses.all.slice(firstRed).some(isGreen), "it flapped back to green");
      assert.equal(caught.msgs.length, 1, JSON.stringify(caught.msgs));
      assert.deepEqual(new Logged(node, "log").all.map(String).filter((m) => m.includes("restored")), []);
      const said = warnings().filter((w) => w.includes("cut after about"));
      assert.equal(said.length, 1, JSON.stringify(warnings()));
      // The limit as measured: 3 s, or 4 on a loaded machine (CI saw 4).
      assert.match(said[0], /cut after about [34] s \(HTTP 504\) though the PBX was asked to hold them 30 s/);
      assert.match(said[0], /raise that idle limit above 30 s/i);
    });
  });
});
