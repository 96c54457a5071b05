/**
 * WarningLimiter: one line per kind per interval, with the count of what was held back, on a monotonic clock.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { WarningLimiter } from "../../nodes/lib/poll/warning-limiter";

const MALFORMED = "malformed-entry";

describe("WarningLimiter", () => {
  let clock: sinon.SinonFakeTimers;
  let lines: string[];
  let limiter: WarningLimiter;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: new Date("2026-12-04T10:00:00Z") });
    lines = [];
    limiter = new WarningLimiter({ emit: (line) => lines.push(line) });
  });

  afterEach(() => {
    limiter.close();
    clock.restore();
  });

  const flood = (n: number, kind = MALFORMED, text = (i: number) => `ignored a malformed entry for extension ${410 + (i % 2)}`) => {
    for (let i = 0; i < n; i++) limiter.warn(kind, text(i));
  };

  it("passes the first warning at once and then one line a minute with the count held back", () => {
    flood(38);
    assert.deepEqual(lines, ["ignored a malformed entry for extension 410"]);
    clock.tick(59_999);
    assert.equal(lines.length, 1, "nothing more inside the minute");
    clock.tick(1);
    assert.deepEqual(lines.slice(1), ["ignored a malformed entry for extension 411 (and 36 more like it in the last minute)"]);
    flood(5);
    clock.tick(60_000);
    assert.deepEqual(lines.slice(2), ["ignored a malformed entry for extension 410 (and 4 more like it in the last minute)"]);
  });

  it("keeps kinds apart", () => {
    flood(3, "a", () => "A");
    flood(3, "b", () => "B");
    assert.deepEqual(lines, ["A", "B"]);
    clock.tick(60_000);
    assert.deepEqual(lines.slice(2).sort(), ["A (and 1 more like it in the last minute)", "B (and 1 more like it in the last minute)"]);
  });

  it("does not lose a held-back count when the flood stops, and then leaves no timer running", () => {
    flood(2);
    assert.equal(clock.countTimers(), 1);
    clock.tick(60_000);
    assert.deepEqual(lines, ["ignored a malformed entry for extension 410", "ignored a malformed entry for extension 411"]);
    assert.equal(clock.countTimers(), 1, "the window after a count stays open for one more interval");
    clock.tick(60_000);
    assert.equal(clock.countTimers(), 0, "a quiet window closes, and its timer with it");
    limiter.warn(MALFORMED, "again");
    assert.equal(lines.at(-1), "again", "after a quiet minute the next warning passes at once");
  });

  it("close() passes on what is held and clears its timer; a warning after it starts afresh", () => {
    flood(4);
    limiter.close();
    assert.equal(clock.countTimers(), 0);
    assert.deepEqual(lines.slice(1), ["ignored a malformed entry for extension 411 (and 2 more like it in the last minute)"]);
    limiter.close();
    assert.equal(lines.length, 2, "a second close() has nothing to say");
    flood(3, MALFORMED, (i) => `restarted ${i}`);
    assert.deepEqual(lines.slice(2), ["restarted 0"], "once started again, it limits again");
    limiter.close();
    assert.deepEqual(lines.slice(3), ["restarted 2 (and 1 more like it in the last minute)"]);
    assert.equal(clock.countTimers(), 0);
  });

  it("measures on the monotonic clock: a wall clock stepped back or forward changes nothing", () => {
    flood(3);
    clock.setSystemTime(new Date("2026-12-04T09:00:00Z")); // back an hour
    clock.tick(30_000);
    flood(1);
    assert.equal(lines.length, 1, "still inside the minute");
    clock.tick(30_000);
    assert.equal(lines.length, 2, "the minute ended on time");
    clock.setSystemTime(new Date("2026-12-04T12:00:00Z")); // forward
    flood(1);
    assert.equal(lines.length, 2, "a wall clock jump does not end the window");
  });

  it("uses an injected clock and interval, and its own summary text", () => {
    let now = 1000;
    const own: string[] = [];
    const custom = new WarningLimiter({
      emit: (line) => own.push(line),
      intervalMs: 5_000,
      now: () => now,
      summarise: (latest, held, intervalMs) => `${latest} x${held} per ${intervalMs}`,
    });
    try {
      custom.warn("k", "one");
      custom.warn("k", "two");
      custom.warn("k", "three");
      now += 5_000; // the window is over even before its timer runs (a late timer)
      custom.warn("k", "four");
      assert.deepEqual(own, ["one", "three x2 per 5000"]);
    } finally {
      custom.close();
    }
    assert.deepEqual(own, ["one", "three x2 per 5000", "four x1 per 5000"], "close() passes on the one held back");
  });

  it("words other intervals", () => {
    const own: string[] = [];
    const five = new WarningLimiter({ emit: (line) => own.push(line), intervalMs: 300_000 });
    const short = new WarningLimiter({ emit: (line) => own.push(line), intervalMs: 10_000 });
    for (const l of [five, short]) for (let i = 0; i < 3; i++) l.warn("k", "w");
    five.close();
    short.close();
    assert.deepEqual(own, ["w", "w", "w (and 1 more like it in the last 5 minutes)", "w (and 1 more like it in the last 10 s)"]);
  });
});
