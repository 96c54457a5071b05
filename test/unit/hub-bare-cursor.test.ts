/**
 * The position keeps a cursor when no extension has one (the last watched ones were replaced, the new ones are still
 * being read): after a crash before the new ones' cursors were stored, they carry on from it and lose nothing made
 * while Node-RED was down (issue 23 item 3; found by the model-based test with a store write that failed).
 */
import assert from "node:assert/strict";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { ResumeSource } from "../../nodes/lib/poll/resume-points";
import { type HubPosition, type Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { answer, entry, ScriptedApi } from "./scripted-api";

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[] } {
  const events: CallEvent[] = [];
  return { extensions, timeoutSec: 30, events, onEvent: (e) => events.push(e), onStatus: () => undefined };
}

const seen = (s: { events: CallEvent[] }): string[] => s.events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);

describe("The position's cursor when no extension has one", () => {
  const hubs: SubscriptionHub[] = [];
  afterEach(() => Promise.all(hubs.splice(0).map((hub) => hub.close())));

  it("a saved point that names no extension is a cursor to adopt from", () => {
    const source = new ResumeSource([{ seq: 40, extensions: [], fences: {} }]);
    assert.equal(source.size, 1);
    assert.deepEqual(source.take("430"), { cursor: 40, adopted: true, life: 0 });
    assert.equal(new ResumeSource([{ seq: 0, extensions: [], fences: {} }]).size, 0, "0 is no cursor");
  });

  it("is stored bare once the last extension is replaced; after a crash the new one carries on from it", async () => {
    const api = new ScriptedApi();
    const stored: HubPosition[] = [];
    const hub = new SubscriptionHub(api, { store: { save: (capture) => {
      const position = capture();
      if (position) stored.push(JSON.parse(JSON.stringify(position)) as HubPosition);
    } } });
    hubs.push(hub);
    hub.register("a", subscriber(["402"]));
    (await api.call(0)).resolve(answer(1001));
    await api.call(1); // 402 polled from 1001
    hub.updateExtensions("a", ["401"]); // by msg: 402 replaced, 401 still to be read
    const read = await api.call(2);
    assert.deepEqual([read.extensions, read.last], [["401"], 0]);
    // A crash now (or before a store makes a later write durable): this is what the next start finds.
    assert.deepEqual(stored.at(-1)?.polls, [{ seq: 1001, extensions: [], fences: {} }]);
    await hub.close();
    // Node-RED starts again, 401 watched; a call rang on it and ended while Node-RED was down.
    const next = new SubscriptionHub(api, { position: stored.at(-1) });
    hubs.push(next);
    const again = subscriber(["401"]);
    next.register("a", again);
    next.releaseLingering();
    const check = await api.call(3);
    assert.deepEqual([check.extensions, check.last], [["401"], 0]);
    check.resolve(answer(1003));
    const poll = await api.call(4);
    assert.deepEqual([poll.extensions, poll.last], [["401"], 1001], "from the bare cursor");
    poll.resolve(answer(1003, { "401": [entry("1.1", "Ringing"), entry("1.1", "Hungup")] }));
    await api.call(5);
    assert.deepEqual(seen(again), ["401:1.1:Ringing:false", "401:1.1:Hungup:false"]);
  });

  it("keeps the cursor of an answer no write captured (the store was busy with an earlier write meanwhile)", async () => {
    const api = new ScriptedApi();
    let capture: (() => HubPosition | undefined) | undefined;
    const hub = new SubscriptionHub(api, { store: { save: (latest) => (capture = latest) } }); // writes later, what is then
    hubs.push(hub);
    hub.register("a", subscriber(["402"]));
    (await api.call(0)).resolve(answer(1001));
    await api.call(1);
    hub.updateExtensions("a", ["401"]);
    await api.call(2);
    assert.deepEqual(capture?.()?.polls, [{ seq: 1001, extensions: [], fences: {} }]);
  });
});
