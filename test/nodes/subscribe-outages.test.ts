/**
 * What subscribe sends across outages, over HTTP to the fake PBX in the test helper's Node-RED. msg.payload.eventId:
 * the same for a change sent again (after a restart from an older saved position, with either answer style of the
 * PBX; a replay after a deploy), another for each other change. Call summaries: the times of changes that arrived
 * after an outage (Node-RED down, the PBX unreachable) are unknown, not the outage. A restart is a new load of the
 * flow from the position in the user dir; a crash that lost the latest writes is that load from an older position.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { NodeMessage } from "node-red";
import type { FakePbx } from "../fake-pbx";
import { configFlowNode, credentials, deploy, FlowNode, heldLongPoll, helper, nodes, Sent, startFakePbx, subscribeFlowNodes, unloadAndStop, until } from "./support";

type Payload = Record<string, unknown> & { uniqueCallId: string; status: string; eventId: string };
const payloadOf = (msg: NodeMessage) => msg.payload as Payload;
const describeMsg = (p: Payload) => `${p.uniqueCallId} ${p.status}${p.initial ? " (initial)" : ""}`;
const ID = /^[A-Za-z0-9_-]{22}$/;

describe("noojee-subscribe: eventId and times across outages", function () {
  let pbx: FakePbx | undefined;
  let userDir: string;
  const positionFile = () => path.join(userDir, "noojee-resume", "cfg.json");
  let flow = (): FlowNode[] => [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "410")];

  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-event-id-"));
    helper.settings({ userDir });
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** The saved position's text once it covers every change the PBX has made. */
  async function savedPosition(): Promise<string> {
    let text = "";
    await until(() => {
      text = fs.existsSync(positionFile()) ? fs.readFileSync(positionFile(), "utf8") : "";
      return text !== "" && (JSON.parse(text) as { polls: Array<{ seq: number }> }).polls[0]?.seq === pbx!.seq;
    }, "the position after the last change");
    return text;
  }

  /**
   * A new process starting from `position`: the flow and its connection are gone (removing the config node closes its
   * polls rather than parking them for a redeploy, and deletes its file), then the flow is loaded with this position.
   */
  async function restartFrom(position: string, whileDown = (): void => undefined): Promise<void> {
    await deploy([{ id: "other", type: "helper" }], "full");
    await until(() => !fs.existsSync(positionFile()), "the old process gone");
    await helper.unload();
    whileDown();
    fs.writeFileSync(positionFile(), position);
    await helper.load(nodes, flow(), credentials());
  }

  /** Makes a change and waits for its msg (so that a PBX answering only each leg's latest state still shows it). */
  async function change(sent: Sent, make: () => void): Promise<void> {
    await heldLongPoll(pbx!);
    const before = sent.all.length;
    make();
    await sent.waitFor(() => sent.all.length > before);
  }

  for (const answerStyle of ["every", "latest"] as const) {
    it(`a restart from an older position sends again what came after it, with the same ids (PBX answering ${answerStyle})`, async () => {
      pbx = await startFakePbx({ answerStyle });
      await helper.load(nodes, flow(), credentials());
      const first = new Sent(helper.getNode("a"));
      const x = "1800000000.1";
      const connected = { status: "Connected", canAnswer: false, callStartTime: "2026/12/06 10:00:00" };
      await change(first, () => pbx!.startCall("410", { uniqueCallId: x }));
      const older = await savedPosition(); // the last position a crash left behind
      // Connected twice, the same state: two changes. Then a second call.
      await change(first, () => pbx!.update("410", x, connected));
      await change(first, () => pbx!.update("410", x, { status: "Unlinked" }));
      await change(first, () => pbx!.update("410", x, connected));
      await change(first, () => pbx!.update("410", x, { status: "Hungup" }));
      await change(first, () => pbx!.startCall("410", { uniqueCallId: "1800000000.2" }));
      await change(first, () => pbx!.update("410", "1800000000.2", { status: "Hungup", canAnswer: false }));
      const delivered = first.all.map(payloadOf);
      assert.deepEqual(delivered.map(describeMsg), [`${x} Ringing`, `${x} Connected`, `${x} Unlinked`, `${x} Connected`, `${x} Hungup`,
        "1800000000.2 Ringing", "1800000000.2 Hungup"]);
      const ids = delivered.map((p) => p.eventId);
      assert.ok(ids.every((id) => ID.test(id)), String(ids));
      assert.equal(new Set(ids).size, ids.length, "seven changes, seven ids (the second Connected too)");

      await restartFrom(older); // Node-RED dies; only the older position had reached the disk

      const again = new Sent(helper.getNode("a"));
      const expected = answerStyle === "every" ? delivered.slice(1) : [delivered[4], delivered[6]];
      const resent = (await again.count(expected.length)).map(payloadOf);
      assert.deepEqual(resent.map(describeMsg), expected.map(describeMsg), "sent again, as changes");
      assert.deepEqual(resent.map((p) => p.eventId), expected.map((p) => p.eventId), "each with the id of its first delivery");
      await heldLongPoll(pbx);
      assert.equal(again.all.length, expected.length);
    });
  }

  it("a deploy replays the calls in progress with the ids of the changes that led to them; a new change gets a new id", async () => {
    pbx = await startFakePbx();
    await helper.load(nodes, flow(), credentials());
    const before = new Sent(helper.getNode("a"));
    const id = pbx.startCall("410");
    await change(before, () => pbx!.update("410", id, { status: "Connected", canAnswer: false }));
    const [ringing, connected] = before.all.map(payloadOf);
    assert.notEqual(ringing.eventId, connected.eventId);

    // A full deploy restarts the node; another node, deployed later, watches the same extension.
    await deploy(flow(), "full", credentials());
    const after = new Sent(helper.getNode("a"));
    const [replayed] = (await after.count(1)).map(payloadOf);
    assert.deepEqual([describeMsg(replayed), replayed.eventId], [`${id} Connected (initial)`, connected.eventId]);
    await deploy([...flow(), ...subscribeFlowNodes("b", "410")], "nodes", credentials());
    const newcomer = new Sent(helper.getNode("b"));
    const [current] = (await newcomer.count(1)).map(payloadOf);
    assert.deepEqual([describeMsg(current), current.eventId], [`${id} Connected (initial)`, connected.eventId]);

    await change(after, () => pbx!.update("410", id, { status: "Hungup" }));
    const hungup = payloadOf(after.all[1]);
    await newcomer.count(2);
    assert.equal(payloadOf(newcomer.all[1]).eventId, hungup.eventId, "two nodes, one change: one id");
    assert.equal(new Set([ringing.eventId, connected.eventId, hungup.eventId]).size, 3);
  });

  describe("call summaries", () => {
    const both = (): FlowNode[] => [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "410", { outputMode: "both", outputs: 2 })];
    type Outputs = Array<NodeMessage | null>;
    const outputs = (sent: Sent, n: number) => (sent.all as unknown as Outputs[]).map((o) => o[n]).filter((m): m is NodeMessage => !!m);
    const events = (sent: Sent) => outputs(sent, 0).map(payloadOf);
    const summaries = (sent: Sent) => outputs(sent, 1).map((m) => m.payload as Record<string, unknown>);
    const times = (s: Record<string, unknown>) => [s.uniqueCallId, s.startedAt === null, s.connectedAt === null, s.endedAt, s.ringSeconds,
      s.talkSeconds, s.durationSeconds, s.afterOutage, s.missed, s.partial];
    beforeEach(() => (flow = both));
    /** A ringing call ends unanswered: No Answer or Busy, then the Hungup with its cause. */
    const endUnanswered = (id: string, status: string, hangupCause: string): void => {
      const ringing = pbx!.leg(id)!;
      pbx!.update("410", id, { status, canAnswer: false });
      pbx!.emit("410", { ...ringing, status: "Hungup", canAnswer: false, hangupCause });
    };

    it("across a restart: the changes made while down have no time (null), not the downtime counted; sent again, the same ids", async () => {
      pbx = await startFakePbx();
      await helper.load(nodes, flow(), credentials());
      const first = new Sent(helper.getNode("a"));
      const [a, b, c] = ["1800000001.1", "1800000001.2", "1800000001.3"];
      await change(first, () => pbx!.startCall("410", { uniqueCallId: a })); // ringing at the crash
      await change(first, () => pbx!.startCall("410", { uniqueCallId: c }));
      await change(first, () => pbx!.update("410", c, { status: "Connected", canAnswer: false })); // talking at the crash
      const position = await savedPosition();
      await restartFrom(position, () => {
        endUnanswered(a, "No Answer", "NO_ANSWER");
        pbx!.update("410", c, { status: "Hungup" });
        pbx!.startCall("410", { uniqueCallId: b }); // a call made wholly while down
        endUnanswered(b, "Busy", "BUSY");
      });
      const after = new Sent(helper.getNode("a"));
      await until(() => summaries(after).length === 3, "three summaries");
      assert.deepEqual(events(after).map((p) => `${describeMsg(p)} ${p.afterOutage}`), [`${a} No Answer true`, `${a} Hungup true`,
        `${c} Hungup true`, `${b} Ringing true`, `${b} Busy true`, `${b} Hungup true`], "each change marked as arrived after the outage");
      const sums = summaries(after);
      assert.deepEqual(sums.map(times), [
        [a, false, true, null, null, 0, null, true, true, false], // it rang before the crash: its start is known, not its end
        [c, false, false, null, 0, null, null, true, false, false],
        [b, true, true, null, null, 0, null, true, true, false],
      ]);
      assert.ok(sums.every((s) => typeof s.outageSeconds === "number" && s.outageSeconds >= 0), JSON.stringify(sums));
      assert.ok(sums.every((s) => ID.test(String(s.eventId))) && new Set(sums.map((s) => s.eventId)).size === 3);

      // Another crash that lost every write since the same position: the same msgs again, with the same ids.
      const eventIds = events(after).map((p) => p.eventId);
      await restartFrom(position);
      const again = new Sent(helper.getNode("a"));
      await until(() => summaries(again).length === 3, "the three summaries again");
      assert.deepEqual(summaries(again).map((s) => s.eventId), sums.map((s) => s.eventId));
      assert.deepEqual(events(again).map((p) => p.eventId), eventIds);
    });

    it("after failed polls: the end that came with the first answer after them has no time; the ring seen before has", async () => {
      pbx = await startFakePbx();
      await helper.load(nodes, flow(), credentials());
      const sent = new Sent(helper.getNode("a"));
      const [x, y] = ["1800000002.1", "1800000002.2"];
      await change(sent, () => pbx!.startCall("410", { uniqueCallId: x }));
      await heldLongPoll(pbx);
      pbx.fault("http500"); // the poll after the next answer fails: the node retries after about a second
      await change(sent, () => pbx!.startCall("410", { uniqueCallId: y })); // that next answer, on time
      endUnanswered(x, "No Answer", "NO_ANSWER"); // while the polls fail
      await until(() => summaries(sent).length === 1, "the summary", 10_000);
      assert.deepEqual(events(sent).map((p) => `${describeMsg(p)} ${p.afterOutage}`),
        [`${x} Ringing undefined`, `${y} Ringing undefined`, `${x} No Answer true`, `${x} Hungup true`]);
      const [summary] = summaries(sent);
      assert.deepEqual(times(summary), [x, false, true, null, null, 0, null, true, true, false]);
      assert.deepEqual([summary.endStatus, summary.hangupCause], ["No Answer", "NO_ANSWER"]);
      assert.ok(typeof summary.outageSeconds === "number" && summary.outageSeconds > 0, String(summary.outageSeconds));
    });
  });
});
