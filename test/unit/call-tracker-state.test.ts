/**
 * The call tracker's state across a restart: saved by one tracker (one process), restored into another whose
 * monotonic clock started again, on fake timers.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { CallSummary, CallTracker } from "../../nodes/lib/poll/call-tracker";
import { event } from "./call-event";

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

  it("a leg summarised before the restart gives no second summary for a late or repeated end after it", () => {
    const before = make();
    before.observe(event("5.1", "Ringing"));
    before.observe(event("5.1", "Hungup"));
    assert.equal(summaries.length, 1);
    const after = acrossRestart(before);
    assert.equal(after.observe(event("5.1", "Hungup")), true, "the same end, with the flag its first msg had");
    assert.equal(summaries.length, 1);
    after.close();
  });

  it("refuses a state it did not save, taking nothing; saves at most 2000 legs of each kind, the newest", () => {
    const tracker = make();
    for (const bad of [null, [], { version: 2, legs: [], finished: [] }, { version: 1, legs: [{ extension: "410" }], finished: [] },
      { version: 1, legs: [], finished: [{ extension: "410", uniqueCallId: "1", missed: "no", at: 1 }] }]) {
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
