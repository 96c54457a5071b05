/**
 * The hub's start with a saved position (issue 23): nothing is stored while the position is read, what is stored
 * keeps the saved cursors until the loops carry on from them, the subscribers see "reading" meanwhile, and the end of
 * the start waits for subscribers that announced themselves (a kept extension list read from an asynchronous store).
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { type HubPosition, type HubStatus, type Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { answer, entry, ScriptedApi } from "./scripted-api";
import { READ_FOR_MS } from "../../nodes/lib/poll/retried-read";

const saved = (): HubPosition => ({
  polls: [{ seq: 50, extensions: ["410", "420"], fences: {} }],
  legs: [{ extension: "410", data: entry("1.1", "Ringing").CallData, callId: 1 }],
});

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[]; states: string[] } {
  const events: CallEvent[] = [];
  const states: string[] = [];
  return { extensions, timeoutSec: 30, events, states, onEvent: (e) => events.push(e), onStatus: (s: HubStatus) => states.push(s.state) };
}

/** A hub whose store keeps what each save captures (as the writer would, at once). */
function hubWith(position: HubOptionsPosition, extra: { expectMs?: number } = {}) {
  const api = new ScriptedApi();
  const stored: HubPosition[] = [];
  const hub = new SubscriptionHub(api, {
    position, ...extra, store: { save: (capture) => {
      const position = capture();
      if (position) stored.push(JSON.parse(JSON.stringify(position)) as HubPosition);
    } },
  });
  return { api, hub, stored };
}
type HubOptionsPosition = HubPosition | Promise<HubPosition | undefined> | undefined;

const pollsOf = (position: HubPosition | undefined) => position?.polls.map((p) => `${p.seq}:${p.extensions.join(",")}`);

describe("SubscriptionHub: the start from a saved position", () => {
  afterEach(() => sinon.restore());

  it("stores nothing while the saved position is read; the save asked for meanwhile follows the read and covers it", async () => {
    let give!: (position: HubPosition | undefined) => void;
    const { api, hub, stored } = hubWith(new Promise<HubPosition | undefined>((resolve) => (give = resolve)));
    const a = subscriber(["410"]);
    hub.register("a", a);
    hub.releaseLingering();
    hub.updateExtensions("a", ["410", "420"]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(stored, [], "a crash now must find the position as it was");
    assert.equal(api.calls.length, 0);
    give(saved());
    await hub.ready();
    assert.deepEqual(stored.map(pollsOf), [["50:410,420"]]);
    // The loops start only now: with a current-state read (compared once the poll from the saved cursor caught up).
    const read = await api.call(0);
    assert.deepEqual([read.extensions, read.last], [["410", "420"], 0]);
    read.resolve(answer(60));
    const poll = await api.call(1);
    assert.deepEqual([poll.extensions, poll.last], [["410", "420"], 50]);
    assert.deepEqual(stored.map(pollsOf).at(-1), ["50:410,420"], "the read alone moves no cursor");
    await hub.close();
  });

  it("until its loops have answered, what it stores still covers the saved cursors (of extensions still watched once started)", async () => {
    const { api, hub, stored } = hubWith(saved());
    hub.register("a", subscriber(["410"]));
    // Before flows:started another node may still take 420: its cursor stays too.
    assert.deepEqual(pollsOf(stored.at(-1)), ["50:410,420"]);
    assert.deepEqual(stored.at(-1)?.legs.map((l) => l.data.uniqueCallId), ["1.1"]);
    hub.releaseLingering(); // nobody took 420
    hub.register("b", subscriber(["430"]));
    assert.deepEqual(pollsOf(stored.at(-1)), ["50:410"], "420 is no longer watched; 430 has no cursor yet");
    // The resume's read (cut short by 430's arrival and asked again): 430 is read, 410's check waits for its poll.
    const read = await api.call(1);
    assert.deepEqual([read.extensions, read.last], [["410", "430"], 0]);
    read.resolve(answer(56));
    const catchUp = await api.call(2);
    assert.deepEqual(pollsOf(stored.at(-1))?.sort(), ["50:410", "56:430"], "410's saved cursor is still covered after the read");
    assert.deepEqual([catchUp.extensions, catchUp.last], [["410"], 50]);
    catchUp.resolve(answer(58, { "410": [entry("1.1", "Connected")] }));
    await api.call(3);
    assert.deepEqual(pollsOf(stored.at(-1))?.sort(), ["56:430", "58:410"]);
    await hub.close();
  });

  it("shows 'reading' to its subscribers while the position is read (not to one without extensions), then 'connecting'", async () => {
    let give!: (position: HubPosition | undefined) => void;
    const { hub } = hubWith(new Promise<HubPosition | undefined>((resolve) => (give = resolve)));
    const a = subscriber(["410"]);
    const none = subscriber([]);
    hub.register("a", a);
    hub.register("none", none);
    assert.deepEqual(a.states, ["reading"]);
    give(undefined);
    await hub.ready();
    assert.deepEqual(a.states, ["reading", "connecting"]);
    assert.equal(none.states.includes("reading"), false);
    await hub.close();
  });

  it("flows:started waits for a subscriber that announced itself: its extensions still carry on from the saved position", async () => {
    const { api, hub } = hubWith(saved());
    hub.register("a", subscriber(["410"]));
    hub.expect("b"); // its kept list is on its way from an asynchronous store
    hub.releaseLingering();
    await api.call(0);
    const b = subscriber(["420"]);
    hub.register("b", b);
    const read = await api.call(1); // the resume's read, asked again with 420
    assert.deepEqual([read.extensions, read.last], [["410", "420"], 0]);
    read.resolve(answer(56));
    const poll = await api.call(2);
    assert.deepEqual([poll.extensions, poll.last], [["410", "420"], 50], "420 resumed, not read afresh");
    poll.resolve(answer(57, { "420": [entry("2.1", "Ringing"), entry("2.1", "Hungup")] }));
    await api.call(3);
    assert.deepEqual(b.events.map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.initial}:${e.afterOutage}`),
      ["2.1:Ringing:false:true", "2.1:Hungup:false:true"], "made while Node-RED was down");
    await hub.close();
  });

  it("by default waits as long as a kept list is read (3 min): a subscriber that comes after 3 min still resumes", async () => {
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, hub } = hubWith(saved());
    hub.register("a", subscriber(["410"]));
    hub.expect("b");
    hub.releaseLingering();
    await clock.tickAsync(READ_FOR_MS);
    hub.register("b", subscriber(["420"]));
    await clock.tickAsync(0);
    const read = api.calls.find((c) => c.extensions.includes("420"));
    read?.resolve(answer(56));
    const poll = await api.call(api.calls.indexOf(read!) + 1);
    assert.deepEqual([poll.extensions, poll.last], [["410", "420"], 50], "420 carried on from the saved position");
    await hub.close();
  });

  it("waits at most expectMs: a subscriber that comes later gets a current-state read", async () => {
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, hub } = hubWith(saved(), { expectMs: 30_000 });
    hub.register("a", subscriber(["410"]));
    hub.expect("b");
    hub.releaseLingering();
    await clock.tickAsync(30_000);
    const b = subscriber(["420"]);
    hub.register("b", b);
    await clock.tickAsync(0);
    // The resume's read, asked again with 420: 420 is placed at its seq with its calls in progress; only 410 resumes.
    const read = api.calls.find((c) => c.extensions.includes("420"));
    assert.deepEqual([read?.extensions, read?.last], [["410", "420"], 0]);
    read?.resolve(answer(56, { "420": [entry("2.1", "Ringing")] }));
    const poll = await api.call(api.calls.indexOf(read!) + 1);
    assert.deepEqual([poll.extensions, poll.last], [["410"], 50]);
    assert.deepEqual(b.events.map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.initial}:${e.afterOutage}`), ["2.1:Ringing:true:undefined"]);
    assert.ok(!api.calls.some((c) => c.extensions.includes("420") && c.last === 50), "420 not carried on from the saved position");
    await hub.close();
  });
});
