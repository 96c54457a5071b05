/**
 * The call tracker's state across a restart: saved by one tracker (one process), restored into another whose
 * monotonic clock started again, on fake timers.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { CallSummary, CallTracker } from "../../nodes/lib/poll/call-tracker";
import { summaryId } from "../../nodes/lib/poll/event-id";
import { event, lateEvent } from "./call-event";

describe("CallTracker state across a restart", () => {
  let clock: sinon.SinonFakeTimers;
  let summaries: CallSummary[];
  // Each "process" has its own monotonic clock, starting near 0 (performance.now() after a restart).
  let monoOffset = 0;
  const mono = () => Date.now() - monoOffset;
  const make = () => new CallTracker({ onSummary: (s) => summaries.push(s), monotonic: mono });
  /**
   * Node-RED restarts: `before`'s state is saved (through JSON, as it is stored), it closes, `downMs` pass, and a
   * tracker of a new process (its monotonic clock starting again from 0) takes the state back.
   */
  const acrossRestart = (before: CallTracker, downMs = 0): CallTracker => {
    const saved = JSON.parse(JSON.stringify(before.saveState())) as unknown;
    before.close();
    clock.tick(downMs);
    monoOffset = Date.now();
    const after = make();
    after.restore(saved);
    return after;
  };

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.parse("2026-12-04T10:00:00Z"), toFake: ["setTimeout", "clearTimeout", "Date"] });
    summaries = [];
    monoOffset = Date.now() - 5_000_000;
  });
  afterEach(() => clock.restore());

  it("a call that rang and connected before the restart and ended after it gets a whole summary, with its real times", () => {
    const before = make();
    before.observe(event("1.1", "Ringing"));
    clock.tick(4000);
    before.observe(event("1.1", "Connected"));
    clock.tick(10_000);
    const after = acrossRestart(before, 20_000); // down for 20 s
    clock.tick(6000);
    assert.equal(after.observe(event("1.1", "Hungup")), false);
    assert.equal(summaries.length, 1);
    const [s] = summaries;
    assert.equal(s.partial, false);
    assert.equal(s.startedAt, "2026-12-04T10:00:00.000Z");
    assert.equal(s.connectedAt, "2026-12-04T10:00:04.000Z");
    assert.deepEqual([s.ringSeconds, s.talkSeconds, s.durationSeconds], [4, 36, 40]);
    after.close();
  });

  it("an unanswered inbound call across the restart is missed; one seen mid-call before it stays partial", () => {
    const before = make();
    before.observe(event("2.1", "Ringing"));
    before.observe(event("3.1", "Connected", {}, true)); // in progress when the node started
    const after = acrossRestart(before);
    assert.equal(after.observe(event("2.1", "Hungup")), true, "missed");
    assert.equal(after.observe(event("3.1", "Hungup")), false);
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.missed, s.partial]), [["2.1", true, false], ["3.1", false, true]]);
    after.close();
  });

  it("a leg seen answered (callStartTime set) without its Connected stays answered across a restart", () => {
    const before = make();
    before.observe(event("2.5", "Ringing"));
    before.observe(lateEvent("2.5", "Unlinked", { callStartTime: "2026/12/04 10:00:01" }, 2000));
    const after = acrossRestart(before);
    assert.equal(after.observe(event("2.5", "Hungup", { callStartTime: "" })), false, "not missed");
    assert.deepEqual(summaries.map((s) => [s.answered, s.missed, s.partial, s.connectedAt, s.talkSeconds, s.afterOutage, s.outageSeconds]),
      [[true, false, true, null, null, true, 2]]);
    after.close();
  });

  it("a No Answer before the restart is summarised when what was left of its grace has passed", () => {
    const before = make();
    before.observe(event("4.1", "Ringing"));
    clock.tick(1000);
    before.observe(event("4.1", "No Answer"));
    clock.tick(2000); // 3 s of the 5 s grace left
    const after = acrossRestart(before);
    assert.equal(summaries.length, 0, "closing drops the leg without a summary");
    clock.tick(2900);
    assert.equal(summaries.length, 0);
    clock.tick(200);
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.endStatus, s.missed, s.partial]), [["4.1", "No Answer", true, false]]);
    after.close();
  });

  it("a No Answer flagged before the restart: the Hungup after it carries no second flag", () => {
    const before = make();
    before.observe(event("4.2", "Ringing"));
    assert.equal(before.observe(event("4.2", "No Answer")), true);
    const after = acrossRestart(before);
    assert.equal(after.observe(event("4.2", "Hungup", { hangupCause: "NO_ANSWER" })), undefined);
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.endStatus, s.hangupCause, s.missed]), [["4.2", "No Answer", "NO_ANSWER", true]]);
    after.close();
  });

  it("a leg summarised before the restart gives no second summary for a late or repeated end after it", () => {
    const before = make();
    before.observe(event("5.1", "Ringing"));
    before.observe(event("5.1", "Hungup"));
    assert.equal(summaries.length, 1);
    const after = acrossRestart(before);
    assert.equal(after.observe(event("5.1", "Hungup")), undefined, "the same end: its first msg had the flag");
    assert.equal(summaries.length, 1);
    after.close();
  });

  it("changes that arrive in the backlog after the restart have no time: null, the outage measured from the save", () => {
    const before = make();
    before.observe(event("a", "Ringing")); // rings 0.8 s before the kill
    before.observe(event("c", "Ringing"));
    before.observe(event("c", "Connected")); // talking at the kill
    clock.tick(800);
    const after = acrossRestart(before, 5000); // down for 5 s; the calls end meanwhile, one more rings and ends
    for (const e of [lateEvent("a", "No Answer"), lateEvent("a", "Hungup", { hangupCause: "NO_ANSWER" }), lateEvent("c", "Hungup"),
      lateEvent("b", "Ringing"), lateEvent("b", "Busy"), lateEvent("b", "Hungup", { hangupCause: "BUSY" })]) after.observe(e);
    const pick = (s: CallSummary) => [s.uniqueCallId, s.startedAt, s.endedAt, s.ringSeconds, s.talkSeconds, s.durationSeconds,
      s.afterOutage, s.outageSeconds, s.missed, s.partial, s.eventId];
    assert.deepEqual(summaries.map(pick), [
      ["a", "2026-12-04T10:00:00.000Z", null, null, 0, null, true, 5, true, false, summaryId("410", "a")],
      ["c", "2026-12-04T10:00:00.000Z", null, 0, null, null, true, 5, false, false, summaryId("410", "c")],
      ["b", null, null, null, 0, null, true, 5, true, false, summaryId("410", "b")],
    ]);
    after.close();
  });

  it("a time that arrived after an outage stays unknown across a restart; a state saved by 1.1.0 loads with its times known", () => {
    const before = make();
    before.observe(lateEvent("d", "Ringing", {}, 3000));
    before.observe(event("e", "Ringing"));
    const saved = JSON.parse(JSON.stringify(before.saveState())) as { legs: Array<Record<string, unknown>>; savedAt?: number };
    assert.deepEqual(saved.legs.map((l) => l.late), [{ startedAt: 3000 }, undefined]);
    const after = acrossRestart(before, 1000);
    clock.tick(2000);
    after.observe(event("d", "Hungup"));
    const [d] = summaries;
    assert.deepEqual([d.startedAt, d.endedAt, d.ringSeconds, d.afterOutage, d.outageSeconds], [null, "2026-12-04T10:00:03.000Z", null, true, 3]);
    delete saved.savedAt;
    for (const leg of saved.legs) delete leg.late;
    const old = make();
    old.restore(saved);
    old.observe(lateEvent("e", "Hungup")); // an outage whose length nothing tells
    assert.deepEqual([summaries[1].uniqueCallId, summaries[1].startedAt, summaries[1].endedAt, summaries[1].outageSeconds],
      ["e", "2026-12-04T10:00:00.000Z", null, null]);
    old.close();
    after.close();
  });

  it("a clock behind at boot (saved in the future): the outage and the times across the restart are unknown, not 0", () => {
    const before = make();
    before.observe(event("f", "Ringing"));
    before.observe(event("g", "Ringing"));
    before.observe(event("g", "Connected"));
    before.observe(event("h", "Ringing"));
    before.observe(event("h", "No Answer")); // its 5 s grace runs on after the restart
    clock.tick(1000);
    const saved = JSON.parse(JSON.stringify(before.saveState())) as unknown;
    before.close();
    clock.tick(4000); // down for 4 s, then the clock at boot is 50 min behind (no RTC, NTP not yet synced)
    clock.setSystemTime(Date.now() - 50 * 60_000);
    monoOffset = Date.now();
    const after = make();
    after.restore(saved);
    after.observe(lateEvent("f", "Hungup")); // in the first answer: when it happened is unknown
    clock.tick(2000);
    after.observe(event("g", "Hungup")); // seen as it happens, but from a connect on the other clock
    clock.tick(5000);
    const pick = (s: CallSummary) => [s.uniqueCallId, s.ringSeconds, s.talkSeconds, s.durationSeconds, s.afterOutage, s.outageSeconds];
    assert.deepEqual(summaries.map(pick), [
      ["f", null, 0, null, true, null],
      ["g", 0, null, null, false, null],
      ["h", 0, 0, 0, false, null], // what was left of its grace, not 50 min more
    ]);
    after.close();
  });

  it("refuses a state it did not save, taking nothing; saves at most 2000 legs of each kind, the newest", () => {
    const tracker = make();
    for (const bad of [null, [], { version: 2, legs: [], finished: [] }, { version: 1, legs: [{ extension: "410" }], finished: [] },
      { version: 1, legs: [], finished: [{ extension: "410", uniqueCallId: "1", missed: "no", at: 1 }] },
      { version: 1, legs: [], finished: [], savedAt: "now" }]) {
      assert.throws(() => tracker.restore(bad), /invalid/);
    }
    assert.equal(tracker.size, 0);
    for (let i = 0; i < 2100; i++) tracker.observe(event(`9.${i}`, "Ringing"));
    const state = tracker.saveState();
    assert.equal(state.legs.length, 2000);
    assert.equal(state.legs[0].uniqueCallId, "9.100");
    tracker.close();
  });
});
