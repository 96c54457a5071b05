import assert from "node:assert/strict";
import sinon from "sinon";
import { CallStateTable, eventIdOf, SavedLeg } from "../../nodes/lib/poll/call-state-table";
import { checkSaved, parseContent, serialisePosition } from "../../nodes/lib/poll/position-format";
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

describe("CallStateTable: the id of each change (msg.payload.eventId)", () => {
  const ringing = leg("1.1", "Ringing", { callerId: "400", callStartTime: "" });
  const connected = leg("1.1", "Connected", { callerId: "400", callStartTime: "2026/12/06 10:00:00" });
  const unlinked = leg("1.1", "Unlinked", { callerId: "400", callStartTime: "2026/12/06 10:00:00" });
  const hungup = leg("1.1", "Hungup", { callerId: "400", callStartTime: "2026/12/06 10:00:00" });
  /** A leg that leaves a state and comes back to it: Connected twice, the same state, two changes. */
  const history = [ringing, connected, unlinked, connected, hungup];
  /** A copy of the states, through JSON as a position stores them. */
  const saved = (table: CallStateTable): SavedLeg[] => JSON.parse(JSON.stringify(table.export())) as SavedLeg[];

  it("is the same for the same change, another for each other change (a leg back in an earlier state too), the same in any process", () => {
    const table = new CallStateTable();
    const ids = history.map((data) => table.change("410", { ...data }, 1));
    assert.equal(table.change("410", { ...hungup }, 1), undefined, "a repeat is no change");
    assert.ok(ids.every((id) => typeof id === "string" && /^[A-Za-z0-9_-]{22}$/.test(id)), String(ids));
    assert.equal(new Set(ids).size, ids.length, "five changes, five ids");
    assert.notEqual(new CallStateTable().change("400", { ...ringing }, 1), ids[0], "the same call seen from another extension");
    assert.deepEqual(ids, [eventIdOf("410", ringing), eventIdOf("410", connected), eventIdOf("410", unlinked),
      eventIdOf("410", connected, 2), eventIdOf("410", hungup)]);
    assert.deepEqual(history.map((data) => new CallStateTable().change("410", { ...data }, 9) === eventIdOf("410", data)), [true, true, true, true, true],
      "another table (another process) computes the same ids; the PBX's CallID is not part of them");
    // Fixed for good: a position saved by one version and resumed by the next must give the ids the first gave.
    assert.equal(eventIdOf("410", { uniqueCallId: "1712650652.512", status: "Ringing", callerId: "0355501234" }), "GR8sz9lcILw1qZmjejA3IA");
  });

  it("restored from an older saved position, gives each change sent again the id it had the first time", () => {
    const first = new CallStateTable();
    const ids: Array<string | undefined> = [];
    const positions: SavedLeg[][] = [];
    for (const data of history) {
      ids.push(first.change("410", { ...data }, 1));
      positions.push(saved(first));
    }
    // A crash after any change, restarted from the position saved after an earlier one: everything since comes again.
    for (let at = 0; at < history.length; at++) {
      const next = new CallStateTable();
      next.restore(positions[at]);
      assert.equal(next.eventId("410", "1.1"), ids[at], `restored after change ${at}`);
      assert.deepEqual(history.slice(at + 1).map((data) => next.change("410", { ...data }, 1)), ids.slice(at + 1), `sent again from change ${at}`);
    }
    // As a PBX that lists only each leg's latest state answers: from the position after the first Connected, the
    // Hungup alone; from the one after Unlinked, the second Connected alone.
    const latest = new CallStateTable();
    latest.restore(positions[1]);
    assert.equal(latest.change("410", { ...hungup }, 1), ids[4]);
    const back = new CallStateTable();
    back.restore(positions[2]);
    assert.equal(back.change("410", { ...connected }, 1), ids[3], "the second Connected, not the first");
  });

  it("saves the counts only for legs that were in a state more than once; a position without them (1.1.0) still loads", () => {
    const table = new CallStateTable();
    for (const data of history.slice(0, 4)) table.change("410", { ...data }, 1);
    table.change("410", { ...ringing, uniqueCallId: "2.1" }, 2);
    const legs = saved(table);
    assert.equal(legs.find((l) => l.data.uniqueCallId === "2.1")?.occurrences, undefined);
    assert.deepEqual(Object.values(legs.find((l) => l.data.uniqueCallId === "1.1")?.occurrences ?? {}).sort(), [1, 1, 2]);
    const owner = { host: "https://pbx.example.com:443", authMode: "apiKey" };
    const text = serialisePosition({ polls: [{ seq: 5, extensions: ["410"], fences: {} }], legs }, owner, Date.now(), 1_000_000);
    const loaded = checkSaved(JSON.parse(text), owner, 60_000, Date.now());
    assert.deepEqual(loaded.position?.legs, legs, "read back as written");
    const old = JSON.parse(text) as { legs: Array<Record<string, unknown>> };
    for (const l of old.legs) delete l.occurrences;
    const restored = new CallStateTable();
    restored.restore(parseContent(old).legs);
    assert.equal(restored.eventId("410", "2.1"), eventIdOf("410", { ...ringing, uniqueCallId: "2.1" }), "a leg of an old position: once in its state");
    assert.equal(restored.change("410", { ...hungup }, 1), eventIdOf("410", hungup));
    for (const bad of [{ a: 0 }, { a: 1.5 }, { a: "1" }, [1]]) {
      const damaged = JSON.parse(text) as { legs: Array<Record<string, unknown>> };
      damaged.legs[0].occurrences = bad;
      assert.throws(() => parseContent(damaged), /occurrences/, JSON.stringify(bad));
    }
  });

  it("a leg forgotten for a new read goes out again: the same id in the same state, the next occurrence in an earlier one", () => {
    const table = new CallStateTable();
    const ids = [ringing, connected].map((data) => table.change("410", { ...data }, 1));
    assert.deepEqual(table.activeLegs("410").map((l) => l.eventId), [ids[1]], "a replay to a new listener carries the id");
    table.forgetExtension("410");
    assert.deepEqual([table.knows("410", "1.1"), table.activeLegs("410"), table.export()], [false, [], []], "forgotten");
    assert.equal(table.change("410", { ...connected }, 1), ids[1], "read again as it was: the change that led there");
    table.forgetExtension("410");
    assert.equal(table.change("410", { ...ringing }, 1), eventIdOf("410", ringing, 2), "read again in an earlier state: a new change");
  });

  it("a leg's end has one eventId whatever its fields: the PBX's Hungup and one made up from its last state share it", () => {
    const table = new CallStateTable();
    const real = table.change("410", { uniqueCallId: "9.1", status: "Hungup", hangupCause: "NO_ANSWER" }, 1);
    const other = new CallStateTable();
    other.change("410", { uniqueCallId: "9.1", status: "Ringing" }, 1);
    const madeUp = other.change("410", { uniqueCallId: "9.1", status: "Hungup" }, 1);
    assert.ok(real !== undefined && real === madeUp);
    assert.equal(eventIdOf("410", { uniqueCallId: "9.1", status: "Hungup", step: 7 }), real);
    assert.notEqual(eventIdOf("411", { uniqueCallId: "9.1", status: "Hungup" }), real, "another extension's leg");
  });
});
