/**
 * Regression tests for sequences that broke 1.0.0 (issue 15): a green dot with no poll after a node's extensions were
 * emptied and filled again, replayed and out-of-order states after an add on a busy PBX, two runs of one loop after a
 * stop and a start, a shared status left red by a chunk that was removed. Against a small in-memory PBX that lists
 * either every change or each changed call's latest state; the model-based tests in test/model search for more.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { CallEvent, LoopStatus, PollLoop, SubscribeApi } from "../../nodes/lib/poll/poll-loop";
import { HubPosition, type HubStatus, Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import type { SubscribeResponse } from "../../nodes/lib/client/types";
import { answer, entry, ScriptedApi } from "./scripted-api";

type Style = "every" | "latest";
interface Change { seq: number; extension: string; uniqueCallId: string; status: string }
interface Held { extensions: string[]; last: number; resolve: (r: SubscribeResponse) => void; reject: (e: unknown) => void }

/**
 * One global counter moved by every change; held polls answered as soon as they have entries. `busy` makes another
 * extension change right after every answer, so the counter is always ahead of what a client was last told.
 */
class BusyPbx implements SubscribeApi {
  seq = 100;
  readonly log: Change[] = [];
  readonly held: Held[] = [];
  readonly requests: Array<{ extensions: string[]; last: number; timeOut: number }> = [];
  failFor = new Set<string>();
  busy = true;

  constructor(private readonly style: Style, private readonly budget = Infinity) {}

  subscribeExtenBudget(): number {
    return this.budget;
  }

  subscribe(extensions: readonly string[], last: number, timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    const exts = [...extensions];
    this.requests.push({ extensions: exts, last, timeOut });
    if (exts.some((e) => this.failFor.has(e))) return Promise.reject(new NoojeeError("http", "HTTP 500"));
    const ready = last === 0 ? this.current(exts) : this.since(exts, last) ?? (timeOut === 0 ? this.answer({}) : undefined);
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const poll: Held = { extensions: exts, last, resolve, reject };
      this.held.push(poll);
      signal?.addEventListener("abort", () => {
        this.held.splice(this.held.indexOf(poll), 1);
        reject(new NoojeeError("aborted", "request cancelled"));
      });
    });
  }

  change(extension: string, uniqueCallId: string, status: string): void {
    this.seq += 1;
    this.log.push({ seq: this.seq, extension, uniqueCallId, status });
    for (const poll of [...this.held]) {
      const answer = this.since(poll.extensions, poll.last);
      if (!answer) continue;
      this.held.splice(this.held.indexOf(poll), 1);
      poll.resolve(answer);
    }
  }

  heldFor(extension: string): number {
    return this.held.filter((p) => p.extensions.includes(extension)).length;
  }

  private answer(data: SubscribeResponse["Data"]): SubscribeResponse {
    const response = { Code: 0, seq: this.seq, Data: data };
    if (this.busy) {
      this.seq += 1; // someone else's call moves the counter on
      this.log.push({ seq: this.seq, extension: "999", uniqueCallId: `o${this.seq}`, status: "Ringing" });
    }
    return response;
  }

  private current(extensions: string[]): SubscribeResponse {
    const latest = new Map<string, Change>();
    for (const c of this.log) if (extensions.includes(c.extension)) latest.set(`${c.extension}/${c.uniqueCallId}`, c);
    const data: Record<string, Array<{ CallData: { uniqueCallId: string; status: string } }>> = {};
    for (const c of latest.values()) {
      if (c.status !== "Hungup") (data[c.extension] ??= []).push({ CallData: { uniqueCallId: c.uniqueCallId, status: c.status } });
    }
    return this.answer(data);
  }

  private since(extensions: string[], last: number): SubscribeResponse | undefined {
    let changes = this.log.filter((c) => c.seq > last && extensions.includes(c.extension));
    if (changes.length === 0) return undefined;
    if (this.style === "latest") {
      const latest = new Map<string, Change>();
      for (const c of changes) latest.set(`${c.extension}/${c.uniqueCallId}`, c);
      changes = [...latest.values()].sort((a, b) => a.seq - b.seq);
    }
    const data: Record<string, Array<{ CallData: { uniqueCallId: string; status: string } }>> = {};
    for (const c of changes) (data[c.extension] ??= []).push({ CallData: { uniqueCallId: c.uniqueCallId, status: c.status } });
    return this.answer(data);
  }
}

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[]; statuses: HubStatus[] } {
  const events: CallEvent[] = [];
  const statuses: HubStatus[] = [];
  return { extensions, timeoutSec: 30, events, statuses, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) };
}

const describeEvents = (events: CallEvent[]) => events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);

async function settle(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

describe("Sequences that broke 1.0.0", () => {
  describe("every watched extension is polled", () => {
    it("after a node's extensions are all removed by msg and one is added back", async () => {
      const pbx = new BusyPbx("every");
      const hub = new SubscriptionHub(pbx);
      const s = subscriber(["410"]);
      hub.register("s", s);
      await settle(() => pbx.heldFor("410") === 1, "410 polled");
      hub.updateExtensions("s", []);
      await settle(() => pbx.held.length === 0, "nothing polled");
      hub.updateExtensions("s", ["410"]);
      await settle(() => pbx.heldFor("410") === 1, "410 polled again");
      pbx.change("410", "c1", "Ringing");
      await settle(() => s.events.length === 1, "the call");
      assert.deepEqual(describeEvents(s.events), ["410:c1:Ringing:false"]);
      assert.equal(s.statuses.at(-1)?.state, "listening");
      await hub.close();
    });

    it("for a node that starts with no extensions and adds one", async () => {
      const pbx = new BusyPbx("every");
      const hub = new SubscriptionHub(pbx);
      const s = subscriber([]);
      hub.register("s", s);
      hub.updateExtensions("s", ["410"]);
      await settle(() => pbx.heldFor("410") === 1, "410 polled");
      pbx.change("410", "c1", "Ringing");
      await settle(() => s.events.length === 1, "the call");
      assert.equal(s.statuses.at(-1)?.state, "listening");
      await hub.close();
    });

    it("when an add overflows into a new chunk", async () => {
      const pbx = new BusyPbx("every", 9); // two 3-digit extensions per chunk (3 + 3 for "%2C" + 3)
      const hub = new SubscriptionHub(pbx);
      const s = subscriber(["400", "401"]);
      hub.register("s", s);
      await settle(() => pbx.held.length === 1, "one poll");
      hub.updateExtensions("s", ["400", "401", "402"]);
      assert.equal(hub.pollLoops.length, 2);
      await settle(() => pbx.heldFor("402") === 1 && pbx.held.length === 2, "the new chunk polls");
      pbx.change("402", "c1", "Ringing");
      await settle(() => s.events.length === 1, "the call");
      await hub.close();
    });
  });

  for (const style of ["every", "latest"] as const) {
    describe(`a PBX that lists ${style === "every" ? "every change" : "each changed call's latest state"}`, () => {
      it("adding an extension with a call in progress gives its state once, then only later changes", async () => {
        const pbx = new BusyPbx(style);
        const hub = new SubscriptionHub(pbx);
        const s = subscriber(["400"]);
        hub.register("s", s);
        await settle(() => pbx.heldFor("400") === 1, "400 polled");
        pbx.change("410", "c1", "Ringing");
        pbx.change("410", "c1", "Connected");
        hub.updateExtensions("s", ["400", "410"]);
        await settle(() => pbx.heldFor("410") === 1 && pbx.held.length === 1, "one poll for both");
        pbx.change("410", "c1", "Hungup");
        await settle(() => s.events.length === 2, "the hang-up");
        assert.deepEqual(describeEvents(s.events), ["410:c1:Connected:true", "410:c1:Hungup:false"]);
        await hub.close();
      });

      it("an extension a resumed position does not cover (a store that had not flushed it) gets what changed since, and its calls in progress", async () => {
        const pbx = new BusyPbx(style);
        pbx.change("410", "c0", "Ringing");
        pbx.change("400", "a1", "Ringing");
        const saved = pbx.seq;
        pbx.change("410", "c1", "Ringing");
        pbx.change("400", "a1", "Connected"); // while Node-RED was down
        pbx.change("410", "c1", "Connected");
        const hub = new SubscriptionHub(pbx, {
          position: { polls: [{ seq: saved, extensions: ["400"], fences: {} }], legs: [{ extension: "400", data: { uniqueCallId: "a1", status: "Ringing" } as never, callId: undefined }] },
        });
        const s = subscriber(["400", "410"]);
        hub.register("s", s);
        await settle(() => pbx.held.length === 1 && pbx.heldFor("410") === 1, "one poll for both");
        pbx.change("410", "c1", "Hungup");
        pbx.change("410", "c0", "Connected");
        pbx.change("400", "a1", "Hungup");
        const since = style === "every" ? ["410:c1:Ringing:false", "410:c1:Connected:false"] : ["410:c1:Connected:false"];
        await settle(() => s.events.length === since.length + 5, "the hang-ups");
        const of = (extension: string) => describeEvents(s.events.filter((e) => e.extension === extension));
        assert.deepEqual(of("410"), [...since, "410:c0:Ringing:true", "410:c1:Hungup:false", "410:c0:Connected:false"]);
        assert.deepEqual(of("400"), ["400:a1:Connected:false", "400:a1:Hungup:false"]);
        await hub.close();
      });
    });
  }

  it("a node that joins while a PBX restart is resynchronised gets the calls the other nodes have (found by the soak)", async () => {
    const api = new ScriptedApi();
    const hub = new SubscriptionHub(api);
    const a = subscriber(["410"]);
    hub.register("a", a);
    (await api.call(0)).resolve(answer(5, { "410": [entry("1.1", "Ringing")] }));
    (await api.call(1)).resolve(answer(2)); // the counter went back: the PBX restarted, resynchronise
    const resync = await api.call(2);
    assert.deepEqual([resync.last, resync.timeOut], [0, 0]);
    const b = subscriber(["410"]); // a deploy brings another node for 410 meanwhile
    hub.register("b", b);
    resync.resolve(answer(3, { "410": [entry("1.1", "Ringing")] })); // the call survived: nothing new to send
    await api.call(3);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(b.events), ["410:1.1:Ringing:true"]);
    assert.deepEqual(describeEvents(a.events), ["410:1.1:Ringing:true"], "a is not sent it again");
    await hub.close();
  });

  describe("found by the model-based tests", () => {
    it("a node that watches an extension again after a restart gets its current state", async () => {
      const pbx = new BusyPbx("every");
      let stored: HubPosition | undefined;
      const store = { save: (capture: () => HubPosition | undefined) => (stored = capture() ?? stored) };
      const hub = new SubscriptionHub(pbx, { store });
      const s = subscriber(["405"]);
      hub.register("s", s);
      await settle(() => pbx.heldFor("405") === 1, "405 polled");
      pbx.change("405", "c1", "Ringing");
      await settle(() => s.events.length === 1 && pbx.heldFor("405") === 1, "the call");
      assert.deepEqual(stored?.polls.map((p) => p.extensions), [["405"]]);
      hub.updateExtensions("s", []); // by msg, not kept across restarts
      assert.deepEqual(stored?.polls.map((p) => p.extensions), [[]], "the stored position no longer carries 405 (its cursor stays)");
      await hub.close();
      // Node-RED restarts: the node watches 405 again (its configured list).
      const next = new SubscriptionHub(pbx, { position: stored });
      const again = subscriber(["405"]);
      next.register("s", again);
      await settle(() => again.events.length === 1, "the current state");
      assert.deepEqual(describeEvents(again.events), ["405:c1:Ringing:true"]);
      await next.close();
    });

    it("extensions watched when the flows have started still resume, though their loops had not asked yet", async () => {
      const pbx = new BusyPbx("every");
      pbx.change("410", "a1", "Ringing");
      const saved = pbx.seq;
      pbx.change("410", "a1", "Hungup"); // while Node-RED was down
      const hub = new SubscriptionHub(pbx, {
        position: { polls: [{ seq: saved, extensions: ["400", "410"], fences: {} }], legs: [{ extension: "410", data: { uniqueCallId: "a1", status: "Ringing" } as never, callId: undefined }] },
      });
      const a = subscriber(["400"]);
      const b = subscriber(["410"]);
      hub.register("a", a);
      hub.register("b", b);
      hub.releaseLingering(); // Node-RED's flows:started, before the loop's next turn
      await settle(() => b.events.length === 1, "the hang-up made while down");
      assert.deepEqual(describeEvents(b.events), ["410:a1:Hungup:false"]);
      assert.ok(pbx.requests.some((r) => r.extensions.includes("410") && r.last === saved), "410 carried on from the saved seq");
      await hub.close();
    });

    it("after a restart check whose seq did not go back, calls that disagree with its read mean a restart", async () => {
      const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
      try {
        const api = new ScriptedApi();
        const events: CallEvent[] = [];
        const warnings: string[] = [];
        const loop = new PollLoop({ api, timeoutSec: 30, random: () => 0, onEvents: (e) => events.push(...e), onStatus: () => undefined, onWarning: (w) => warnings.push(w) });
        loop.setExtensions(["402"]);
        loop.start();
        (await api.call(0)).resolve(answer(5, { "402": [entry("1.1", "Ringing")] }));
        (await api.call(1)).reject(new NoojeeError("timeout", "no answer within 40 s")); // a hung poll
        await clock.tickAsync(1000);
        // The PBX restarted meanwhile and its counter is past ours again: the seq alone cannot tell.
        const check = await api.call(2);
        assert.deepEqual([check.last, check.timeOut], [0, 0]);
        check.resolve(answer(6, { "402": [entry("2.2", "Ringing")] }));
        const quick = await api.call(3);
        assert.deepEqual([quick.last, quick.timeOut], [5, 0], "the next poll catches up at once");
        quick.resolve(answer(6)); // nothing since 5: yet the read lists a call no poll reported, and not 1.1
        // Resynchronised from that read (nothing changed since it): no second read, no gap.
        const next = await api.call(4);
        assert.deepEqual([next.last, next.timeOut], [6, 30]);
        assert.deepEqual(events.map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.initial}`), ["1.1:Ringing:true", "2.2:Ringing:false", "1.1:Hungup:false"]);
        assert.equal(events[2].vanished, true, "1.1's end is made up: the PBX no longer lists it");
        assert.match(warnings.join("\n"), /differ from what its polls reported/);
        assert.deepEqual(loop.table.activeLegs("402").map((l) => l.data.uniqueCallId), ["2.2"], "1.1 died with the restart");
        await loop.stop();
      } finally {
        clock.restore();
      }
    });
  });

  it("a start while a stop is in progress leaves one run and one poll", async () => {
    const pbx = new BusyPbx("every");
    const statuses: LoopStatus[] = [];
    const loop = new PollLoop({ api: pbx, timeoutSec: 30, onEvents: () => undefined, onStatus: (s) => statuses.push(s) });
    loop.setExtensions(["410"]);
    loop.start();
    await settle(() => pbx.held.length === 1, "held");
    const stopping = loop.stop();
    loop.start();
    await stopping;
    await settle(() => pbx.held.length === 1, "held again");
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(pbx.held.length, 1, "one poll");
    assert.ok(statuses.every((s) => s.state !== "failing"), "the cut poll is no failure");
    const before = pbx.requests.length;
    pbx.change("410", "c1", "Ringing");
    await settle(() => pbx.held.length === 1 && pbx.requests.length > before, "polled on");
    assert.equal(pbx.requests.length, before + 1, "one loop asks again, not two");
    await loop.stop();
    assert.equal(pbx.held.length, 0);
  });

  it("a failing chunk that is removed no longer holds the shared status red", async () => {
    const pbx = new BusyPbx("every", 9);
    const hub = new SubscriptionHub(pbx, { backoff: { initialMs: 5, maxMs: 5, jitter: 0 } });
    const s = subscriber(["400", "401", "500"]);
    hub.register("s", s);
    await settle(() => pbx.held.length === 2, "two chunks polled");
    pbx.failFor.add("500");
    pbx.change("500", "x", "Ringing");
    await settle(() => s.statuses.at(-1)?.state === "failing", "failing");
    hub.updateExtensions("s", ["400", "401"]);
    await settle(() => s.statuses.at(-1)?.state === "listening", "listening");
    assert.equal(hub.pollLoops.length, 1);
    await hub.close();
  });
});
