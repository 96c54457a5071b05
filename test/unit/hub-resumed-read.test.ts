/**
 * A subscriber that joins an extension carried on from its own saved cursor before that cursor's first answer (the
 * second subscribe node of a restart, a node added while the resumed read hangs) is handed the calls in progress once
 * the read has answered, never the states restored from the saved position meanwhile: with a store that lags they are
 * older than what the flow already got (found by the model-based test).
 */
import assert from "node:assert/strict";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { type HubPosition, type Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { answer, entry, ScriptedApi } from "./scripted-api";

/** Saved while 1.1 was Ringing (it connected after: the flow got that before the crash) and 1.2 Ringing. */
const saved = (): HubPosition => ({
  polls: [{ seq: 50, extensions: ["410"], fences: {} }],
  legs: [
    { extension: "410", data: entry("1.1", "Ringing").CallData, callId: 1 },
    { extension: "410", data: entry("1.2", "Ringing").CallData, callId: 2 },
  ],
});

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[]; current: string[] } {
  const events: CallEvent[] = [];
  const current: string[] = [];
  return {
    extensions, timeoutSec: 30, events, current, onEvent: (e) => events.push(e), onStatus: () => undefined,
    onCurrentState: (extension, calls) => current.push(`${extension}:${calls.map((c) => `${c.data.uniqueCallId}:${c.data.status}`).sort().join(",")}`),
  };
}

const seen = (s: { events: CallEvent[] }): string[] => s.events.map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The resumed read (a current-state read, then the poll from the saved cursor), as the PBX answers them now. */
async function answerResumedRead(api: ScriptedApi, first: number): Promise<void> {
  const read = await api.call(first);
  assert.deepEqual([read.extensions, read.last], [["410"], 0]);
  read.resolve(answer(60, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing", 2)] }));
  const poll = await api.call(first + 1);
  assert.deepEqual([poll.extensions, poll.last], [["410"], 50]);
  poll.resolve(answer(60, { "410": [entry("1.1", "Connected")] }));
  await api.call(first + 2);
  await tick();
}

describe("SubscriptionHub: a subscriber that joins a resumed extension before its read has answered", () => {
  const hubs: SubscriptionHub[] = [];
  const hubFor = (api: ScriptedApi): SubscriptionHub => {
    const hub = new SubscriptionHub(api, { position: saved() });
    hubs.push(hub);
    return hub;
  };
  afterEach(() => Promise.all(hubs.splice(0).map((hub) => hub.close())));

  it("gets no restored state meanwhile; then each change, and the calls in progress that did not change", async () => {
    const api = new ScriptedApi();
    const hub = hubFor(api);
    const first = subscriber(["410"]);
    const second = subscriber(["410"]);
    hub.register("first", first);
    hub.register("second", second);
    hub.releaseLingering();
    await tick();
    assert.deepEqual(seen(second), [], "the restored 1.1 Ringing is older than the Connected the flow got before the crash");
    assert.deepEqual(second.current, []);
    await answerResumedRead(api, 0);
    assert.deepEqual(seen(first), ["1.1:Connected:false"]);
    assert.deepEqual(seen(second), ["1.1:Connected:false", "1.2:Ringing:true"]);
    assert.equal(second.current.at(-1), "410:1.1:Connected,1.2:Ringing");
  });

  it("one that joins while the read hangs, then adds an extension, gets them once the read answers", async () => {
    const api = new ScriptedApi();
    const hub = hubFor(api);
    hub.register("first", subscriber(["410"]));
    hub.releaseLingering();
    await api.call(0); // the resumed read, not answered
    const late = subscriber(["410"]);
    hub.register("late", late);
    await tick();
    assert.deepEqual(seen(late), []);
    hub.updateExtensions("late", ["410", "420"]); // cuts the read short: it is made again with 420
    const read = await api.call(1);
    assert.deepEqual([read.extensions, read.last], [["410", "420"], 0]);
    read.resolve(answer(60, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing", 2)], "420": [entry("2.1", "Ringing", 3)] }));
    const poll = await api.call(2);
    assert.deepEqual([poll.extensions, poll.last], [["410"], 50]);
    poll.resolve(answer(60, { "410": [entry("1.1", "Connected")] }));
    await api.call(3);
    await tick();
    assert.deepEqual(seen(late), ["2.1:Ringing:true", "1.1:Connected:false", "1.2:Ringing:true"]);
  });

  it("while one is held, the position says so: after a crash it is held again, also when it registers first", async () => {
    const api = new ScriptedApi();
    let capture: (() => HubPosition | undefined) | undefined;
    const hub = new SubscriptionHub(api, { position: saved(), store: { save: (latest) => (capture = latest) } });
    hubs.push(hub);
    hub.register("first", subscriber(["410"]));
    hub.releaseLingering();
    await api.call(0);
    assert.equal(capture?.()?.awaiting, undefined);
    hub.register("second", subscriber(["410"]));
    const stored = capture?.();
    assert.deepEqual(stored?.awaiting, { "410": ["second"] }, "the second has had none of the calls in progress");
    assert.deepEqual(stored?.legs.map((leg) => leg.data.uniqueCallId), ["1.1", "1.2"], "the first had them");
    // Node-RED dies now; at the next start the second registers first.
    const next = new SubscriptionHub(api, { position: JSON.parse(JSON.stringify(stored)) as HubPosition });
    hubs.push(next);
    const second = subscriber(["410"]);
    const first = subscriber(["410"]);
    next.register("second", second);
    next.register("first", first);
    next.releaseLingering();
    await tick();
    assert.deepEqual([seen(second), seen(first)], [[], []]);
    const read = await api.call(1);
    read.resolve(answer(60, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing", 2)] }));
    const poll = await api.call(2);
    poll.resolve(answer(60, { "410": [entry("1.1", "Connected")] }));
    await api.call(3);
    assert.deepEqual(seen(second), ["1.1:Connected:false", "1.2:Ringing:true"]);
    assert.deepEqual(seen(first), ["1.1:Connected:false"], "it watched 410 when the position was written: it carries on from the cursor");
    assert.equal(next.position().awaiting, undefined, "nobody is owed them any more");
  });

  it("one that did not watch it when the position was written (a msg had removed it) is held, also when it registers first", async () => {
    const api = new ScriptedApi();
    // "second" had dropped 410 by msg: only "first" watched it; the restart brings back second's configured 410.
    const hub = new SubscriptionHub(api, { position: { ...saved(), watching: { first: ["410"], second: [] } } });
    hubs.push(hub);
    const second = subscriber(["410"]);
    const first = subscriber(["410"]);
    hub.register("second", second);
    hub.register("first", first);
    hub.releaseLingering();
    await tick();
    assert.deepEqual([seen(second), seen(first)], [[], []]);
    await answerResumedRead(api, 0);
    assert.deepEqual(seen(second), ["1.1:Connected:false", "1.2:Ringing:true"], "the call ringing on 410 was never sent to it");
    assert.deepEqual(seen(first), ["1.1:Connected:false"], "its flow had 1.2 Ringing before the crash");
    assert.deepEqual(hub.position().watching, { second: ["410"], first: ["410"] });
  });

  it("one the position names, that drops the extension by msg and takes it back before the read answers, is owed its calls", async () => {
    const api = new ScriptedApi();
    const hub = new SubscriptionHub(api, { position: { ...saved(), watching: { first: ["410"], other: ["410"] } } });
    hubs.push(hub);
    const first = subscriber(["410"]);
    hub.register("first", first);
    hub.register("other", subscriber(["410"])); // keeps 410 polled from its saved cursor throughout
    hub.releaseLingering();
    await api.call(0); // the resumed read, not answered
    hub.updateExtensions("first", ["420"]);
    hub.updateExtensions("first", ["410", "420"]); // back, but no longer the flow that had 410's calls all along
    // Whatever is asked from now on: reads list the calls in progress, polls bring nothing new (found by the model test).
    for (let n = 1; n < 12 && !seen(first).includes("1.2:Ringing:true"); n++) {
      const call = await api.call(n);
      if (call.signal?.aborted) continue;
      call.resolve(call.last === 0 ? answer(60, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing", 2)] }) : answer(60));
      await tick();
    }
    assert.ok(seen(first).includes("1.2:Ringing:true"), seen(first).join(" "));
  });

  it("one the position names, that restarts without the extension and takes it back by msg before the read answers, is owed its calls", async () => {
    const api = new ScriptedApi();
    const hub = new SubscriptionHub(api, { position: { ...saved(), watching: { first: ["410"], other: ["410"] } } });
    hubs.push(hub);
    const first = subscriber([]); // a msg had added 410 before the crash; it restarts with its configured list
    hub.register("first", first);
    hub.register("other", subscriber(["410"])); // keeps 410 polled from its saved cursor throughout
    hub.releaseLingering();
    await api.call(0); // the resumed read, not answered
    hub.updateExtensions("first", ["410"]); // a new watch, as at any time: not the flow that had 410's calls all along
    for (let n = 0; n < 12 && !seen(first).includes("1.2:Ringing:true"); n++) {
      const call = await api.call(n);
      if (call.signal?.aborted) continue;
      call.resolve(call.last === 0 ? answer(60, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing", 2)] }) : answer(60));
      await tick();
    }
    assert.ok(seen(first).includes("1.2:Ringing:true"), seen(first).join(" ")); // found by the model test, seed 631175112
  });

  for (const [how, flowsStartedBetween] of [["removed by a deploy and added back by another", true], ["redeployed", false]] as const) {
    it(`one the position names, ${how} before the read answers, is owed its calls (its flow starts again)`, async () => {
      const api = new ScriptedApi();
      const hub = new SubscriptionHub(api, { position: { ...saved(), watching: { first: ["410"], other: ["410"] } } });
      hubs.push(hub);
      hub.register("first", subscriber(["410"]));
      hub.register("other", subscriber(["410"])); // keeps 410 polled from its saved cursor throughout
      hub.releaseLingering();
      await api.call(0); // the resumed read, not answered
      await hub.deregister("first");
      if (flowsStartedBetween) hub.releaseLingering();
      const again = subscriber(["410"]); // the same node id, a new instance: its flow has nothing of 410's calls
      hub.register("first", again);
      hub.releaseLingering();
      for (let n = 0; n < 12 && !seen(again).includes("1.2:Ringing:true"); n++) {
        const call = await api.call(n);
        if (call.signal?.aborted) continue;
        call.resolve(call.last === 0 ? answer(60, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing", 2)] }) : answer(60));
        await tick();
      }
      assert.ok(seen(again).includes("1.2:Ringing:true"), seen(again).join(" ")); // outside review; model test seed -698139071
    });
  }

  it("one the saved position names as owed them, registered while a store is read, is held once it is read", async () => {
    const api = new ScriptedApi();
    let give!: (position: HubPosition | undefined) => void;
    const hub = new SubscriptionHub(api, { position: new Promise<HubPosition | undefined>((resolve) => (give = resolve)) });
    hubs.push(hub);
    const second = subscriber(["410"]);
    hub.register("second", second);
    hub.releaseLingering();
    give({ ...saved(), awaiting: { "410": ["second"] } });
    await hub.ready();
    const read = await api.call(0);
    read.resolve(answer(60, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing", 2)] }));
    const poll = await api.call(1);
    poll.resolve(answer(60, { "410": [entry("1.1", "Connected")] }));
    await api.call(2);
    assert.deepEqual(seen(second), ["1.1:Connected:false", "1.2:Ringing:true"]);
  });
});
