/**
 * A PBX restart the client never saw in a `seq` going back: by its next poll (after a failure's backoff, or when
 * Node-RED resumes from a saved position) the PBX's new counter is already past the client's cursor. The calls that
 * died with the restart must end for presence (msgs, queries, context variable, a redeployed node) and for subscribe
 * (an end msg marked `vanished`, a summary that says what it could not see).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { NodeMessage } from "node-red";
import type { FakePbx } from "../fake-pbx";
import { configFlowNode, credentials, deploy, type FlowNode, heldLongPoll, helper, nodes, Sent, startFakePbx, subscribeFlowNodes, unloadAndStop, until } from "./support";

type Payload = Record<string, unknown> & { state?: string; calls?: Array<Record<string, unknown>> };
const payloadOf = (m: NodeMessage): Payload => m.payload as Payload;

describe("a PBX restart the polls never saw", function () {
  let pbx: FakePbx;
  let userDir: string | undefined;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    userDir = undefined;
  });

  const flowOf = (extra: FlowNode[] = []): FlowNode[] => [
    { id: "f1", type: "tab", label: "unseen restart" },
    { ...configFlowNode(pbx.url), z: "f1" },
    { id: "p", z: "f1", type: "noojee-presence", server: "cfg", extensions: "410", wires: [["out"]], contextScope: "global", contextKey: "presence" },
    { id: "out", z: "f1", type: "helper" },
    ...subscribeFlowNodes("s", "410", { outputMode: "both", wires: [["out-s"], ["sum-s"]] }).map((n) => ({ ...n, z: "f1" })),
    { id: "sum-s", z: "f1", type: "helper" },
    ...extra,
  ];

  it("while running: after the failed poll's backoff a read finds the call gone, and every node ends it", async () => {
    const flow = flowOf();
    await helper.load(nodes, flow, credentials());
    const presence = helper.getNode("p");
    const sent = new Sent(presence);
    const subscribed = new Sent(helper.getNode("s"));
    await sent.count(1);
    await heldLongPoll(pbx);
    const call = pbx.startCall("410", { status: "Connected", canAnswer: false, callStartTime: "2026/12/05 09:00:00" });
    await sent.waitFor((m) => payloadOf(m).state === "on a call");
    await heldLongPoll(pbx);
    const cursor = Number(pbx.subscribeRequests().at(-1)!.query.lastSequenceNumber);
    pbx.restart(); // drops the held poll: the client backs off, then polls from its cursor
    pbx.bumpSeq(cursor + 5); // the new life's counter passes that cursor first

    const ended = await sent.waitFor((m) => payloadOf(m).state === "idle" && !payloadOf(m).initial, 8000);
    assert.equal(payloadOf(ended).previous, "on a call");
    assert.deepEqual(payloadOf(ended).calls, []);
    assert.equal((presence.context().global.get("presence") as Record<string, Payload>)["410"].state, "idle");

    // subscribe: the leg ends, said to be found gone (no Hungup came from the PBX), and its summary says so.
    const end = await subscribed.waitFor((m) => (m as unknown as NodeMessage[])[0] !== null && payloadOf((m as unknown as NodeMessage[])[0]).vanished === true);
    const endPayload = payloadOf((end as unknown as NodeMessage[])[0]);
    assert.equal(endPayload.uniqueCallId, call);
    assert.equal(endPayload.status, "Hungup");
    assert.equal(endPayload.afterOutage, true);
    const summaryMsg = await subscribed.waitFor((m) => (m as unknown as NodeMessage[])[1] !== null);
    const summary = payloadOf((summaryMsg as unknown as NodeMessage[])[1]);
    assert.equal(summary.uniqueCallId, call);
    assert.equal(summary.vanished, true);
    assert.equal(summary.partial, true);
    assert.equal(summary.afterOutage, true);
    assert.equal(summary.endedAt, null);
    assert.equal(summary.missed, false);

    // A query, and a redeployed presence node, both see it idle.
    const before = sent.all.length;
    presence.receive({});
    const answer = await sent.waitFor(() => true, 5000, before);
    assert.equal(payloadOf(answer).state, "idle");
    await deploy(flow.map((n) => (n.id === "p" ? { ...n, name: "renamed" } : n)), "nodes", credentials());
    const [initial] = await new Sent(helper.getNode("p")).count(1);
    assert.equal(payloadOf(initial).state, "idle");
  });

  it("after a resume: the first msg is the PBX's state, never the call that died while Node-RED was down", async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-unseen-"));
    helper.settings({ userDir });
    const kept = pbx.startCall("410", { uniqueCallId: "kept", status: "Connected", canAnswer: false, callStartTime: "2026/12/05 09:00:00" });
    pbx.bumpSeq(20);
    const saved = pbx.seq;
    fs.mkdirSync(path.join(userDir, "noojee-resume"), { recursive: true });
    fs.writeFileSync(path.join(userDir, "noojee-resume", "cfg.json"), JSON.stringify({
      format: "node-red-contrib-noojee/resume", version: 1, host: pbx.url, authMode: "apiKey", savedAt: Date.now(),
      polls: [{ seq: saved, extensions: ["410"], fences: {} }],
      legs: [{ extension: "410", data: pbx.leg(kept) }],
    }));
    pbx.restart();
    pbx.bumpSeq(saved + 10);
    await helper.load(nodes, flowOf(), credentials());
    const presence = helper.getNode("p");
    const sent = new Sent(presence);
    const subscribed = new Sent(helper.getNode("s"));
    const [first] = await sent.count(1);
    assert.equal(payloadOf(first).state, "idle");
    await heldLongPoll(pbx);
    await until(() => subscribed.all.length >= 2, "subscribe's end and summary of the call gone");
    const outputs = subscribed.all.map((m) => m as unknown as Array<NodeMessage | null>);
    const end = outputs.find((o) => o[0] !== null)![0]!;
    const summary = outputs.find((o) => o[1] !== null)![1]!;
    assert.equal(payloadOf(end).uniqueCallId, kept);
    assert.equal(payloadOf(end).vanished, true);
    assert.equal(payloadOf(summary).vanished, true);
    assert.equal(sent.all.length, 1, JSON.stringify(sent.all.map((m) => payloadOf(m).state)));
    assert.equal((presence.context().global.get("presence") as Record<string, Payload>)["410"].state, "idle");
  });

  it("after a resume from a 1.1.0 position: a ringing call gone with the PBX restart ends vanished, never missed", async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-unseen-"));
    helper.settings({ userDir });
    const ringing = pbx.startCall("410", { uniqueCallId: "ring", status: "Ringing" });
    pbx.bumpSeq(20);
    const saved = pbx.seq;
    // As 1.1.0 saved it: the legs' last states, no tracker state (whether it rang while we looked is not known).
    fs.mkdirSync(path.join(userDir, "noojee-resume"), { recursive: true });
    fs.writeFileSync(path.join(userDir, "noojee-resume", "cfg.json"), JSON.stringify({
      format: "node-red-contrib-noojee/resume", version: 1, host: pbx.url, authMode: "apiKey", savedAt: Date.now() - 60_000,
      polls: [{ seq: saved, extensions: ["410"], fences: {} }],
      legs: [{ extension: "410", data: pbx.leg(ringing) }],
    }));
    pbx.restart();
    pbx.bumpSeq(saved + 10);
    await helper.load(nodes, flowOf(), credentials());
    const subscribed = new Sent(helper.getNode("s"));
    await until(() => subscribed.all.length >= 2, "subscribe's end and summary of the call gone");
    const outputs = subscribed.all.map((m) => m as unknown as Array<NodeMessage | null>);
    const end = outputs.find((o) => o[0] !== null)![0]!;
    const summary = outputs.find((o) => o[1] !== null)![1]!;
    assert.equal(payloadOf(end).uniqueCallId, ringing);
    assert.equal(payloadOf(end).vanished, true);
    assert.equal(payloadOf(end).missed, false, "not known to be missed: the PBX stopped listing it");
    assert.equal(payloadOf(summary).vanished, true);
    assert.equal(payloadOf(summary).missed, false);
  });
});

