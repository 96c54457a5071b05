import assert from "node:assert/strict";
import sinon from "sinon";
import { CallStateTable } from "../../nodes/lib/poll/call-state-table";
import type { CallData } from "../../nodes/lib/client/types";

const leg = (uniqueCallId: string, status: string, extra: Partial<CallData> = {}): CallData => ({ uniqueCallId, status, ...extra });

describe("CallStateTable", () => {
  it("reports a change once, whatever the key order of the PBX", () => {
    const table = new CallStateTable();
    assert.equal(table.update("410", leg("1.1", "Ringing", { callerId: "400" }), 1), true);
    assert.equal(table.update("410", { callerId: "400", status: "Ringing", uniqueCallId: "1.1" }, 1), false);
    assert.equal(table.update("410", leg("1.1", "Connected", { callerId: "400" }), 1), true);
    // The same leg seen from another extension is another leg.
    assert.equal(table.update("400", leg("1.1", "Connected", { callerId: "400" }), 1), true);
  });

  it("lists active legs and forgets ended ones after their TTL", () => {
    let now = 0;
    const table = new CallStateTable({ now: () => now, endedTtlMs: 1000, idleTtlMs: 10_000 });
    table.update("410", leg("1.1", "Connected"), 1);
    table.update("410", leg("1.2", "Hungup"), 2);
    assert.deepEqual(table.activeLegs("410").map((l) => l.data.uniqueCallId), ["1.1"]);
    assert.equal(table.size, 2);
    now = 1000;
    assert.deepEqual(table.activeLegs("410").map((l) => l.data.uniqueCallId), ["1.1"]);
    assert.equal(table.size, 1, "the ended leg is forgotten");
    assert.equal(table.update("410", leg("1.2", "Hungup"), 2), true, "a forgotten leg counts as new");
    now = 20_000;
    table.update("411", leg("9.9", "Ringing"), 3);
    assert.equal(table.size, 1, "silent legs are forgotten after the idle TTL");
  });

  it("expires ended legs on the monotonic clock: a wall-clock step back an hour does not keep them for that hour", () => {
    const clock = sinon.useFakeTimers({ now: Date.parse("2026-11-23T10:00:00Z"), toFake: ["Date", "performance"] });
    try {
      for (const table of [new CallStateTable(), new CallStateTable({ now: undefined })]) {
        table.update("410", leg("1.1", "Hungup"), 1);
        clock.setSystemTime(Date.now() - 3_600_000);
        clock.tick(5 * 60_000);
        assert.equal(table.size, 1);
        assert.deepEqual(table.export(), [], "forgotten 5 min after it ended");
      }
    } finally {
      clock.restore();
    }
  });

  it("never holds more than maxLegs", () => {
    const table = new CallStateTable({ maxLegs: 100 });
    for (let i = 0; i < 1000; i++) table.update("410", leg(`1.${i}`, "Ringing"), i);
    assert.equal(table.size, 100);
    assert.equal(table.activeLegs("410")[0].data.uniqueCallId, "1.900", "the oldest legs went first");
  });

  it("retainOnly and forgetExtension drop legs of one extension only", () => {
    const table = new CallStateTable();
    table.update("410", leg("1.1", "Connected"), 1);
    table.update("410", leg("1.2", "Ringing"), 2);
    table.update("400", leg("1.3", "Ringing"), 3);
    table.retainOnly("410", new Set(["1.2"]));
    assert.deepEqual(table.activeLegs("410").map((l) => l.data.uniqueCallId), ["1.2"]);
    table.forgetExtension("410");
    assert.equal(table.activeLegs("410").length, 0);
    assert.equal(table.activeLegs("400").length, 1);
  });
});
