/**
 * noojee-subscribe inside Node-RED's test helper, over real HTTP to the fake PBX on loopback.
 */
import assert from "node:assert/strict";
import type sinon from "sinon";
import type { NodeMessage } from "node-red";
import { FakePbx } from "../fake-pbx";
import { eventIdOf } from "../../nodes/lib/poll/call-state-table";
import { API_KEY, configFlowNode, credentials, deploy, heldLongPoll, helper, isGreen, isRed, nodes, Sent, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop } from "./support";

describe("noojee-subscribe", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  async function load(extensions = "410", extra: Record<string, unknown> = {}) {
    await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", extensions, extra)], credentials());
    return { received: new Sent(helper.getNode("sub")), statuses: new Statuses(helper.getNode("sub")) };
  }

  it("emits the calls in progress at start with initial: true, then each change, field by field", async () => {
    const ringing = pbx.startCall("410", { callerId: "0412345678", otherPartyCallerId: "Jane" });
    const { received, statuses } = await load(" 410 , 400,410");
    const [initial] = await received.count(1);
    assert.equal(initial.topic, "410");
    assert.deepEqual(initial.payload, {
      ...pbx.leg(ringing),
      extension: "410",
      callId: pbx.events[0].entry.CallID,
      seq: pbx.seq,
      initial: true,
      eventId: eventIdOf("410", pbx.leg(ringing)!),
    });
    await statuses.waitFor(isGreen);

    const snapshot = pbx.requests.find((r) => r.path.endsWith("/subscribe"));
    assert.deepEqual(
      { exten: snapshot?.query.exten, last: snapshot?.query.lastSequenceNumber, timeOut: snapshot?.query.timeOut },
      { exten: "410,400", last: "0", timeOut: "0" },
      "extensions are trimmed and de-duplicated, the first read asks for the current state",
    );

    await heldLongPoll(pbx);
    pbx.update("410", ringing, { status: "Connected", canAnswer: false, callStartTime: "2026/11/23 10:00:00" });
    const [, connected] = await received.count(2);
    const payload = connected.payload as Record<string, unknown>;
    assert.equal(connected.topic, "410");
    assert.equal(payload.status, "Connected");
    assert.equal(payload.callStartTime, "2026/11/23 10:00:00");
    assert.equal(payload.otherPartyCallerId, "Jane", "unknown fields pass through");
    assert.equal(payload.uniqueCallId, ringing);
    assert.equal(typeof payload.uniqueCallId, "string");
    assert.equal(payload.seq, pbx.seq);
    assert.equal("initial" in payload, false);

    pbx.update("410", ringing, { status: "Hungup", hangupCause: "DISCONNECTED" });
    const [, , hungup] = await received.count(3);
    assert.equal((hungup.payload as Record<string, unknown>).hangupCause, "DISCONNECTED");
    await statuses.waitFor((s) => isGreen(s) && String(s.text).includes("noojee-subscribe.status.event"));
  });

  it("gives one msg per entry when one answer carries several entries for several extensions, in PBX order", async () => {
    await pbx.stop();
    pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 100 });
    await pbx.start();
    const { received } = await load("400, 410");
    await heldLongPoll(pbx);
    const a = pbx.startCall("410", { callerId: "400" });
    const b = pbx.startCall("400", { status: "Dialing Out", inbound: false, canAnswer: false, callerId: "410" });
    pbx.update("410", a, { status: "Connected", canAnswer: false });
    pbx.update("400", b, { status: "Connected" });
    pbx.update("410", a, { status: "Hungup" });
    pbx.emit("410", { uniqueCallId: "77.1", status: "Parked Somewhere", callerId: "x" });
    const msgs = await received.count(6);
    const seqs = new Set(msgs.map((m) => (m.payload as { seq: number }).seq));
    assert.equal(seqs.size, 1, "the six changes came back in a single answer");
    const of = (ext: string) => msgs.filter((m: NodeMessage) => m.topic === ext).map((m) => (m.payload as { status: string }).status);
    assert.deepEqual(of("410"), ["Ringing", "Connected", "Hungup", "Parked Somewhere"]);
    assert.deepEqual(of("400"), ["Dialing Out", "Connected"]);
    assert.ok(msgs.every((m) => (m.payload as { seq: number }).seq === pbx.seq));
  });

  it("passes Busy, No Answer and Unlinked on like any other status", async () => {
    const { received } = await load("410");
    await heldLongPoll(pbx);
    const a = pbx.startCall("410");
    pbx.update("410", a, { status: "No Answer" });
    const b = pbx.startCall("410");
    pbx.update("410", b, { status: "Busy", hangupCause: "BUSY" });
    const c = pbx.startCall("410", { status: "Connected" });
    pbx.update("410", c, { status: "Unlinked" });
    pbx.update("410", c, { status: "Connected", callerId: "402" });
    const msgs = await received.count(7);
    assert.deepEqual(msgs.map((m) => (m.payload as { status: string }).status),
      ["Ringing", "No Answer", "Ringing", "Busy", "Connected", "Unlinked", "Connected"]);
  });

  it("always sends lastSequenceNumber = the seq of the previous answer, across jumps of the global counter", async () => {
    const { received } = await load("410");
    for (let i = 0; i < 5; i++) {
      await heldLongPoll(pbx);
      pbx.bumpSeq(17 * (i + 1)); // other extensions' traffic
      pbx.startCall("410");
      await received.count(i + 1);
    }
    await heldLongPoll(pbx);
    const polls = pbx.requests.filter((r) => r.path.endsWith("/subscribe"));
    const seqs = received.payloads().map((p) => p.seq);
    assert.deepEqual(polls.map((r) => Number(r.query.lastSequenceNumber)).slice(2), seqs, "each poll continues from the last answer's seq");
    assert.deepEqual(polls.slice(1).map((r) => r.query.timeOut), Array(polls.length - 1).fill("30"));
  });

  it("resynchronises after a PBX restart without duplicates or losses", async () => {
    const kept = pbx.startCall("410", { status: "Connected", canAnswer: false });
    const { received } = await load("410");
    await received.count(1);
    // The PBX has been up a while: its counter (and so our cursor) is well above where a restart starts again.
    await heldLongPoll(pbx);
    pbx.bumpSeq(300);
    const before = pbx.startCall("410");
    await received.count(2);
    await heldLongPoll(pbx);
    const cursor = pbx.seq;
    pbx.restart();
    // After the restart the PBX knows one call in progress (a new one); the old calls did not survive.
    const fresh = pbx.startCall("410", { callerId: "0299999999" });
    await received.count(3);
    await heldLongPoll(pbx);
    pbx.update("410", fresh, { status: "Connected", canAnswer: false });
    const msgs = await received.count(6);
    const legs = (vanished: boolean) => msgs.filter((m) => ((m.payload as { vanished?: boolean }).vanished === true) === vanished)
      .map((m) => [(m.payload as { uniqueCallId: string }).uniqueCallId, (m.payload as { status: string }).status]);
    assert.deepEqual(legs(false), [[kept, "Connected"], [before, "Ringing"], [fresh, "Ringing"], [fresh, "Connected"]]);
    // The calls that died with the restart end, each with a Hungup the node made up (vanished: true).
    assert.deepEqual(legs(true).sort(), [[kept, "Hungup"], [before, "Hungup"]].sort());
    await heldLongPoll(pbx);
    assert.equal(received.all.length, 6, "no duplicate after the resync");
    const polls = pbx.subscribeRequests().map((r) => Number(r.query.lastSequenceNumber));
    assert.ok(polls.includes(cursor), "polled from the old cursor until the PBX answered a lower seq");
    assert.equal(polls.at(-1), pbx.seq, "polling resumed from the restarted counter");
  });

  it("two subscribe nodes on one config node share a single long poll, each getting its own extensions", async () => {
    await helper.load(nodes, [
      configFlowNode(pbx.url),
      ...subscribeFlowNodes("a", "410"),
      ...subscribeFlowNodes("b", "400, 410"),
    ], credentials());
    const a = new Sent(helper.getNode("a"));
    const b = new Sent(helper.getNode("b"));
    await heldLongPoll(pbx);
    pbx.startCall("400");
    pbx.startCall("410");
    await b.count(2);
    await a.count(1);
    assert.deepEqual(a.all.map((m) => m.topic), ["410"]);
    assert.deepEqual(b.all.map((m) => m.topic).sort(), ["400", "410"]);
    await heldLongPoll(pbx);
    const polls = pbx.requests.filter((r) => r.path.endsWith("/subscribe") && r.query.lastSequenceNumber !== "0");
    assert.ok(polls.every((r) => r.query.exten.split(",").sort().join() === "400,410"), "one poll for the union");
    assert.equal(pbx.openPolls(), 1);
  });

  it("adding and removing subscribe nodes on deploy keeps one poll and loses nothing", async () => {
    const flowA = [configFlowNode(pbx.url), ...subscribeFlowNodes("a", "410")];
    await helper.load(nodes, flowA, credentials());
    const a = new Sent(helper.getNode("a"));
    await heldLongPoll(pbx);
    const call420 = pbx.startCall("420", { status: "Connected", canAnswer: false });
    const call410 = pbx.startCall("410");
    await a.count(1);

    // Deploy only the new node: the config node and "a" keep running.
    await deploy([...flowA, ...subscribeFlowNodes("b", "420, 410")], "nodes", credentials());
    const b = new Sent(helper.getNode("b"));
    const initial = await b.count(2);
    assert.deepEqual(initial.map((m) => [m.topic, (m.payload as { initial?: boolean }).initial]).sort(),
      [["410", true], ["420", true]], "the newcomer gets the current state of its extensions");
    assert.deepEqual(initial.map((m) => (m.payload as { uniqueCallId: string }).uniqueCallId).sort(), [call410, call420].sort());
    await heldLongPoll(pbx);
    assert.equal(a.all.length, 1, "the running node saw no repeat");

    pbx.update("410", call410, { status: "Connected", canAnswer: false });
    await a.count(2);
    await b.count(3);

    // Remove "a": "b" carries on with the same poll.
    await deploy([configFlowNode(pbx.url), ...subscribeFlowNodes("b", "420, 410")], "nodes", credentials());
    await heldLongPoll(pbx);
    pbx.update("420", call420, { status: "Hungup" });
    await b.count(4);
    await heldLongPoll(pbx);
    assert.equal(pbx.openPolls(), 1);
    const seqs = pbx.requests.filter((r) => r.path.endsWith("/subscribe")).map((r) => r.query.lastSequenceNumber);
    assert.equal(seqs.filter((s) => s === "0").length, 2, "one full read at start, one for the added extension, no restart from 0");
  });

  it("closing aborts the poll in flight: the PBX sees no request left open", async () => {
    await load("410");
    await heldLongPoll(pbx);
    await helper.unload();
    await pbx.waitForPolls(0, 2000);
    const count = pbx.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pbx.requests.length, count, "no request after close");
  });

  it("on a full redeploy exactly one poll runs", async () => {
    const flow = [configFlowNode(pbx.url), ...subscribeFlowNodes("a", "410"), ...subscribeFlowNodes("b", "411")];
    await helper.load(nodes, flow, credentials());
    await heldLongPoll(pbx);
    for (let i = 0; i < 3; i++) {
      await deploy(flow, "full", credentials());
      await heldLongPoll(pbx);
    }
    const a = new Sent(helper.getNode("a"));
    pbx.startCall("410");
    await a.count(1);
    await heldLongPoll(pbx);
    assert.equal(pbx.openPolls(), 1);
  });

  it("a full redeploy resumes from the cursor: a change made while the nodes restart reaches the new node as a change", async () => {
    const flow = [configFlowNode(pbx.url), ...subscribeFlowNodes("a", "410")];
    await helper.load(nodes, flow, credentials());
    await heldLongPoll(pbx);
    const id = pbx.startCall("410");
    await new Sent(helper.getNode("a")).count(1);
    await heldLongPoll(pbx);
    // The moment the old poll is aborted by the deploy, before the new nodes run, the call is answered.
    let changed = false;
    pbx.onPollsChanged = (open) => {
      if (open !== 0 || changed) return;
      changed = true;
      pbx.update("410", id, { status: "Connected", canAnswer: false });
    };
    await deploy(flow, "full", credentials());
    pbx.onPollsChanged = undefined;
    assert.ok(changed, "the change was made during the deploy");
    const after = new Sent(helper.getNode("a"));
    const msgs = await after.count(2);
    assert.deepEqual(msgs.map((m) => [(m.payload as { status: string }).status, (m.payload as { initial?: boolean }).initial ?? false]),
      [["Ringing", true], ["Connected", false]], "the call as it was when the node left, then the change");
    await heldLongPoll(pbx);
    const reads = pbx.subscribeRequests().filter((r) => r.query.lastSequenceNumber === "0");
    // The new config node took the cursor over (the change came as a change); it checks it with one read, for a PBX
    // restart while nothing polled would go unseen otherwise.
    assert.equal(reads.length, 2, "the first read, and the check after the deploy");
  });

  it("a config node deleted by a deploy closes its polls at once", async () => {
    await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("a", "410")], credentials());
    await heldLongPoll(pbx);
    await deploy([{ id: "other", type: "helper" }], "full");
    await pbx.waitForPolls(0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pbx.openPolls(), 0);
  });

  it("rejects a bad configuration with a red status and an error, sending nothing", async () => {
    await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", "4a0,,")], credentials());
    const sub = helper.getNode("sub");
    const statuses = new Statuses(sub);
    assert.ok(isRed(statuses.all[0]));
    const errors = (sub.error as unknown as sinon.SinonSpy).getCalls().filter((c) => c.thisValue === sub);
    assert.match(String(errors[0].args[0]), /noojee-subscribe.error.invalidExtensions/);
    assert.equal(pbx.requests.length, 0);
  });

  it("reports a misconfigured config node (bad host, missing key, unset environment variable)", async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ host: "pbx.example.com/path" }, API_KEY, /noojee-config.error.invalidHost/],
      [{}, "", /noojee-config.error.noApiKey/],
      [{}, "${NOOJEE_TEST_UNSET_VARIABLE}", /noojee-config.error.unsetEnv/],
    ];
    for (const [config, key, error] of cases) {
      await helper.load(nodes, [{ ...configFlowNode(pbx.url), ...config }, ...subscribeFlowNodes("sub", "410")], credentials(key));
      const sub = helper.getNode("sub");
      assert.ok(isRed(new Statuses(sub).all[0]));
      const errors = (sub.error as unknown as sinon.SinonSpy).getCalls().filter((c) => c.thisValue === sub);
      assert.match(String(errors[0]?.args[0]), error);
      await helper.unload();
    }
    assert.equal(pbx.requests.length, 0);
  });

  it("follows calls on an older PBX with timestamp/hash sign-in, never sending the key", async () => {
    await helper.load(nodes, [configFlowNode(pbx.url, { authMode: "timestamp" }), ...subscribeFlowNodes("sub", "410")], credentials());
    const sent = new Sent(helper.getNode("sub"));
    await heldLongPoll(pbx);
    pbx.startCall("410");
    await sent.count(1);
    const subscribes = pbx.subscribeRequests();
    assert.ok(subscribes.length >= 2);
    assert.ok(subscribes.every((r) => r.query.apiKey === undefined && /^[0-9a-f]{64}$/.test(r.query.hash)));
    assert.ok(pbx.requests.every((r) => !r.rawQuery.includes(API_KEY)));
  });

  it("takes the API key from an environment variable", async () => {
    process.env.NOOJEE_TEST_KEY = API_KEY;
    try {
      await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", "410")], credentials("${NOOJEE_TEST_KEY}"));
      await new Statuses(helper.getNode("sub")).waitFor(isGreen);
      assert.equal(pbx.requests[0].query.apiKey, API_KEY);
    } finally {
      delete process.env.NOOJEE_TEST_KEY;
    }
  });
});

