/** ThrottledStatus: at once when quiet, at most every interval when busy, the last one winning; on the monotonic clock. */
import assert from "node:assert/strict";
import sinon from "sinon";
import type { NodeStatus } from "node-red";
import { ThrottledStatus } from "../../nodes/status";

describe("ThrottledStatus", () => {
  let clock: sinon.SinonFakeTimers;
  let shown: string[];
  let status: ThrottledStatus;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.parse("2026-11-23T10:00:00Z"), toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    shown = [];
    status = new ThrottledStatus({ status: (s: NodeStatus) => shown.push(String(s.text)) }, 500);
  });
  afterEach(() => {
    status.clear();
    clock.restore();
  });

  it("shows the first status at once and the last of a burst one interval later", () => {
    status.show({ text: "a" });
    status.show({ text: "b" });
    status.show(() => ({ text: "c" }));
    assert.deepEqual(shown, ["a"]);
    clock.tick(499);
    assert.deepEqual(shown, ["a"]);
    clock.tick(1);
    assert.deepEqual(shown, ["a", "c"]);
  });

  it("keeps updating after the wall clock steps back an hour", () => {
    status.show({ text: "before" });
    clock.tick(600);
    clock.setSystemTime(Date.now() - 3_600_000); // NTP, a resumed VM, a Pi without a real-time clock
    status.show({ text: "after" });
    assert.deepEqual(shown, ["before", "after"], "at once: the last one was shown 600 ms ago");
    status.show({ text: "later" });
    clock.tick(500);
    assert.deepEqual(shown, ["before", "after", "later"]);
  });
});
