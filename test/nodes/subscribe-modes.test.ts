/**
 * noojee-subscribe's extra controls: extensions changed by msg, one output per kind, the missed flag,
 * and call summaries. Over real HTTP to the fake PBX.
 */
import assert from "node:assert/strict";
import type { NodeMessage } from "node-red";
import sinon from "sinon";
import { FakePbx } from "../fake-pbx";
import { configFlowNode, credentials, deploy, heldLongPoll, helper, nodes, Sent, startFakePbx, subscribeFlowNodes, unloadAndStop, until } from "./support";

type Outputs = Array<NodeMessage | null>;
const payloadOf = (msg: NodeMessage) => msg.payload as Record<string, unknown>;

describe("noojee-subscribe modes and runtime control", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  async function load(extensions: string, extra: Record<string, unknown> = {}) {
    await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", extensions, extra)], credentials());
    const node = helper.getNode("sub");
    return { node, sent: new Sent(node) };
  }

  it("adds, removes and replaces extensions from msg.action / msg.extensions without a redeploy", async () => {
    const inProgress = pbx.startCall("420", { status: "Connected", canAnswer: false });
    const { node, sent } = await load("410");
    await heldLongPoll(pbx);
    node.receive({ action: "add", extensions: ["420", 430] });
    const [initial] = await sent.count(1);
    assert.deepEqual([initial.topic, payloadOf(initial).uniqueCallId, payloadOf(initial).initial], ["420", inProgress, true]);
    await heldLongPoll(pbx);
    assert.equal(pbx.subscribeRequests().at(-1)?.query.exten, "410,420,430");

    node.receive({ action: "remove", extensions: "410, 420" });
    await heldLongPoll(pbx);
    await until(() => pbx.subscribeRequests().at(-1)?.query.exten === "430", "a poll for 430 only");
    pbx.startCall("410");
    pbx.startCall("430");
    const [, only] = await sent.count(2);
    assert.equal(only.topic, "430", "a removed extension sends nothing");

    node.receive({ action: "replace", extensions: "410" });
    await until(() => pbx.subscribeRequests().at(-1)?.query.exten === "410" && pbx.openPolls() === 1, "a poll for 410 only");
    const polls = pbx.subscribeRequests();
    assert.ok(polls.filter((r) => r.query.lastSequenceNumber === "0").length <= 3, "the cursor is kept; only added extensions are read from 0");
  });

  it("polls again after its extensions were all removed by msg and one added back (1.0.0 stayed green without polling)", async () => {
    const statuses = new Map<string, string>();
    const { node, sent } = await load("410");
    (node as unknown as NodeJS.EventEmitter).on("call:status", (call: { args: Array<{ fill?: string; text?: string }> }) => statuses.set("last", `${call.args[0].fill}`));
    await heldLongPoll(pbx);
    node.receive({ action: "remove", extensions: "410" });
    await until(() => pbx.openPolls() === 0, "no poll");
    node.receive({ action: "add", extensions: "410" });
    await heldLongPoll(pbx);
    assert.equal(pbx.subscribeRequests().at(-1)?.query.exten, "410");
    const id = pbx.startCall("410");
    const [msg] = await sent.count(1);
    assert.deepEqual([msg.topic, payloadOf(msg).uniqueCallId, payloadOf(msg).status], ["410", id, "Ringing"]);
    await until(() => statuses.get("last") === "green", "a green status");
  });

  it("an extension added with a call in progress on a busy PBX gives that state once, then only its later changes", async () => {
    // Other extensions' traffic moves the counter on before each poll is answered (the PBX lists every change).
    pbx.onRequest = (r) => {
      if (r.path.endsWith("/subscribe") && r.query.lastSequenceNumber !== "0") pbx.bumpSeq(1);
    };
    const { node, sent } = await load("400");
    await heldLongPoll(pbx);
    const id = pbx.startCall("410");
    pbx.update("410", id, { status: "Connected", canAnswer: false });
    node.receive({ action: "add", extensions: "410" });
    const [initial] = await sent.count(1);
    assert.deepEqual([payloadOf(initial).status, payloadOf(initial).initial], ["Connected", true]);
    await until(() => pbx.openPolls() === 1 && pbx.subscribeRequests().at(-1)?.query.exten === "400,410", "one poll for both");
    pbx.update("410", id, { status: "Hungup" });
    await sent.count(2);
    assert.deepEqual(sent.payloads().map((p) => `${p.status}:${p.initial === true}`), ["Connected:true", "Hungup:false"]);
  });

  it("sends a bad runtime change to Catch and keeps the extensions it had", async () => {
    const { node } = await load("410");
    await heldLongPoll(pbx);
    const errors: string[] = [];
    (node as unknown as NodeJS.EventEmitter).on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    node.receive({ action: "explode", extensions: "420" });
    node.receive({ action: "add", extensions: "4a0" });
    await until(() => errors.length === 2, "two errors");
    assert.match(errors[0], /error.badAction/);
    assert.match(errors[1], /error.invalidExtensions/);
    await heldLongPoll(pbx);
    assert.equal(pbx.subscribeRequests().at(-1)?.query.exten, "410");
  });

  it("keeps runtime changes across a redeploy only when asked to", async () => {
    const flow = (persist: boolean) => [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", "410", { persistChanges: persist })];
    for (const persist of [false, true]) {
      await helper.load(nodes, flow(persist), credentials());
      await heldLongPoll(pbx);
      helper.getNode("sub").receive({ action: "replace", extensions: "499" });
      await until(() => pbx.subscribeRequests().at(-1)?.query.exten === "499" && pbx.openPolls() === 1, "a poll for 499");
      await deploy([...flow(persist).slice(0, 1), ...subscribeFlowNodes("sub", "410", { persistChanges: persist, name: "changed" })], "nodes", credentials());
      const expected = persist ? "499" : "410";
      await until(() => pbx.subscribeRequests().at(-1)?.query.exten === expected && pbx.openPolls() === 1, `a poll for ${expected} after the redeploy`);
      await helper.unload();
    }
  });

  it("puts each kind of event on its own output, with missed on the end of an unanswered inbound call", async () => {
    const { sent } = await load("410", { outputMode: "byKind", outputs: 5 });
    await heldLongPoll(pbx);
    const missed = pbx.startCall("410");
    pbx.update("410", missed, { status: "No Answer" });
    const out = pbx.startCall("410", { status: "Dialing Out", inbound: false, canAnswer: false });
    pbx.update("410", out, { status: "Connected" });
    pbx.update("410", out, { status: "Unlinked" });
    pbx.update("410", out, { status: "Hungup" });
    const all = (await sent.count(6)) as unknown as Outputs[];
    const slots = all.map((outputs) => outputs.findIndex((m) => m !== null));
    assert.deepEqual(slots, [0, 3, 1, 2, 4, 3]);
    assert.ok(all.every((outputs) => outputs.length === 5));
    const ended = all.filter((o) => o[3]).map((o) => payloadOf(o[3] as NodeMessage));
    assert.deepEqual(ended.map((p) => [p.status, p.missed]), [["No Answer", true], ["Hungup", false]]);
  });

  it("summaries: a Hungup after the grace that followed No Answer gives no second summary", async () => {
    // Real speed, but the 5 s grace can be skipped. Installed first, so that no real timer is cleared by a fake.
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"], shouldAdvanceTime: true, shouldClearNativeTimers: true });
    try {
      const { sent } = await load("410", { outputMode: "summaries" });
      await heldLongPoll(pbx);
      const read = () => until(() => pbx.subscribeRequests().at(-1)?.query.lastSequenceNumber === String(pbx.seq), "the change read");
      const missed = pbx.startCall("410", { callStartTime: "" });
      await read();
      const ringing = pbx.leg(missed)!;
      pbx.update("410", missed, { status: "No Answer", canAnswer: false });
      await read();
      await clock.tickAsync(5000); // the grace: summarised as No Answer
      const [first] = await sent.count(1);
      assert.deepEqual([payloadOf(first).uniqueCallId, payloadOf(first).endStatus, payloadOf(first).missed], [missed, "No Answer", true]);
      pbx.emit("410", { ...ringing, status: "Hungup", canAnswer: false, hangupCause: "NO_ANSWER" }); // late
      const next = pbx.startCall("410");
      pbx.update("410", next, { status: "Hungup" });
      await until(() => sent.all.some((m) => payloadOf(m).uniqueCallId === next), "the next call's summary");
      assert.deepEqual(sent.all.map((m) => [payloadOf(m).uniqueCallId, payloadOf(m).endStatus]), [[missed, "No Answer"], [next, "Hungup"]],
        "one summary per call");
    } finally {
      clock.restore();
    }
  });

  it("sends one summary per finished call leg, ready for a CRM", async () => {
    const { sent } = await load("410", { outputMode: "both", outputs: 2 });
    await heldLongPoll(pbx);
    const id = pbx.startCall("410", { callerId: "0298765432" });
    await sent.count(1);
    await heldLongPoll(pbx);
    pbx.update("410", id, { status: "Connected", canAnswer: false });
    await sent.count(2);
    await heldLongPoll(pbx);
    pbx.update("410", id, { status: "Hungup" });
    const all = (await sent.count(4)) as unknown as Outputs[];
    const summaries = all.filter((o) => o[1]).map((o) => o[1] as NodeMessage);
    assert.equal(summaries.length, 1);
    const summary = payloadOf(summaries[0]);
    assert.equal(summaries[0].topic, "410");
    assert.deepEqual(
      [summary.uniqueCallId, summary.direction, summary.callerId, summary.answered, summary.missed, summary.endStatus, summary.partial],
      [id, "inbound", "0298765432", true, false, "Hungup", false],
    );
    assert.ok(typeof summary.talkSeconds === "number" && typeof summary.ringSeconds === "number");
    assert.ok(Date.parse(String(summary.endedAt)) >= Date.parse(String(summary.connectedAt)));
  });
});

