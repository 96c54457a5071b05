/**
 * A saved position with cursors of two lives of the PBX (one extension's poll had resynchronised after a PBX restart,
 * another's was still held from before it, when Node-RED died), resumed by a hub whose subscribers register one after
 * the other: the first loop to see the counter gone back must drop only the cursors above it. Found by the model-based
 * test: every saved cursor was dropped, so the late subscriber's extension got a current-state read and its flow never
 * got the end of a call that it had been sent ringing before the crash.
 */
import assert from "node:assert/strict";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { type HubPosition, type Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { answer, entry, ScriptedApi } from "./scripted-api";

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[] } {
  const events: CallEvent[] = [];
  return { extensions, timeoutSec: 30, events, onEvent: (e) => events.push(e), onStatus: () => undefined };
}

const seen = (s: { events: CallEvent[] }): string[] => s.events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}`);

/** 406 saved at 1000 (before the PBX restarted), 403 at 2 (after it, its call 1.11 sent ringing). */
const saved: HubPosition = {
  polls: [{ seq: 1000, extensions: ["406"], fences: {} }, { seq: 2, extensions: ["403"], fences: {} }],
  legs: [{ extension: "403", data: entry("1.11", "Ringing").CallData, callId: 11 }],
  watching: { n1: ["406"], n0: ["403"] },
};

/**
 * The restarted PBX, its counter at 3: 1.11 rang at 2 and hung up at 3 while Node-RED was down; nothing is in
 * progress. Answers each request until a poll from 3 is held (nothing more to come).
 */
async function servePbx(api: ScriptedApi, from: number): Promise<void> {
  for (let n = from; ; n++) {
    const call = await api.call(n);
    if (call.signal?.aborted) continue;
    if (call.last >= 3 && call.timeOut > 0) return;
    const changed = call.last > 0 && call.extensions.includes("403");
    call.resolve(answer(3, changed ? { "403": [entry("1.11", "Hungup", 11)] } : {}));
  }
}

describe("SubscriptionHub: resuming cursors of two lives of the PBX, subscribers registering one by one", () => {
  const hubs: SubscriptionHub[] = [];
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((hub) => hub.close()));
  });

  it("a late subscriber's extension carries on from its cursor of the new life after another's read found the restart", async () => {
    const api = new ScriptedApi();
    const warnings: string[] = [];
    const hub = new SubscriptionHub(api, { position: saved, onWarning: (m) => warnings.push(m) });
    hubs.push(hub);
    const n1 = subscriber(["406"]);
    hub.register("n1", n1);
    hub.expect("n0");
    hub.releaseLingering();
    const read = await api.call(0);
    assert.deepEqual([read.extensions, read.last], [["406"], 0]);
    read.resolve(answer(2)); // seq went back from 1000: the PBX restarted
    await api.call(1);
    assert.match(warnings.join("\n"), /went back from 1000 to 2/);
    const n0 = subscriber(["403"]);
    hub.register("n0", n0);
    await servePbx(api, 1);
    assert.ok(
      api.calls.some((call) => call.extensions.includes("403") && call.last === 2),
      `403 is polled from its saved cursor: ${JSON.stringify(api.calls.map((c) => [c.extensions, c.last]))}`,
    );
    assert.deepEqual(seen(n0), ["403:1.11:Hungup"], "the end of the call it was sent ringing before the crash");
    assert.deepEqual(seen(n1), []);
  });

  /**
   * 406 saved at 50 with a call in progress (the PBX's previous life), 403 at 2 (its new life, saved after a restart
   * was seen: life 1) with 1.11 sent ringing. While Node-RED was down 1.11 hung up and the counter climbed to 80, past
   * 50: it never goes back, so only 406's calls show that its cursor's life is over. Found by an outside review: that
   * dropped every untaken cursor, 403's too, and its late flow never got 1.11's end (not even a made-up one).
   */
  const climbed = (life403?: number): HubPosition => ({
    polls: [{ seq: 50, extensions: ["406"], fences: {} }, { seq: 2, extensions: ["403"], fences: {}, ...(life403 ? { life: life403 } : {}) }],
    legs: [
      { extension: "406", data: entry("9.99", "Ringing").CallData, callId: 9 },
      { extension: "403", data: entry("1.11", "Ringing").CallData, callId: 11 },
    ],
    watching: { n1: ["406"], n0: ["403"] },
  });

  /** The PBX at 80: nothing in progress; a poll of 403 from below 80 brings 1.11's end. Until 403's poll is held. */
  async function serveClimbed(api: ScriptedApi, from: number): Promise<void> {
    for (let n = from; ; n++) {
      const call = await api.call(n);
      if (call.signal?.aborted) continue;
      if (call.last >= 80 && call.timeOut > 0 && call.extensions.includes("403")) return;
      const changed = call.last > 0 && call.last < 80 && call.extensions.includes("403");
      call.resolve(answer(80, changed ? { "403": [entry("1.11", "Hungup", 11)] } : {}));
    }
  }

  async function resumeClimbed(position: HubPosition): Promise<{ api: ScriptedApi; n0: ReturnType<typeof subscriber>; n1: ReturnType<typeof subscriber> }> {
    const api = new ScriptedApi();
    const warnings: string[] = [];
    const hub = new SubscriptionHub(api, { position, onWarning: (m) => warnings.push(m) });
    hubs.push(hub);
    const n1 = subscriber(["406"]);
    hub.register("n1", n1);
    hub.expect("n0");
    hub.releaseLingering();
    const read = await api.call(0);
    assert.deepEqual([read.extensions, read.last], [["406"], 0]);
    read.resolve(answer(80)); // 9.99 is not listed: 406's cursor is of a life that is over
    const poll = await api.call(1);
    assert.deepEqual([poll.extensions, poll.last], [["406"], 50]);
    poll.resolve(answer(80));
    await api.call(2);
    assert.match(warnings.join("\n"), /calls differ/);
    const n0 = subscriber(["403"]);
    hub.register("n0", n0);
    await serveClimbed(api, 2);
    return { api, n0, n1 };
  }

  /**
   * The same, with lives saved (403's cursor of life 1) and a short call 5.55 on 406 after the restart (rang at 3, hung
   * up at 4: a poll of 406 from below 3 brings both). 406's cursor of life 0 beside one of life 1 is stale: found by an
   * outside review, 406 was polled on from 50 (the counter past it) and its flow never got 5.55, nor an end for 9.99
   * before a read found the calls disagreeing. It carries on from 2 (the PBX's seq is one counter for all extensions),
   * and its read ends 9.99, sent before the crash and gone with the restart.
   */
  it("an extension whose saved cursor is of an older life than another's carries on from the newest life's lowest", async () => {
    const api = new ScriptedApi();
    const warnings: string[] = [];
    const hub = new SubscriptionHub(api, { position: climbed(1), onWarning: (m) => warnings.push(m) });
    hubs.push(hub);
    const n1 = subscriber(["406"]);
    hub.register("n1", n1);
    hub.expect("n0");
    hub.releaseLingering();
    const read = await api.call(0);
    assert.deepEqual([read.extensions, read.last], [["406"], 0]);
    read.resolve(answer(80)); // 9.99 is not listed
    const poll = await api.call(1);
    assert.deepEqual([poll.extensions, poll.last], [["406"], 2], "polled from the newest life's lowest cursor, not its own 50");
    poll.resolve(answer(80, { "406": [entry("5.55", "Ringing", 55), entry("5.55", "Hungup", 55)] }));
    await api.call(2);
    assert.deepEqual(seen(n1), ["406:5.55:Ringing", "406:5.55:Hungup", "406:9.99:Hungup"]);
    assert.equal(n1.events[2].vanished, true, "9.99 died with the restart: a made-up end");
    assert.deepEqual(n1.events.map((e) => e.initial), [false, false, false]);
    const n0 = subscriber(["403"]);
    hub.register("n0", n0);
    await serveClimbed(api, 2);
    assert.ok(
      api.calls.some((call) => call.extensions.includes("403") && call.last === 2),
      `403 is polled from its saved cursor: ${JSON.stringify(api.calls.map((c) => [c.extensions, c.last]))}`,
    );
    assert.deepEqual(seen(n0), ["403:1.11:Hungup"]);
    assert.equal(n0.events[0].vanished, undefined, "the PBX's own end, not a made-up one");
    assert.deepEqual(seen(n1), ["406:5.55:Ringing", "406:5.55:Hungup", "406:9.99:Hungup"], "nothing more, nothing twice");
    assert.doesNotMatch(warnings.join("\n"), /calls differ|went back/, "the restart was known from the saved lives");
  });

  it("a resumed extension whose cursor is dropped (lives not known: a 1.1.0 position) ends the calls its read lacks", async () => {
    const { n0 } = await resumeClimbed(climbed());
    assert.deepEqual(seen(n0), ["403:1.11:Hungup"], "1.11 was sent ringing before the crash");
    assert.equal(n0.events[0].vanished, true);
  });
});
