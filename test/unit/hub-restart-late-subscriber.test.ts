/**
 * Node-RED killed right after a PBX restart was seen (its position stored at once, at the new life's cursor, beside a
 * call of the old life the resync had not yet ended), then started again from that position with a subscriber that
 * registers late (announced with `expect`). The first extension's check found the old call gone and, taking it for an
 * unseen restart, declared the cursor's life over: the late subscriber's saved cursor of that same life was dropped,
 * its extension read afresh, and a call that rang and ended there while Node-RED was down never reached its flow
 * (found by an outside review). The real fake PBX over HTTP; the order is forced by gates a request waits at (no sleeps).
 */
import assert from "node:assert/strict";
import { type HubPosition, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { FakePbx } from "../fake-pbx";
import { of, type Recorder, recorder, statuses } from "./flow-recorder";
import { Gates } from "./request-gates";


describe("SubscriptionHub: killed before a PBX restart's resync settled, resumed with a late subscriber", () => {
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
   * A hub watching 410 (a) and 420 (b), a call connected on 410; the PBX restarts under the held poll, the read after
   * it answers, and the poll that would settle that read waits at a gate. The last position stored by then.
   */
  async function restartUnsettled(alive: () => boolean): Promise<{ a: Recorder; old: string; settle: () => void; saved: () => HubPosition | undefined }> {
    const gates = new Gates(pbx);
    let saved: HubPosition | undefined;
    const store = { save: (capture: () => HubPosition | undefined) => void (alive() && (saved = structuredClone(capture()) ?? saved)) };
    const hub = new SubscriptionHub(gates.api, { store, backoff: { initialMs: 5, maxMs: 5, jitter: 0 }, random: () => 0 });
    hubs.push(hub);
    const a = recorder(["410"], alive);
    hub.register("a", a);
    hub.register("b", recorder(["420"], alive));
    hub.releaseLingering();
    const old = pbx.startCall("410");
    await a.waitFor(of(old, "Ringing"));
    pbx.update("410", old, { status: "Connected" });
    const held = gates.hold(pbx.seq); // the poll after the answer that brings Connected
    await a.waitFor(of(old, "Connected"));
    await held.reached;
    pbx.restart({ keepCalls: false });
    const settling = gates.hold(pbx.seq); // the poll from the new life's cursor, after the read
    held.open();
    await settling.reached;
    return { a, old, settle: settling.open, saved: () => saved };
  }

  it("hands the late subscriber the call that rang and ended on its extension while Node-RED was down", async () => {
    let alive = true;
    const { old, saved } = await restartUnsettled(() => alive);
    alive = false; // SIGKILL: nothing more is stored or delivered
    const position = saved();
    assert.deepEqual(position?.polls.map((point) => point.seq), [pbx.seq], "stored at the new life's cursor");
    await hubs.splice(0)[0].close();

    // While Node-RED is down, after that cursor: a call rings unanswered on 420, another on 410.
    const z = pbx.startCall("420", { callerId: "0400000420" });
    pbx.update("420", z, { status: "No Answer" });
    const y = pbx.startCall("410", { callerId: "0400000410" });
    pbx.update("410", y, { status: "No Answer" });

    const warnings: string[] = [];
    const hub = new SubscriptionHub(new Gates(pbx).api, { position, onWarning: (m) => warnings.push(m) });
    hubs.push(hub);
    const a = recorder(["410"]);
    hub.register("a", a);
    hub.expect("b"); // its list is still being read
    hub.releaseLingering();
    await a.waitFor(of(y, "No Answer"));
    // 410's read has settled: the old call it no longer lists has ended.
    await a.waitFor(of(old, "Hungup"));
    assert.ok(a.events.find(of(old, "Hungup"))?.vanished, "ended as vanished");
    const b = recorder(["420"]);
    hub.register("b", b);
    const w = pbx.startCall("420", { callerId: "0400000421" });
    await b.waitFor(of(w, "Ringing"));
    assert.deepEqual(statuses(b, z), ["Ringing", "No Answer"], "b was handed the call made while Node-RED was down");
    assert.ok(b.events.findIndex(of(z)) < b.events.findIndex(of(w)), "before the call made after it");
    assert.deepEqual(statuses(a, y), ["Ringing", "No Answer"]);
    assert.deepEqual(warnings.filter((m) => /differ/.test(m)), [], "no unseen restart is reported: the restart was seen");
  });

  it("says so in the position only until the resynchronising read has settled", async () => {
    const { a, old, settle, saved } = await restartUnsettled(() => true);
    assert.deepEqual(saved()?.polls.map((point) => point.resyncing), [true]);
    settle();
    await a.waitFor(of(old, "Hungup"));
    assert.deepEqual(saved()?.polls.map((point) => [point.seq, point.resyncing]), [[pbx.seq, undefined]]);
  });
});
