import assert from "node:assert/strict";
import sinon from "sinon";
import { CallSummary, CallTracker, kindOf } from "../../nodes/lib/poll/call-tracker";
import { event, lateEvent } from "./call-event";
import { summaryId } from "../../nodes/lib/poll/event-id";

describe("CallTracker", () => {
  let clock: sinon.SinonFakeTimers;
  let summaries: CallSummary[];
  let tracker: CallTracker;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.parse("2026-11-23T10:00:00Z"), toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    summaries = [];
    tracker = new CallTracker({ onSummary: (s) => summaries.push(s) });
  });
  afterEach(() => {
    tracker.close();
    clock.restore();
  });

  it("summarises an answered inbound call with ring and talk times", () => {
    assert.equal(tracker.observe(event("1.1", "Ringing")), undefined);
    clock.tick(4000);
    assert.equal(tracker.observe(event("1.1", "Connected")), undefined);
    clock.tick(62_500);
    assert.equal(tracker.observe(event("1.1", "Hungup")), false, "not missed");
    assert.deepEqual(summaries, [{
      extension: "410", uniqueCallId: "1.1", callId: 7, direction: "inbound", callerId: "0412345678",
      isQueueCall: false, isClickToDialCall: false,
      startedAt: "2026-11-23T10:00:00.000Z", connectedAt: "2026-11-23T10:00:04.000Z", endedAt: "2026-11-23T10:01:06.500Z",
      ringSeconds: 4, talkSeconds: 62.5, durationSeconds: 66.5, endStatus: "Hungup", hangupCause: null,
      answered: true, missed: false, partial: false, afterOutage: false, outageSeconds: null, eventId: summaryId("410", "1.1"),
    }]);
    assert.equal(tracker.size, 0);
  });

  it("flags a missed call on No Answer only, not on the Hungup that follows, and summarises once with the cause", () => {
    tracker.observe(event("1.2", "Ringing"));
    clock.tick(20_000);
    assert.equal(tracker.observe(event("1.2", "No Answer")), true);
    clock.tick(300);
    assert.equal(tracker.observe(event("1.2", "Hungup", { hangupCause: "NO_ANSWER" })), undefined, "one flag per leg");
    clock.tick(10_000);
    assert.equal(summaries.length, 1);
    assert.deepEqual([summaries[0].endStatus, summaries[0].hangupCause, summaries[0].missed, summaries[0].ringSeconds],
      ["No Answer", "NO_ANSWER", true, 20]);
  });

  it("flags exactly one msg per leg, the first that ends it: Busy then No Answer then Hungup; an outbound leg too", () => {
    tracker.observe(event("1.4", "Ringing"));
    const flags = ["Busy", "No Answer", "Hungup"].map((status) => tracker.observe(event("1.4", status)));
    assert.deepEqual(flags, [true, undefined, undefined]);
    tracker.observe(event("1.5", "Dialing Out", { inbound: false }));
    assert.deepEqual(["No Answer", "Hungup"].map((status) => tracker.observe(event("1.5", status, { inbound: false }))), [false, undefined]);
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.endStatus, s.missed]), [["1.4", "No Answer", true], ["1.5", "No Answer", false]]);
  });

  it("summarises Busy after the grace period when no Hungup follows", () => {
    tracker.observe(event("1.3", "Ringing"));
    assert.equal(tracker.observe(event("1.3", "Busy")), true);
    clock.tick(4999);
    assert.equal(summaries.length, 0);
    clock.tick(1);
    assert.equal(summaries[0].endStatus, "Busy");
    assert.equal(clock.countTimers(), 0);
  });

  it("never calls an outbound or a partial call missed", () => {
    tracker.observe(event("2.1", "Dialing Out", { inbound: false }));
    assert.equal(tracker.observe(event("2.1", "Hungup", { inbound: false })), false);
    tracker.observe(event("2.2", "Ringing", {}, true));
    assert.equal(tracker.observe(event("2.2", "Hungup")), false);
    assert.deepEqual(summaries.map((s) => [s.direction, s.partial, s.missed]), [["outbound", false, false], ["inbound", true, false]]);
  });

  it("calls an inbound leg first seen ended, never connected, missed (a call that ended while Node-RED was down)", () => {
    assert.equal(tracker.observe(event("4.1", "Hungup", { callStartTime: "" })), true);
    assert.equal(tracker.observe(event("4.2", "No Answer", { callStartTime: "" })), true);
    assert.equal(tracker.observe(event("4.3", "Hungup", { callStartTime: "2026/11/23 10:00:00" })), false, "it had connected");
    assert.equal(tracker.observe(event("4.4", "Hungup", { callStartTime: "" }, true)), false, "a current-state read is not a change");
    assert.equal(tracker.observe(event("4.5", "Hungup", { callStartTime: "", inbound: false })), false, "outbound");
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.missed, s.partial]),
      [["4.1", true, true], ["4.3", false, true], ["4.4", false, true], ["4.5", false, true]]);
  });

  it("a Hungup after the grace that followed No Answer or Busy gives no second summary and no second flag", () => {
    tracker.observe(event("5.1", "Ringing"));
    clock.tick(10_000);
    assert.equal(tracker.observe(event("5.1", "No Answer")), true);
    tracker.observe(event("5.2", "Ringing"));
    tracker.observe(event("5.2", "Connected"));
    assert.equal(tracker.observe(event("5.2", "Busy")), false);
    clock.tick(5000); // both graces end: one summary each
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.endStatus, s.missed]), [["5.1", "No Answer", true], ["5.2", "Busy", false]]);
    clock.tick(20_000);
    assert.equal(tracker.observe(event("5.1", "Hungup", { hangupCause: "NO_ANSWER", callStartTime: "" })), undefined, "the No Answer msg had it");
    assert.equal(tracker.observe(event("5.2", "Hungup", { hangupCause: "USER_BUSY" })), undefined, "the Busy msg had it");
    assert.equal(tracker.observe(event("5.2", "Busy")), undefined, "a repeated end is absorbed too");
    assert.equal(summaries.length, 2, "no second summary");
    assert.equal(tracker.size, 0, "no new leg");
    assert.equal(clock.countTimers(), 0, "no new grace");
  });

  it("forgets finished legs after finishedTtlMs and past maxLegs", () => {
    const small = new CallTracker({ onSummary: (s) => summaries.push(s), maxLegs: 3, finishedTtlMs: 60_000 });
    for (const id of ["6.1", "6.2", "6.3", "6.4"]) {
      small.observe(event(id, "Ringing"));
      small.observe(event(id, "Hungup"));
    }
    small.observe(event("6.1", "Hungup")); // past maxLegs: forgotten, a leg again
    small.observe(event("6.4", "Hungup")); // remembered
    clock.tick(60_000);
    small.observe(event("6.3", "Hungup")); // past the TTL: forgotten
    assert.deepEqual(summaries.map((s) => s.uniqueCallId), ["6.1", "6.2", "6.3", "6.4", "6.1", "6.3"]);
    small.close();
  });

  it("measures ring and talk times on the monotonic clock: a wall-clock step back during a call changes neither", () => {
    tracker.observe(event("7.1", "Ringing"));
    clock.tick(3000);
    clock.setSystemTime(Date.now() - 3_600_000); // NTP, a resumed VM: the wall clock goes back an hour
    tracker.observe(event("7.1", "Connected"));
    clock.tick(30_000);
    clock.setSystemTime(Date.now() + 7_200_000); // and forward two
    tracker.observe(event("7.1", "Hungup"));
    const [s] = summaries;
    assert.deepEqual([s.ringSeconds, s.talkSeconds, s.durationSeconds], [3, 30, 33]);
    assert.deepEqual([s.startedAt, s.connectedAt, s.endedAt],
      ["2026-11-23T10:00:00.000Z", "2026-11-23T09:00:03.000Z", "2026-11-23T11:00:33.000Z"], "the times shown are the wall clock's");
  });

  it("bounds its memory and clears its timers on close", () => {
    const small = new CallTracker({ onSummary: () => undefined, maxLegs: 10 });
    for (let i = 0; i < 100; i++) small.observe(event(`3.${i}`, i % 2 ? "Busy" : "Ringing"));
    assert.equal(small.size, 10);
    small.close();
    assert.equal(small.size, 0);
    tracker.close();
    assert.equal(clock.countTimers(), 0);
  });

  it("a vanished end is never missed, whether the leg was known or not (msg and summary)", () => {
    const vanished = (id: string) => ({ ...lateEvent(id, "Hungup", { callStartTime: "" }), vanished: true as const }); // never connected
    tracker.observe(event("9.1", "Ringing")); // seen ringing, then found gone
    assert.equal(tracker.observe(vanished("9.1")), false);
    assert.equal(tracker.observe(vanished("9.2")), false, "never seen (no tracker state, e.g. a position saved by 1.1.0)");
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.missed, s.vanished]), [["9.1", false, true], ["9.2", false, true]]);
  });

  it("a leg seen to end unanswered and then found gone keeps its known end: the summary agrees with the flag its msg had", () => {
    tracker.observe(event("9.3", "Ringing"));
    assert.equal(tracker.observe(event("9.3", "No Answer")), true, "the end's msg is flagged missed");
    const gone = { ...lateEvent("9.3", "Hungup", { callStartTime: "" }), vanished: true as const };
    assert.equal(tracker.observe(gone), undefined, "the made-up end is not a second flag");
    assert.deepEqual(summaries.map((s) => [s.uniqueCallId, s.endStatus, s.missed, s.partial, s.vanished === true]), [["9.3", "No Answer", true, false, false]]);
  });

  it("a change that arrived after an outage has no time: null, never the outage counted as ring or talk time", () => {
    const pick = (s: CallSummary) => [s.uniqueCallId, s.startedAt, s.connectedAt, s.endedAt, s.ringSeconds, s.talkSeconds,
      s.durationSeconds, s.afterOutage, s.outageSeconds, s.missed, s.partial];
    tracker.observe(event("8.1", "Ringing")); // seen ringing at 10:00:00
    tracker.observe(event("8.2", "Ringing"));
    clock.tick(800);
    tracker.observe(event("8.2", "Connected")); // seen connected at 10:00:00.8
    clock.tick(5000); // the polls fail for 5 s; the first answer after brings what happened meanwhile
    assert.equal(tracker.observe(lateEvent("8.1", "No Answer", {}, 5800)), true);
    tracker.observe(lateEvent("8.1", "Hungup", { hangupCause: "NO_ANSWER" }, 5800));
    tracker.observe(lateEvent("8.2", "Hungup", {}, 5800));
    // A call made wholly during the outage: every state reported, none with its time.
    tracker.observe(lateEvent("8.3", "Ringing"));
    assert.equal(tracker.observe(lateEvent("8.3", "Busy")), true);
    tracker.observe(lateEvent("8.3", "Hungup", { hangupCause: "BUSY" }));
    assert.deepEqual(summaries.map(pick), [
      ["8.1", "2026-11-23T10:00:00.000Z", null, null, null, 0, null, true, 5.8, true, false],
      ["8.2", "2026-11-23T10:00:00.000Z", "2026-11-23T10:00:00.800Z", null, 0.8, null, null, true, 5.8, false, false],
      ["8.3", null, null, null, null, 0, null, true, null, true, false],
    ]);
    // A late change that sets no time (here the caller's number) leaves the times known.
    tracker.observe(event("8.4", "Ringing"));
    tracker.observe(lateEvent("8.4", "Ringing", { callerId: "0299990000" }, 1000));
    clock.tick(2000);
    tracker.observe(event("8.4", "Hungup"));
    assert.deepEqual(pick(summaries[3]), ["8.4", "2026-11-23T10:00:05.800Z", null, "2026-11-23T10:00:07.800Z", 2, 0, 2, false, null, true, false]);
  });

  it("a leg whose later state shows it connected (callStartTime set), the Connected unseen, is answered: not missed, no ring or talk time", () => {
    // The PBX lists each call's latest state only: Ringing seen, then an outage, then the Hungup of a call answered in it.
    const pick = (s: CallSummary) => [s.uniqueCallId, s.answered, s.missed, s.partial, s.afterOutage, s.startedAt, s.connectedAt,
      s.endedAt, s.ringSeconds, s.talkSeconds, s.durationSeconds];
    const connected = { callStartTime: "2026/11/23 10:00:02" };
    tracker.observe(event("10.1", "Ringing"));
    clock.tick(5000);
    assert.equal(tracker.observe(lateEvent("10.1", "Hungup", connected, 4000)), false, "not missed");
    // No outage: answered and hung up between two answers of the PBX; the end's time is known, the connect's is not.
    tracker.observe(event("10.2", "Ringing"));
    clock.tick(3000);
    assert.equal(tracker.observe(event("10.2", "Hungup", connected)), false);
    // First seen ended, answered (made wholly while Node-RED was down).
    assert.equal(tracker.observe(lateEvent("10.3", "Hungup", connected)), false);
    // A state that is not an end carries it too (Unlinked, before a transfer's Connected).
    tracker.observe(event("10.4", "Ringing"));
    tracker.observe(lateEvent("10.4", "Unlinked", connected, 1000));
    assert.equal(tracker.observe(event("10.4", "Hungup", connected)), false);
    assert.deepEqual(summaries.map(pick), [
      ["10.1", true, false, true, true, "2026-11-23T10:00:00.000Z", null, null, null, null, null],
      ["10.2", true, false, true, false, "2026-11-23T10:00:05.000Z", null, "2026-11-23T10:00:08.000Z", null, null, 3],
      ["10.3", true, false, true, true, null, null, null, null, null, null],
      ["10.4", true, false, true, true, "2026-11-23T10:00:08.000Z", null, "2026-11-23T10:00:08.000Z", null, null, 0],
    ]);
  });

  it("a summary's id is one per leg: the same from any tracker, another for another leg or extension", () => {
    const other = new CallTracker({ onSummary: (s) => summaries.push(s) });
    for (const t of [tracker, other]) {
      t.observe(event("9.1", "Ringing"));
      t.observe(event("9.1", "Hungup"));
      t.observe(event("9.2", "Hungup"));
      t.observe({ ...event("9.1", "Hungup"), extension: "400" });
    }
    const ids = summaries.map((s) => s.eventId);
    assert.deepEqual(ids.slice(3), ids.slice(0, 3));
    assert.equal(new Set(ids).size, 3);
    assert.equal(ids[0], "roO7BtXIBYXQLrXEmD5axQ", "fixed for good: a summary sent again by the next version keeps its id");
    other.close();
  });

  it("sorts statuses into the five kinds", () => {
    assert.deepEqual(["Ringing", "Dialing Out", "Connected", "Hungup", "Busy", "No Answer", "Unlinked", "Parked"].map(kindOf),
      ["ringing", "outgoing", "connected", "ended", "ended", "ended", "other", "other"]);
  });
});
