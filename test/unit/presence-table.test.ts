/**
 * The presence rules alone: every transition, overlapping calls, current-state reads (restarts), unknown statuses,
 * staleness, and a property against a tiny reference model.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { PresenceChange, PresenceState, PresenceTable, roleOf, stateOf } from "../../nodes/lib/presence/presence-table";

let clock = 0;
function table(extensions = ["410"], staleMs?: number): PresenceTable {
  clock = 1_000_000;
  return new PresenceTable(extensions, { now: () => clock, monotonic: () => clock, staleMs });
}

function ev(uniqueCallId: string, status: string, extra: Record<string, unknown> = {}, extension = "410"): CallEvent {
  return { extension, data: { uniqueCallId, status, callerId: "0299990000", inbound: true, callStartTime: "", ...extra } as CallEvent["data"], callId: 1, seq: 5, initial: false, eventId: `${extension}-${uniqueCallId}-${status}` };
}

const state = (c: PresenceChange | undefined) => c && { state: c.presence.state, previous: c.presence.previous, changed: c.stateChanged, n: c.presence.calls.length };

describe("PresenceTable", () => {
  it("says nothing before the first current state, then one initial change, idle included", () => {
    const t = table(["410", "400"]);
    assert.equal(t.observe(ev("1", "Ringing")), undefined, "events before the first read only update the calls");
    const first = t.setCurrent("410", [ev("1", "Ringing")]);
    assert.deepEqual(state(first), { state: "ringing", previous: null, changed: true, n: 1 });
    assert.equal(first?.initial, true);
    const idle = t.setCurrent("400", []);
    assert.deepEqual(state(idle), { state: "idle", previous: null, changed: true, n: 0 });
    assert.equal(idle?.initial, true);
    assert.equal(t.get("400")?.unknown, false);
    assert.equal(t.setCurrent("400", []), undefined, "a second read that changes nothing says nothing");
  });

  it("follows inbound and outbound calls through every status", () => {
    const t = table();
    t.setCurrent("410", []);
    assert.deepEqual(state(t.observe(ev("1", "Ringing"))), { state: "ringing", previous: "idle", changed: true, n: 1 });
    assert.deepEqual(state(t.observe(ev("1", "Connected"))), { state: "on a call", previous: "ringing", changed: true, n: 1 });
    assert.deepEqual(state(t.observe(ev("1", "Unlinked"))), { state: "on a call", previous: "ringing", changed: false, n: 1 });
    assert.deepEqual(state(t.observe(ev("1", "Hungup"))), { state: "idle", previous: "on a call", changed: true, n: 0 });
    assert.equal(t.observe(ev("1", "Hungup")), undefined, "a repeated end of a leg already gone is no change");
    assert.deepEqual(state(t.observe(ev("2", "Dialing Out", { inbound: false }))), { state: "dialing", previous: "idle", changed: true, n: 1 });
    assert.deepEqual(state(t.observe(ev("2", "Busy", { inbound: false }))), { state: "idle", previous: "dialing", changed: true, n: 0 });
    t.observe(ev("3", "Ringing"));
    assert.deepEqual(state(t.observe(ev("3", "No Answer"))), { state: "idle", previous: "ringing", changed: true, n: 0 });
  });

  it("since moves only with the state", () => {
    const t = table();
    t.setCurrent("410", []);
    clock += 1000;
    t.observe(ev("1", "Connected"));
    const since = t.get("410")?.since;
    assert.equal(since, clock);
    clock += 1000;
    t.observe(ev("2", "Ringing"));
    assert.equal(t.get("410")?.since, since, "a second call ringing during a call is no change of state");
  });

  it("overlap: on a call beats ringing beats dialing, and the end of one of two calls leaves the other's state", () => {
    const t = table();
    t.setCurrent("410", []);
    t.observe(ev("a", "Dialing Out", { inbound: false }));
    assert.equal(t.observe(ev("b", "Ringing"))?.presence.state, "ringing", "ringing beats dialing");
    assert.equal(t.observe(ev("a", "Connected", { inbound: false }))?.presence.state, "on a call");
    const second = t.observe(ev("b", "Ringing", { callerId: "other" }));
    assert.deepEqual(state(second), { state: "on a call", previous: "ringing", changed: false, n: 2 });
    assert.deepEqual(state(t.observe(ev("b", "Hungup"))), { state: "on a call", previous: "ringing", changed: false, n: 1 });
    t.observe(ev("c", "Connected"));
    assert.deepEqual(state(t.observe(ev("a", "Hungup"))), { state: "on a call", previous: "ringing", changed: false, n: 1 }, "the second of two connected calls keeps it on a call");
    assert.deepEqual(state(t.observe(ev("c", "Hungup"))), { state: "idle", previous: "on a call", changed: true, n: 0 });
  });

  it("a current-state read ends the calls it no longer lists (a PBX restart) and adds the ones it lists", () => {
    const t = table();
    t.setCurrent("410", [ev("1", "Connected"), ev("2", "Ringing")]);
    assert.deepEqual(state(t.setCurrent("410", [ev("2", "Ringing")])), { state: "ringing", previous: "on a call", changed: true, n: 1 });
    assert.deepEqual(state(t.setCurrent("410", [])), { state: "idle", previous: "ringing", changed: true, n: 0 });
    assert.deepEqual(state(t.setCurrent("410", [ev("9", "Dialing Out", { inbound: false })])), { state: "dialing", previous: "idle", changed: true, n: 1 });
    assert.equal(t.setCurrent("410", [ev("9", "Dialing Out", { inbound: false })]), undefined);
  });

  it("maps unknown statuses by the call's other fields, and never leaves an extension stuck", () => {
    assert.equal(roleOf(ev("1", "Parked"), false), "ringing");
    assert.equal(roleOf(ev("1", "Parked", { inbound: false }), false), "dialing");
    assert.equal(roleOf(ev("1", "Parked"), true), "connected", "a call connected before stays connected");
    assert.equal(roleOf(ev("1", "On Hold", { callStartTime: "2026/11/23 10:00:00" }), false), "connected");
    const t = table(["410"], 60_000);
    t.setCurrent("410", []);
    t.observe(ev("1", "Connected"));
    assert.equal(t.observe(ev("1", "Transferring Somewhere"))?.presence.state, "on a call");
    assert.deepEqual(state(t.observe(ev("1", "Hungup"))), { state: "idle", previous: "on a call", changed: true, n: 0 }, "an ending status ends it");
    t.observe(ev("2", "Mystery"));
    assert.equal(t.get("410")?.state, "ringing");
    assert.equal(t.setCurrent("410", [])?.presence.state, "idle", "a read that no longer lists it ends it");
    t.observe(ev("3", "Mystery"));
    clock += 59_999;
    assert.deepEqual(t.expire(), []);
    clock += 1;
    const expired = t.expire();
    assert.deepEqual(expired.map(state), [{ state: "idle", previous: "ringing", changed: true, n: 0 }], "a silent leg expires");
    t.observe(ev("4", "Connected"));
    clock += 50_000;
    t.setCurrent("410", [ev("4", "Connected")]);
    clock += 50_000;
    assert.deepEqual(t.expire(), [], "a leg a read lists is not silent");
  });

  it("watch: new extensions start unknown, dropped ones are forgotten, events for others are ignored", () => {
    const t = table(["410"]);
    t.setCurrent("410", [ev("1", "Connected")]);
    t.watch(["410", "400"]);
    assert.equal(t.get("400")?.unknown, true);
    assert.equal(t.get("410")?.state, "on a call");
    t.watch(["400"]);
    assert.equal(t.get("410"), undefined);
    assert.equal(t.observe(ev("1", "Hungup")), undefined);
    assert.equal(t.setCurrent("410", []), undefined);
    assert.deepEqual(t.extensions, ["400"]);
  });

  it("stateOf follows the precedence", () => {
    assert.equal(stateOf([]), "idle");
    assert.equal(stateOf(["dialing"]), "dialing");
    assert.equal(stateOf(["dialing", "ringing"]), "ringing");
    assert.equal(stateOf(["ringing", "connected", "dialing"]), "on a call");
  });

  it("property: after any sequence of events and reads, the state is the reference model's", () => {
    const statuses = ["Ringing", "Dialing Out", "Connected", "Unlinked", "Busy", "No Answer", "Hungup", "Parked", "On Hold"];
    const step = fc.oneof(
      fc.record({ kind: fc.constant("event" as const), leg: fc.integer({ min: 0, max: 3 }), status: fc.constantFrom(...statuses), inbound: fc.boolean() }),
      fc.record({ kind: fc.constant("read" as const), keep: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const t = table();
        t.setCurrent("410", []);
        // Reference: leg → [status, inbound, connected before]
        const model = new Map<number, { status: string; inbound: boolean; was: boolean }>();
        let sent: PresenceState = "idle";
        const refRole = (l: { status: string; inbound: boolean; was: boolean }): string | undefined => {
          if (["Busy", "No Answer", "Hungup"].includes(l.status)) return undefined;
          if (l.status === "Connected" || l.status === "Unlinked") return "on a call";
          if (l.status === "Ringing") return "ringing";
          if (l.status === "Dialing Out") return "dialing";
          if (l.was) return "on a call"; // an unknown status after a connection
          return l.inbound ? "ringing" : "dialing";
        };
        const refState = (): PresenceState => {
          const roles = [...model.values()].map(refRole);
          for (const s of ["on a call", "ringing", "dialing"] as const) if (roles.includes(s)) return s;
          return "idle";
        };
        for (const s of steps) {
          let change: PresenceChange | undefined;
          if (s.kind === "event") {
            const old = model.get(s.leg);
            const next = { status: s.status, inbound: s.inbound, was: (old?.was ?? false) || s.status === "Connected" || s.status === "Unlinked" || (old !== undefined && refRole(old) === "on a call") };
            if (refRole(next) === undefined) model.delete(s.leg);
            else model.set(s.leg, next);
            change = t.observe(ev(String(s.leg), s.status, { inbound: s.inbound }));
          } else {
            for (const leg of [...model.keys()]) if (!s.keep[leg]) model.delete(leg);
            const listed = t.get("410")?.calls.filter((c) => s.keep[Number(c.data.uniqueCallId)]) ?? [];
            change = t.setCurrent("410", listed);
          }
          const expected = refState();
          assert.equal(t.get("410")?.state, expected);
          assert.equal(t.get("410")?.calls.length, model.size);
          if (change?.stateChanged) {
            assert.notEqual(change.presence.state, sent, "a change msg always changes the state");
            sent = change.presence.state;
          }
          assert.equal(sent, expected, "the msgs sent always end at the current state");
        }
      }),
      { numRuns: 500 },
    );
  });
});
