/**
 * A PBX restart met right after a resumed poll brought its backlog (found by the replica soak, seed 74746): the new
 * life's calls begin before the client sees the restart, and change between its resynchronising read and the poll that
 * catches up with it. The real fake PBX over HTTP; the order is forced by gates a request waits at before it reaches
 * the PBX (no sleeps).
 *
 * - A second read before the first one was caught up with (the poll after it failed, so a read came first again, as
 *   after any failure) took its place: the states the first read found of calls that changed before the second were
 *   never sent (a call that rang and was not answered in between showed only its "No Answer").
 * - The position was not stored when the restart was seen: a process that carried on from it after a crash (or a new
 *   replica term after a deploy) started from the previous life's cursor, found the restart anew with a read of its
 *   own and resynchronised from there, skipping the changes made since the cursor the first process had seen.
 */
import assert from "node:assert/strict";
import { type HubPosition, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { FakePbx } from "../fake-pbx";
import { of, type Recorder, recorder, statuses } from "./flow-recorder";
import { Gates, type Hold } from "./request-gates";


describe("SubscriptionHub: a PBX restart right after a resumed poll's backlog, calls changing between the reads", () => {
  let pbx: FakePbx;
  const hubs: SubscriptionHub[] = [];
  beforeEach(async () => {
    pbx = new FakePbx({ minPollMs: 5 });
    await pbx.start();
  });
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((hub) => hub.close()));
    await pbx.stop();
  });

  /**
   * A hub resumed from a position at 20 with a backlog since; once the backlog is in, the PBX restarts (its calls gone)
   * and two calls begin before the client's next poll reaches it; that poll shows the restart and a read follows.
   * Resolves when the poll after that read is about to reach the PBX (held); the last position stored, if any.
   */
  async function restartAfterBacklog(alive: () => boolean = () => true): Promise<{
    flow: Recorder; gates: Gates; x: string; y: string; cursor: number; nextPoll: Hold; saved: () => HubPosition | undefined; warnings: string[];
  }> {
    pbx.bumpSeq(20);
    const position: HubPosition = { polls: [{ seq: pbx.seq, extensions: ["410"], fences: {} }], legs: [] };
    // While Node-RED was down: the backlog.
    const old = pbx.startCall("410");
    pbx.update("410", old, { status: "Connected" });
    const gates = new Gates(pbx);
    const afterBacklog = gates.hold(pbx.seq);
    let saved: HubPosition | undefined;
    const store = { save: (capture: () => HubPosition | undefined) => void (alive() && (saved = structuredClone(capture()) ?? saved)) };
    const warnings: string[] = [];
    const hub = new SubscriptionHub(gates.api, {
      position, store, backoff: { initialMs: 5, maxMs: 5, jitter: 0 }, random: () => 0, onWarning: (m) => warnings.push(m),
    });
    hubs.push(hub);
    const flow = recorder(["410"], alive);
    hub.register("a", flow);
    hub.releaseLingering();
    await afterBacklog.reached;
    assert.deepEqual(statuses(flow, old), ["Ringing", "Connected"], "the backlog reached the flow");
    pbx.restart({ keepCalls: false });
    const x = pbx.startCall("410", { callerId: "0400000001" });
    const y = pbx.startCall("410", { callerId: "0400000002" });
    const cursor = pbx.seq; // what the held poll will be answered: lower than its lastSequenceNumber
    const nextPoll = gates.hold(cursor);
    afterBacklog.open();
    await nextPoll.reached; // the restart was seen, and the read after it answered
    assert.match(warnings.join("\n"), /went back/);
    return { flow, gates, x, y, cursor, nextPoll, saved: () => saved, warnings };
  }

  it("the poll after the resynchronising read fails: the read's calls still reach the flow, before their changes since", async () => {
    const { flow, x, y, nextPoll } = await restartAfterBacklog();
    // Between the read and the poll: X is not answered, Y is; that poll fails, so another read comes first.
    pbx.update("410", x, { status: "No Answer" });
    pbx.update("410", y, { status: "Connected" });
    pbx.fault("http500");
    nextPoll.open();
    await flow.waitFor(of(x, "No Answer"));
    await flow.waitFor(of(y, "Connected"));
    assert.deepEqual(statuses(flow, x), ["Ringing", "No Answer"], "X as the first read found it, then its end");
    assert.deepEqual(statuses(flow, y), ["Ringing", "Connected"], "Y as the first read found it, then its change");
  });

  it("a crash after the restart was seen: the next process carries on from the new life's cursor, losing no change since", async () => {
    let alive = true;
    const { x, y, cursor, saved } = await restartAfterBacklog(() => alive);
    alive = false; // Node-RED dies with the poll held; the position stored is what it left
    const position = saved();
    assert.ok(position, "a position was stored");
    assert.deepEqual(position.polls.map((p) => p.seq), [cursor], "stored at the cursor of the PBX's new life");
    // While it is down: X is not answered, Y is, and ends.
    pbx.update("410", x, { status: "No Answer" });
    pbx.update("410", y, { status: "Connected" });
    pbx.update("410", y, { status: "Hungup" });
    const flow = recorder(["410"]);
    const hub = new SubscriptionHub(new Gates(pbx).api, { position });
    hubs.push(hub);
    hub.register("a", flow);
    hub.releaseLingering();
    await flow.waitFor(of(y, "Hungup"));
    await flow.waitFor(of(x, "No Answer"));
    assert.deepEqual(statuses(flow, y).slice(-2), ["Connected", "Hungup"], "every change of Y after the cursor");
  });
  it("two reads wait across a restart the seq never showed: a call only the older read lists ends, made up", async () => {
    // Found by an outside review: each waiting read was compared with the table before any went out, so the newer
    // read never ended the leg the older one sent. Both answer styles meet it alike; "every" here.
    pbx.bumpSeq(10);
    const gates = new Gates(pbx);
    const warnings: string[] = [];
    const hub = new SubscriptionHub(gates.api, { backoff: { initialMs: 5, maxMs: 5, jitter: 0 }, random: () => 0, onWarning: (m) => warnings.push(m) });
    hubs.push(hub);
    const flow = recorder(["410"]);
    const c0 = pbx.seq; // the first read answers at c0: the polls go on from it
    let poll = gates.hold(c0);
    hub.register("a", flow);
    hub.releaseLingering();
    await poll.reached;
    // A call rings; the poll from c0 fails, so a read (R1) comes first again: it lists the call.
    const l1 = pbx.startCall("410", { callerId: "0400000001" });
    pbx.fault("http500");
    poll.open();
    poll = gates.hold(c0);
    await poll.reached; // R1 answered, the next poll waits
    // That poll fails too; meanwhile the PBX restarts and its counter climbs past c0: the seq never goes back.
    pbx.restart({ keepCalls: false });
    pbx.bumpSeq(c0 + 3);
    const l2 = pbx.startCall("410", { callerId: "0400000002" });
    pbx.fault("http500");
    poll.open();
    poll = gates.hold(c0);
    await poll.reached; // R2 answered: it lists l2 only
    poll.open(); // answered by the new life: l2 rings
    await flow.waitFor(of(l2, "Ringing"));
    await flow.waitFor(of(l1, "Hungup"));
    assert.deepEqual(statuses(flow, l1), ["Ringing", "Hungup"], "the older read's call, then its made-up end");
    assert.equal(flow.events.find(of(l1, "Hungup"))?.vanished, true);
  });
});
