/**
 * After a restart, a subscriber the saved position names as watching an extension that registers late (its kept list
 * read from a slow context store: it announced itself with `expect`) while another on the same extension made the
 * polls carry on from the saved cursor is handed the changes passed on meanwhile, as the other was: the call that rang
 * and ended while Node-RED was down reaches its flow too (found by an outside review). Until it has them, no position
 * is stored past them.
 */
import assert from "node:assert/strict";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { type HubPosition, type Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { answer, entry, ScriptedApi } from "./scripted-api";

/** Saved while nothing was in progress on 410, both subscribers watching it. */
const saved = (extra: Partial<HubPosition> = {}): HubPosition => ({
  polls: [{ seq: 50, extensions: ["410"], fences: {} }],
  legs: [],
  watching: { late: ["410"], early: ["410"] },
  ...extra,
});

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[] } {
  const events: CallEvent[] = [];
  return { extensions, timeoutSec: 30, events, onEvent: (e) => events.push(e), onStatus: () => undefined };
}

const seen = (s: { events: CallEvent[] }): string[] => s.events.map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The resumed read: the current state (1.3 has ended; `inProgress` are ringing), then the poll from the cursor. */
async function answerResumedRead(api: ScriptedApi, inProgress: string[] = []): Promise<void> {
  const read = await api.call(0);
  assert.deepEqual([read.extensions, read.last], [["410"], 0]);
  read.resolve(answer(60, { "410": inProgress.map((id, n) => entry(id, "Ringing", n + 5)) }));
  const poll = await api.call(1);
  assert.deepEqual([poll.extensions, poll.last], [["410"], 50]);
  poll.resolve(answer(60, { "410": [entry("1.3", "Hungup", 3)] })); // rang and ended while Node-RED was down
  await api.call(2);
  await tick();
}

describe("SubscriptionHub: a subscriber that registers late after a restart, named by the saved position", () => {
  const hubs: SubscriptionHub[] = [];
  let saves: Array<() => HubPosition | undefined> = [];
  const warnings: string[] = [];
  let onWarn: (() => void) | undefined;
  const hubFor = (api: ScriptedApi, position: HubPosition, expectMs?: number): SubscriptionHub => {
    const hub = new SubscriptionHub(api, { position, expectMs, store: { save: (capture) => saves.push(capture) }, onWarning: (m) => {
      warnings.push(m);
      onWarn?.();
    } });
    hubs.push(hub);
    return hub;
  };
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((hub) => hub.close()));
    saves = [];
    warnings.length = 0;
  });

  it("gets the changes made while Node-RED was down, as the other did, and no position is stored past them meanwhile", async () => {
    const api = new ScriptedApi();
    const hub = hubFor(api, saved());
    const early = subscriber(["410"]);
    hub.register("early", early);
    hub.expect("late");
    hub.releaseLingering();
    const storedBefore = saves.at(-1)?.();
    assert.deepEqual(storedBefore?.watching, { late: ["410"], early: ["410"] }, "a crash now: the late one still carries on after it");
    const count = saves.length;
    await answerResumedRead(api);
    assert.deepEqual(seen(early), ["1.3:Hungup:false"]);
    assert.equal(saves.length, count, "no position is stored while the late one has not had the change");
    assert.equal(saves.at(-1)?.(), undefined, "nor taken by a store that writes later");
    const late = subscriber(["410"]);
    hub.register("late", late);
    await tick();
    assert.deepEqual(seen(late), ["1.3:Hungup:false"], "the call that rang and ended while Node-RED was down reaches it");
    const stored = saves.at(-1)?.();
    assert.equal(stored?.polls[0]?.seq, 60, "once handed on, the position moves on");
    assert.deepEqual(stored?.watching, { early: ["410"], late: ["410"] });
  });

  it("still owed the calls in progress, it gets those the changes were not about too", async () => {
    const api = new ScriptedApi();
    const hub = hubFor(api, saved({ awaiting: { "410": ["late"] } }));
    hub.register("early", subscriber(["410"]));
    hub.expect("late");
    hub.releaseLingering();
    assert.deepEqual(saves.at(-1)?.()?.awaiting, { "410": ["late"] });
    await answerResumedRead(api, ["1.4"]);
    const late = subscriber(["410"]);
    hub.register("late", late);
    await tick();
    assert.deepEqual(seen(late), ["1.3:Hungup:false", "1.4:Ringing:true"]);
  });

  it("registering without the extension, it gets nothing of it, and the position moves on", async () => {
    const api = new ScriptedApi();
    const hub = hubFor(api, saved());
    hub.register("early", subscriber(["410"]));
    hub.expect("late");
    hub.releaseLingering();
    await answerResumedRead(api);
    const late = subscriber(["420"]);
    hub.register("late", late);
    await tick();
    assert.deepEqual(seen(late), []);
    assert.equal(saves.at(-1)?.()?.polls.find((p) => p.extensions.includes("410"))?.seq, 60);
  });

  it("one the start stops waiting for: its changes go, with a warning, and the position moves on", async () => {
    const api = new ScriptedApi();
    const hub = hubFor(api, saved(), 1);
    hub.register("early", subscriber(["410"]));
    hub.expect("late");
    await answerResumedRead(api);
    assert.equal(saves.at(-1)?.(), undefined);
    const warned = new Promise<void>((resolve) => (onWarn = resolve));
    hub.releaseLingering(); // the late one never registers: the start gives up on it after expectMs
    await warned;
    assert.match(warnings.join("\n"), /took too long to read their kept extensions/);
    assert.equal(saves.at(-1)?.()?.polls[0]?.seq, 60);
  });
});

describe("SubscriptionHub: a late subscriber whose extension is read afresh when it registers", () => {
  const hubs: SubscriptionHub[] = [];
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((hub) => hub.close()));
  });

  // Found by the model-based test (seed 134646421): Busy and No Answer end a leg for the hub's table, yet the PBX still
  // lists the leg as in progress until its Hungup, so a current-state read brings the state again.
  it("is not sent again, as a call in progress, the Busy it was handed with the changes kept for it", async () => {
    const api = new ScriptedApi();
    const hub = new SubscriptionHub(api, { position: { polls: [{ seq: 50, extensions: ["410"], fences: {} }], legs: [], watching: { late: ["410"], early: ["410"] } } });
    hubs.push(hub);
    const early = subscriber(["410"]);
    hub.register("early", early);
    hub.expect("late");
    hub.releaseLingering();
    const read = await api.call(0);
    assert.deepEqual([read.extensions, read.last], [["410"], 0]);
    read.resolve(answer(60, { "410": [entry("1.3", "Busy", 3)] }));
    const poll = await api.call(1);
    assert.deepEqual([poll.extensions, poll.last], [["410"], 50]);
    poll.resolve(answer(60, { "410": [entry("1.3", "Busy", 3)] })); // rang and went busy while Node-RED was down
    await api.call(2);
    await tick();
    assert.deepEqual(seen(early), ["1.3:Busy:false"]);
    hub.updateExtensions("early", []); // its only watcher leaves 410: nothing polls it now
    const late = subscriber(["410"]);
    hub.register("late", late); // 410 comes back: read afresh
    const fresh = await api.call(3);
    assert.deepEqual([fresh.extensions, fresh.last], [["410"], 0]);
    fresh.resolve(answer(61, { "410": [entry("1.3", "Busy", 3)] })); // still listed: its Hungup has not come
    await api.call(4);
    await tick();
    assert.deepEqual(seen(late), ["1.3:Busy:false"], "the Busy once, with the changes kept for it");
  });
});
