/**
 * The hub alone: one loop for many subscribers, dispatch by extension, replay of the current state to newcomers.
 */
import assert from "node:assert/strict";
import { NoojeeError } from "../../nodes/lib/client/errors";
import type { CallEvent, SubscribeApi } from "../../nodes/lib/poll/poll-loop";
import { extenBytes, type HubPosition, type HubStatus, type PositionStore, Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import type { SubscribeResponse } from "../../nodes/lib/client/types";

/** Answers current-state reads from `state`; holds long polls until aborted or released with events. */
class StubApi implements SubscribeApi {
  state: Record<string, Array<{ uniqueCallId: string; status: string }>> = {};
  seq = 10;
  calls: Array<{ extensions: string[]; last: number; timeOut: number }> = [];
  private held: Array<(r: SubscribeResponse) => void> = [];

  subscribe(extensions: readonly string[], last: number, timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    this.calls.push({ extensions: [...extensions], last, timeOut });
    if (last !== 0 && timeOut === 0) return Promise.resolve({ Code: 0, seq: this.seq, Data: {} });
    if (last === 0) {
      const data = Object.fromEntries(extensions.filter((e) => this.state[e]).map((e) => [e, this.state[e].map((c) => ({ CallData: c }))]));
      return Promise.resolve({ Code: 0, seq: this.seq, Data: data });
    }
    return new Promise((resolve, reject) => {
      this.held.push(resolve);
      signal?.addEventListener("abort", () => reject(new NoojeeError("aborted", "request cancelled")));
    });
  }

  async release(extension: string, uniqueCallId: string, status: string): Promise<void> {
    while (this.held.length === 0) await new Promise((r) => setImmediate(r));
    this.seq += 1;
    this.held.splice(0).forEach((resolve) => resolve({ Code: 0, seq: this.seq, Data: { [extension]: [{ CallData: { uniqueCallId, status } }] } }));
  }

  async heldPolls(): Promise<void> {
    while (this.held.length === 0) await new Promise((r) => setImmediate(r));
  }
}

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[]; statuses: HubStatus[] } {
  const events: CallEvent[] = [];
  const statuses: HubStatus[] = [];
  return { extensions, timeoutSec: 30, events, statuses, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) };
}

const describeEvents = (events: CallEvent[]) => events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);

describe("SubscriptionHub", () => {
  it("runs one loop for the union, dispatches by extension, and replays the current state to a newcomer after its constructor", async () => {
    const api = new StubApi();
    api.state = { "410": [{ uniqueCallId: "1.1", status: "Connected" }] };
    const hub = new SubscriptionHub(api);
    const a = subscriber(["410"]);
    hub.register("a", a);
    await api.heldPolls();
    assert.deepEqual(describeEvents(a.events), ["410:1.1:Connected:true"]);

    const b = subscriber(["410", "400"]);
    hub.register("b", b);
    assert.deepEqual(b.events, [], "nothing is sent synchronously from register (the node's constructor)");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(b.events), ["410:1.1:Connected:true"]);

    await api.release("410", "1.1", "Hungup");
    await api.heldPolls();
    assert.deepEqual(describeEvents(a.events).at(-1), "410:1.1:Hungup:false");
    assert.deepEqual(describeEvents(b.events).at(-1), "410:1.1:Hungup:false");
    assert.deepEqual(api.calls.filter((c) => c.last !== 0).at(-1)?.extensions.sort(), ["400", "410"]);
    assert.equal(a.statuses.at(-1)?.state, "listening");
    await hub.close();
  });

  it("delivers a pending replay before a live event, and drops it for a subscriber that left", async () => {
    const api = new StubApi();
    api.state = { "410": [{ uniqueCallId: "1.1", status: "Ringing" }] };
    const hub = new SubscriptionHub(api);
    hub.register("a", subscriber(["410"]));
    await api.heldPolls();
    const b = subscriber(["410"]);
    hub.register("b", b);
    const gone = subscriber(["410"]);
    hub.register("gone", gone);
    await hub.deregister("gone");
    await api.release("410", "1.1", "Connected"); // may race the deferred replay
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(b.events), ["410:1.1:Ringing:true", "410:1.1:Connected:false"]);
    assert.deepEqual(gone.events, []);
    await hub.close();
  });

  it("stops polling when the last subscriber leaves, and resumes from its cursor when one returns soon", async () => {
    const api = new StubApi();
    const hub = new SubscriptionHub(api);
    hub.register("a", subscriber(["410"]));
    await api.heldPolls();
    await api.release("410", "2.1", "Ringing");
    await api.heldPolls();
    const cursor = api.seq;
    api.state["410"] = [{ uniqueCallId: "2.1", status: "Ringing" }]; // what a read finds
    await hub.deregister("a");
    assert.equal(hub.pollLoop?.isRunning, false);
    const parkedCalls = api.calls.length;
    const again = subscriber(["410"]);
    hub.register("a", again);
    await new Promise((r) => setImmediate(r));
    await api.heldPolls();
    assert.deepEqual(describeEvents(again.events), ["410:2.1:Ringing:true"], "the newcomer gets the known state");
    assert.deepEqual(api.calls.slice(parkedCalls).map((c) => c.last), [0, cursor, cursor], "a read (a restart while parked?), then on from the cursor");
    assert.equal(api.calls.at(-1)?.last, cursor, "the cursor was kept");
    const resumed = api.calls.slice(api.calls.findIndex((c) => c === api.calls.filter((x) => x.last === cursor)[0]));
    assert.deepEqual(resumed.slice(-2).map((c) => c.timeOut), [0, 30], "a quick check first, so the status turns green at once");
    assert.equal(again.statuses.at(-1)?.state, "listening");
    await hub.close();
  });
});

describe("SubscriptionHub parked", () => {
  it("a PBX restart while parked, its counter past the kept cursor: the read at the return ends the calls it lost", async () => {
    const api = new StubApi();
    const hub = new SubscriptionHub(api);
    hub.register("a", subscriber(["410"]));
    await api.heldPolls();
    await api.release("410", "2.1", "Connected");
    await api.heldPolls();
    await hub.deregister("a");
    api.seq += 5; // restarted meanwhile, its counter already past ours, without the call
    const again = subscriber(["410"]);
    hub.register("a", again);
    await new Promise((r) => setImmediate(r));
    await api.heldPolls();
    // Before the fix the loop polled on from its cursor: 2.1 stayed in progress (presence: on a call) for 12 hours.
    assert.deepEqual(describeEvents(again.events), ["410:2.1:Connected:true", "410:2.1:Hungup:false"]);
    assert.equal(again.events[1].vanished, true);
    await hub.close();
  });
});

/**
 * A tiny PBX for the chunk tests: one global seq, a log of entries, current-state reads from 0, and long polls held
 * until an entry arrives for one of their extensions. Can fail the next request of any poll that includes an extension.
 */
class LogApi implements SubscribeApi {
  seq = 100;
  readonly log: Array<{ seq: number; extension: string; uniqueCallId: string; status: string }> = [];
  readonly calls: Array<{ extensions: string[]; last: number }> = [];
  private held: Array<{ extensions: string[]; last: number; resolve: (r: SubscribeResponse) => void }> = [];
  failFor = new Set<string>();

  constructor(private readonly budget?: number) {}

  subscribeExtenBudget(): number {
    return this.budget ?? Infinity;
  }

  subscribe(extensions: readonly string[], last: number, timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    const exts = [...extensions];
    this.calls.push({ extensions: exts, last });
    if (exts.some((e) => this.failFor.has(e))) return Promise.reject(new NoojeeError("http", "HTTP 502"));
    if (last === 0) {
      const state = new Map<string, LogApi["log"][number]>();
      for (const e of this.log) if (exts.includes(e.extension)) state.set(e.uniqueCallId, e);
      const data: Record<string, Array<{ CallData: { uniqueCallId: string; status: string } }>> = {};
      for (const [, e] of state) {
        if (e.status === "Hungup") continue;
        (data[e.extension] ??= []).push({ CallData: { uniqueCallId: e.uniqueCallId, status: e.status } });
      }
      return Promise.resolve({ Code: 0, seq: this.seq, Data: data });
    }
    const ready = this.answerFor(exts, last) ?? (timeOut === 0 ? { Code: 0, seq: this.seq, Data: {} } : undefined);
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const poll = { extensions: exts, last, resolve };
      this.held.push(poll);
      signal?.addEventListener("abort", () => {
        this.held = this.held.filter((p) => p !== poll);
        reject(new NoojeeError("aborted", "request cancelled"));
      });
    });
  }

  emit(extension: string, uniqueCallId: string, status: string): void {
    this.seq += 1;
    this.log.push({ seq: this.seq, extension, uniqueCallId, status });
    for (const poll of [...this.held]) {
      const answer = this.answerFor(poll.extensions, poll.last);
      if (!answer) continue;
      this.held = this.held.filter((p) => p !== poll);
      poll.resolve(answer);
    }
  }

  /** Long polls held right now, as their extension lists. */
  heldPolls(): string[][] {
    return this.held.map((p) => p.extensions);
  }

  private answerFor(extensions: string[], last: number): SubscribeResponse | undefined {
    const entries = this.log.filter((e) => e.seq > last && extensions.includes(e.extension));
    if (entries.length === 0) return undefined;
    const data: Record<string, Array<{ CallData: { uniqueCallId: string; status: string } }>> = {};
    for (const e of entries) (data[e.extension] ??= []).push({ CallData: { uniqueCallId: e.uniqueCallId, status: e.status } });
    return { Code: 0, seq: this.seq, Data: data };
  }
}

async function settle(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const range = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => String(from + i));

describe("SubscriptionHub: chunks of extensions", () => {
  it("counts the bytes of an exten value with its encoded commas", () => {
    assert.equal(extenBytes([]), 0);
    assert.equal(extenBytes(["410"]), 3);
    assert.equal(extenBytes(["400", "410"]), 3 + 3 + 3);
  });

  it("splits 2,000 extensions into concurrent polls under the budget, each with its own seq, losing nothing", async () => {
    const api = new LogApi(4000);
    const hub = new SubscriptionHub(api);
    const subs = Array.from({ length: 200 }, (_, i) => subscriber(range(1000 + i * 10, 10)));
    subs.forEach((s, i) => hub.register(`s${i}`, s));
    const chunks = hub.pollLoops.length;
    // 2,000 four-digit extensions: 7 bytes each with the comma, so 14 KB in chunks of at most 4,000 bytes.
    assert.equal(chunks, Math.ceil((2000 * 7 - 3) / 4000));
    await settle(() => api.heldPolls().length === chunks, "one held poll per chunk");
    const held = api.heldPolls();
    assert.deepEqual(held.flat().sort(), range(1000, 2000).sort(), "every extension in exactly one poll");
    for (const extensions of held) assert.ok(extenBytes(extensions) <= 4000, `chunk of ${extenBytes(extensions)} bytes`);

    // Events on every chunk, interleaved: the global seq jumps for each poll by the others' events.
    for (let i = 0; i < 2000; i += 37) api.emit(String(1000 + i), `c${i}`, "Ringing");
    const expected = Math.ceil(2000 / 37);
    await settle(() => subs.reduce((n, s) => n + s.events.length, 0) === expected, "every event delivered");
    for (let i = 0; i < 2000; i += 37) {
      const s = subs[Math.floor(i / 10)];
      assert.deepEqual(describeEvents(s.events).filter((e) => e.includes(`c${i}:`)), [`${1000 + i}:c${i}:Ringing:false`]);
    }
    // Each poll sent back exactly the seq of its own previous answer: replay the calls per extension set.
    await settle(() => api.heldPolls().length === chunks, "polls held again");
    const cursors = new Map<string, number>();
    for (const call of api.calls) {
      const key = call.extensions.join(",");
      if (call.last !== 0 && cursors.has(key)) assert.ok(call.last >= (cursors.get(key) ?? 0));
      cursors.set(key, call.last);
    }
    await hub.close();
  });

  it("keeps chunks stable when subscribers come and go, and stops a chunk left empty", async () => {
    const api = new LogApi(27); // five 3-digit extensions per chunk: 5 × 3 + 4 × 3 (the "%2C" commas) = 27 bytes
    const hub = new SubscriptionHub(api, { parkMs: 20 });
    const a = subscriber(range(100, 5));
    const b = subscriber(range(200, 5));
    hub.register("a", a);
    hub.register("b", b);
    assert.equal(hub.pollLoops.length, 2);
    await settle(() => api.heldPolls().length === 2, "two held polls");
    api.emit("100", "x1", "Ringing");
    api.emit("200", "y1", "Ringing");
    await settle(() => a.events.length === 1 && b.events.length === 1 && api.heldPolls().length === 2, "events, polls held again");
    const [loopA, loopB] = hub.pollLoops;
    const cursorB = loopB.sequence;

    // a leaves: once its extensions stop lingering, its chunk is empty and stops; b's chunk keeps polling from its
    // own cursor, no new read from 0.
    const callsBefore = api.calls.length;
    await hub.deregister("a");
    assert.equal(hub.pollLoops.length, 2, "a's extensions linger for a while");
    await settle(() => hub.pollLoops.length === 1, "a's chunk stopped");
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(hub.pollLoops, [loopB]);
    assert.equal(loopA.isRunning, false);
    await settle(() => api.heldPolls().length === 1, "one held poll");
    assert.ok(api.calls.slice(callsBefore).every((c) => c.last !== 0), "no current-state read for the chunk that stayed");
    assert.equal(loopB.sequence, cursorB);

    // c adds two extensions already watched and one new: they fit nowhere else than a new chunk (b's is full).
    const c = subscriber(["200", "201", "300"]);
    hub.register("c", c);
    assert.equal(hub.pollLoops.length, 2);
    assert.deepEqual(hub.pollLoops[0], loopB, "b's chunk is untouched");
    assert.deepEqual(loopB.watched, range(200, 5));
    assert.deepEqual(hub.pollLoops[1].watched, ["300"]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(c.events), ["200:y1:Ringing:true"], "the newcomer gets the known state of 200");
    await hub.close();
  });

  it("shows failing while any chunk fails, and listening once all recover", async () => {
    const api = new LogApi(27);
    const hub = new SubscriptionHub(api, { backoff: { initialMs: 5, maxMs: 5, jitter: 0 } });
    const s = subscriber([...range(100, 5), ...range(200, 5)]);
    hub.register("s", s);
    assert.equal(hub.pollLoops.length, 2);
    await settle(() => api.heldPolls().length === 2, "two held polls");
    assert.equal(s.statuses.at(-1)?.state, "listening");
    api.failFor.add("200");
    api.emit("200", "y1", "Ringing"); // answers the held poll; its next request fails
    await settle(() => s.statuses.at(-1)?.state === "failing", "failing");
    api.emit("100", "x1", "Ringing"); // the other chunk succeeds meanwhile: still failing
    await settle(() => s.events.length === 2, "the healthy chunk's event");
    assert.equal(s.statuses.at(-1)?.state, "failing");
    api.failFor.clear();
    await settle(() => s.statuses.at(-1)?.state === "listening", "listening again");
    assert.deepEqual(describeEvents(s.events), ["200:y1:Ringing:false", "100:x1:Ringing:false"]);
    await hub.close();
  });
});

describe("SubscriptionHub: a redeploy that splits the extensions differently", () => {
  it("keeps the extensions of a node that left in the poll, and hands their changes to the node that takes them", async () => {
    const api = new LogApi();
    const hub = new SubscriptionHub(api);
    const a = subscriber(["400", "410"]);
    const b = subscriber(["420"]);
    hub.register("a", a);
    hub.register("b", b);
    await settle(() => api.heldPolls().length === 1, "a held poll");
    api.emit("410", "x1", "Ringing");
    await settle(() => a.events.length === 1 && api.heldPolls().length === 1, "the event, the poll held again");

    // A "modified nodes" deploy: b keeps running, a is replaced by a2 (400) and a3 (410).
    const beforeDeploy = api.calls.length;
    await hub.deregister("a");
    assert.deepEqual(hub.pollLoop?.watched, ["400", "410", "420"], "410 lingers: its cursor is kept");
    api.emit("410", "x1", "Connected"); // happens between the old node leaving and the new one arriving
    api.emit("400", "y1", "Ringing");
    await settle(() => api.heldPolls().length === 1 && api.calls.at(-1)?.last === api.seq, "polled on");
    const a2 = subscriber(["400"]);
    const a3 = subscriber(["410"]);
    hub.register("a2", a2);
    hub.register("a3", a3);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(a3.events), ["410:x1:Ringing:true", "410:x1:Connected:false"], "state when left, then the change");
    assert.deepEqual(describeEvents(a2.events), ["400:y1:Ringing:false"]);
    assert.ok(api.calls.slice(beforeDeploy).every((c) => c.last !== 0), "no read from 0 during the deploy");
    api.emit("410", "x1", "Hungup");
    await settle(() => a3.events.length === 3, "live again");
    assert.deepEqual(b.events, []);

    // Once the deploy is over, extensions nobody took back leave the poll; runtime removals leave at once.
    await hub.deregister("a2");
    assert.deepEqual(hub.pollLoop?.watched, ["400", "410", "420"]);
    hub.releaseLingering();
    assert.deepEqual(hub.pollLoop?.watched, ["410", "420"]);
    hub.updateExtensions("a3", []);
    assert.deepEqual(hub.pollLoop?.watched, ["420"]);
    await hub.close();
  });

  it("stores no position while changes wait for a subscriber, and stores it once they have reached one", async () => {
    const api = new LogApi();
    const stored: Array<HubPosition | undefined> = [];
    const store: PositionStore = { save: (capture) => stored.push(capture()) };
    const hub = new SubscriptionHub(api, { store });
    const a = subscriber(["410"]);
    const b = subscriber(["420"]);
    hub.register("a", a);
    hub.register("b", b);
    await settle(() => api.heldPolls().length === 1, "a held poll");
    const afterStart = stored.length;
    assert.ok(afterStart > 0 && stored.every((p) => p !== undefined), "the start's position is stored");

    // A deploy replaces a: the change on 410 waits in its buffer, one on 420 reaches b meanwhile.
    await hub.deregister("a");
    api.emit("410", "x1", "Ringing");
    await settle(() => api.heldPolls().length === 1 && api.calls.at(-1)?.last === api.seq, "polled on");
    api.emit("420", "y1", "Ringing");
    await settle(() => b.events.length === 1 && api.heldPolls().length === 1 && api.calls.at(-1)?.last === api.seq, "b has its change");
    assert.equal(stored.length, afterStart, "a Node-RED killed now must poll again from before the held change");

    // The new node takes 410 but leaves before its replay is flushed (a second quick deploy): the change is kept.
    hub.register("a2", subscriber(["410"]));
    await hub.deregister("a2");
    await new Promise((r) => setImmediate(r));
    assert.equal(stored.length, afterStart);

    const a3 = subscriber(["410"]);
    hub.register("a3", a3);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(a3.events), ["410:x1:Ringing:false"], "the held change, once");
    assert.equal(stored.length, afterStart + 1, "stored once the change was handed on");
    assert.equal(stored.at(-1)?.polls[0]?.seq, api.seq);
    await hub.close();
  });

  it("keeps a replay not yet flushed when the subscriber changes its extensions in the same tick", async () => {
    const api = new LogApi();
    const hub = new SubscriptionHub(api);
    hub.register("a", subscriber(["410"]));
    hub.register("b", subscriber(["420"]));
    await settle(() => api.heldPolls().length === 1, "a held poll");
    await hub.deregister("a");
    api.emit("410", "x1", "Ringing");
    await settle(() => api.heldPolls().length === 1 && api.calls.at(-1)?.last === api.seq, "polled on");
    const a2 = subscriber(["410"]);
    hub.register("a2", a2);
    hub.updateExtensions("a2", ["410", "430"]); // an msg.action "add" before the replay went out
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(a2.events), ["410:x1:Ringing:false"]);
    await hub.close();
  });
});
