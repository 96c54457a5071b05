/**
 * Carrying on from a saved position (after a Node-RED restart): the loop and the hub, against a scripted API.
 * The file that holds the position is tested in resume-file.test.ts; a real Node-RED killed and restarted in
 * test/resume/.
 */
import assert from "node:assert/strict";
import { CallStateTable } from "../../nodes/lib/poll/call-state-table";
import { CallEvent, PollLoop, ResumePoint } from "../../nodes/lib/poll/poll-loop";
import { HubPosition, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { answer, entry, ScriptedApi } from "./scripted-api";

const describeEvents = (events: CallEvent[]) => events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);

function loopWith(resumeFrom: ResumePoint[], table?: CallStateTable) {
  const api = new ScriptedApi();
  const events: CallEvent[] = [];
  const warnings: string[] = [];
  let answers = 0;
  const loop = new PollLoop({
    api, timeoutSec: 30, resumeFrom, table, random: () => 0,
    onEvents: (batch) => events.push(...batch),
    onStatus: () => undefined,
    onWarning: (m) => warnings.push(m),
    onAnswer: () => (answers += 1),
  });
  return { api, loop, events, warnings, answers: () => answers };
}

/** The first request of a resume: a current-state read of every extension, to check the polls against. */
async function checkRead(api: ScriptedApi, n: number, response: ReturnType<typeof answer>, extensions?: string[]): Promise<void> {
  const read = await api.call(n);
  assert.deepEqual([read.last, read.timeOut], [0, 0], `request ${n} is a current-state read`);
  if (extensions) assert.deepEqual(read.extensions, extensions);
  read.resolve(response);
}

describe("Resuming from a saved position", () => {
  it("polls from the saved seq after one read; the changes since are ordinary changes", async () => {
    const { api, loop, events, answers } = loopWith([{ seq: 50, extensions: ["410", "420"], fences: {} }]);
    assert.deepEqual(loop.resumePoints(), [], "no position before the loop has one");
    loop.setExtensions(["410", "420"]);
    loop.start();
    // The read first: a restarted PBX shows at once; here it did not restart (60 is above 50).
    await checkRead(api, 0, answer(60, { "420": [entry("2.1", "Connected")] }), ["410", "420"]);
    const resumed = await api.call(1);
    assert.deepEqual([resumed.extensions, resumed.last, resumed.timeOut], [["410", "420"], 50, 0], "from the saved seq");
    // The call that rang and ended while Node-RED was down; 2.1 connected while it was down.
    resumed.resolve(answer(60, { "410": [entry("1.1", "Ringing"), entry("1.1", "Hungup")], "420": [entry("2.1", "Connected")] }));
    const next = await api.call(2);
    assert.deepEqual([next.extensions, next.last, next.timeOut], [["410", "420"], 60, 30]);
    assert.deepEqual(describeEvents(events), ["410:1.1:Ringing:false", "410:1.1:Hungup:false", "420:2.1:Connected:false"]);
    assert.deepEqual(loop.resumePoints(), [{ seq: 60, extensions: ["410", "420"], fences: {} }]);
    assert.equal(answers(), 1);
    await loop.stop();
  });

  for (const style of ["every", "latest"] as const) {
    it(`an extension no position covers (a store that had not flushed it) carries on from the lowest saved seq (${style})`, async () => {
      const table = new CallStateTable();
      table.restore([{ extension: "430", data: entry("9.9", "Ringing").CallData, callId: 1 }]); // of a node long gone
      const { api, loop, events, warnings } = loopWith([
        { seq: 70, extensions: ["410"], fences: {} },
        { seq: 50, extensions: ["420"], fences: {} },
      ], table);
      loop.setExtensions(["410", "420", "430"]);
      loop.start();
      // In progress on 430: 3.1 since before seq 50, 3.2 rang while Node-RED was down, 3.3 since, and 3.4 rang and was
      // missed meanwhile. The read lists the calls in progress at 80.
      await checkRead(api, 0, answer(80, { "430": [entry("3.1", "Connected"), entry("3.2", "Ringing"), entry("3.3", "Ringing")] }));
      const first = await api.call(1);
      assert.deepEqual([first.extensions, first.last, first.timeOut], [["420", "430"], 50, 0], "430 with the lowest cursor");
      // 3.3 was answered after the read: the answer's Connected is newer than the read's Ringing.
      first.resolve(answer(81, {
        "430": style === "every"
          ? [entry("3.2", "Ringing"), entry("3.4", "Ringing"), entry("3.4", "Hungup"), entry("3.3", "Ringing"), entry("3.3", "Connected")]
          : [entry("3.2", "Ringing"), entry("3.4", "Hungup"), entry("3.3", "Connected")],
      }));
      const second = await api.call(2);
      assert.deepEqual([second.extensions, second.last], [["410"], 70]);
      second.resolve(answer(81));
      const joined = await api.call(3);
      assert.deepEqual([joined.extensions, joined.last, joined.timeOut], [["410", "420", "430"], 81, 30]);
      // Latest state only: the read's Ringing of 3.3 is not skipped, and goes before the answer's Connected.
      const changes = style === "every"
        ? ["430:3.2:Ringing:false", "430:3.4:Ringing:false", "430:3.4:Hungup:false", "430:3.3:Ringing:false", "430:3.3:Connected:false"]
        : ["430:3.3:Ringing:true", "430:3.2:Ringing:false", "430:3.4:Hungup:false", "430:3.3:Connected:false"];
      assert.deepEqual(describeEvents(events), [...changes, "430:3.1:Connected:true"], "3.1 as in progress, once, after the changes");
      assert.deepEqual(warnings, [], "not taken for a PBX restart");
      assert.deepEqual(loop.table.activeLegs("430").map((l) => l.data.uniqueCallId).sort(), ["3.1", "3.2", "3.3"]);
      await loop.stop();
    });
  }

  it("does not send again a state it had sent before the restart", async () => {
    const table = new CallStateTable();
    table.restore([{ extension: "410", data: entry("1.1", "Ringing").CallData, callId: 1 }]);
    const { api, loop, events } = loopWith([{ seq: 50, extensions: ["410"], fences: {} }], table);
    loop.setExtensions(["410"]);
    loop.start();
    await checkRead(api, 0, answer(52, { "410": [entry("1.1", "Connected")] }));
    (await api.call(1)).resolve(answer(52, { "410": [entry("1.1", "Ringing"), entry("1.1", "Connected")] }));
    await api.call(2);
    assert.deepEqual(describeEvents(events), ["410:1.1:Connected:false"]);
    await loop.stop();
  });

  it("detects a PBX that restarted meanwhile and resynchronises from its current state", async () => {
    const table = new CallStateTable();
    table.restore([{ extension: "410", data: entry("1.1", "Connected").CallData, callId: 1 }]);
    const { api, loop, events, warnings } = loopWith([{ seq: 500, extensions: ["410"], fences: {} }], table);
    loop.setExtensions(["410"]);
    loop.start();
    // The read comes first: its seq shows the restart at once, also on a PBX that would hold a poll from 500.
    await checkRead(api, 0, answer(4, { "410": [entry("1.1", "Connected"), entry("9.1", "Ringing")] }));
    assert.equal((await api.call(1)).last, 4);
    assert.deepEqual(describeEvents(events), ["410:9.1:Ringing:false"], "the call still in progress is not sent twice");
    assert.match(warnings[0], /went back from 500 to 4/);
    await loop.stop();
  });

  it("a position at seq 0 (a PBX whose counter had not moved) is no position: the usual current-state read", async () => {
    const { api, loop, events, warnings } = loopWith([{ seq: 0, extensions: ["410"], fences: {} }]);
    loop.setExtensions(["410"]);
    loop.start();
    const read = await api.call(0);
    assert.deepEqual([read.extensions, read.last, read.timeOut], [["410"], 0, 0]);
    read.resolve(answer(3, { "410": [entry("1.1", "Ringing")] }));
    assert.equal((await api.call(1)).last, 3);
    assert.deepEqual(describeEvents(events), ["410:1.1:Ringing:true"]);
    assert.deepEqual(warnings, []);
    await loop.stop();
  });

  it("carries on from a 1.0.0 file's fence: an extension read above the poll's seq resumes from its read", async () => {
    const { api, loop } = loopWith([{ seq: 50, extensions: ["410", "420"], fences: { "420": 58 } }]);
    loop.setExtensions(["410", "420"]);
    loop.start();
    await checkRead(api, 0, answer(60));
    const first = await api.call(1);
    assert.deepEqual([first.extensions, first.last], [["410"], 50], "the lower cursor first");
    first.resolve(answer(61, { "410": [entry("1.1", "Ringing")] }));
    const second = await api.call(2);
    assert.deepEqual([second.extensions, second.last], [["420"], 58]);
    second.resolve(answer(62));
    const joined = await api.call(3);
    assert.deepEqual([joined.extensions, joined.last, joined.timeOut], [["410", "420"], 61, 30]);
    await loop.stop();
  });

  it("a position of other extensions only: they carry on from its seq too, their calls in progress as such", async () => {
    const { api, loop, events } = loopWith([{ seq: 50, extensions: ["999"], fences: {} }]);
    loop.setExtensions(["410"]);
    loop.start();
    await checkRead(api, 0, answer(70, { "410": [entry("1.1", "Ringing")] }));
    const poll = await api.call(1);
    assert.deepEqual([poll.last, poll.timeOut], [50, 0]);
    poll.resolve(answer(70, { "410": [entry("2.1", "Hungup")] }));
    await api.call(2);
    assert.deepEqual(describeEvents(events), ["410:2.1:Hungup:false", "410:1.1:Ringing:true"]);
    await loop.stop();
  });
});

describe("SubscriptionHub with a saved position", () => {
  const saved: HubPosition = {
    polls: [{ seq: 50, extensions: ["410", "420"], fences: {} }],
    legs: [{ extension: "410", data: entry("1.1", "Ringing").CallData, callId: 1 }],
  };

  it("carries on from it for the subscribers of the start, and hands its position to the store after each answer", async () => {
    const api = new ScriptedApi();
    const positions: Array<HubPosition | undefined> = [];
    const hub = new SubscriptionHub(api, { position: saved, store: { save: (capture) => positions.push(capture()) } });
    const a: CallEvent[] = [];
    const b: CallEvent[] = [];
    hub.register("a", { extensions: ["410"], timeoutSec: 30, onEvent: (e) => a.push(e), onStatus: () => undefined });
    hub.register("b", { extensions: ["420"], timeoutSec: 30, onEvent: (e) => b.push(e), onStatus: () => undefined });
    // The first request (the read) was cut short when b joined; the next reads both, then polls from the saved seq.
    await checkRead(api, 1, answer(55, { "420": [entry("2.1", "Ringing")] }), ["410", "420"]);
    const poll = await api.call(2);
    assert.deepEqual([poll.extensions, poll.last, poll.timeOut], [["410", "420"], 50, 0]);
    poll.resolve(answer(55, { "410": [entry("1.1", "Ringing"), entry("1.1", "No Answer")], "420": [entry("2.1", "Ringing")] }));
    await api.call(3);
    assert.deepEqual(describeEvents(a), ["410:1.1:No Answer:false"]);
    assert.deepEqual(describeEvents(b), ["420:2.1:Ringing:false"]);
    // Until the flows have started, the saved seq stays too (bare): a subscriber still to come adopts from it.
    assert.deepEqual(positions.at(-1)?.polls, [{ seq: 55, extensions: ["410", "420"], fences: {} }, { seq: 50, extensions: [], fences: {} }]);
    assert.deepEqual(positions.at(-1)?.legs.map((l) => `${l.data.uniqueCallId}:${l.data.status}`), ["1.1:No Answer", "2.1:Ringing"]);

    // Once the flows have started, an extension added later gets its current state, as without a saved position.
    hub.releaseLingering();
    hub.updateExtensions("b", ["420", "410"]);
    hub.updateExtensions("a", ["410", "400"]);
    const read = await api.call(4);
    assert.deepEqual([read.extensions, read.last], [["400"], 0]);
    assert.deepEqual(positions.at(-1)?.polls, [{ seq: 55, extensions: ["410", "420"], fences: {} }], "started: the loops' own");
    await hub.close();
  });

  it("a position read asynchronously (a context store): no request until it is there, then it carries on from it", async () => {
    const api = new ScriptedApi();
    let give!: (position: HubPosition | undefined) => void;
    const hub = new SubscriptionHub(api, { position: new Promise<HubPosition | undefined>((resolve) => (give = resolve)) });
    const a: CallEvent[] = [];
    hub.register("a", { extensions: ["410", "420"], timeoutSec: 30, onEvent: (e) => a.push(e), onStatus: () => undefined });
    hub.releaseLingering(); // flows:started may come before the store has answered
    await new Promise((r) => setImmediate(r));
    assert.equal(api.calls.length, 0, "the polls wait for the position");
    give(saved);
    await hub.ready();
    await checkRead(api, 0, answer(55, { "410": [entry("1.1", "Connected")] }));
    const poll = await api.call(1);
    assert.deepEqual([poll.extensions, poll.last, poll.timeOut], [["410", "420"], 50, 0]);
    poll.resolve(answer(55, { "410": [entry("1.1", "Ringing"), entry("1.1", "Connected")] }));
    await api.call(2);
    assert.deepEqual(describeEvents(a), ["410:1.1:Connected:false"], "the saved legs were restored too");
    await hub.close();
  });

  it("no position from the store (or a failed read): the polls start with a current-state read", async () => {
    for (const position of [Promise.resolve(undefined), Promise.reject(new Error("store down"))]) {
      const api = new ScriptedApi();
      const hub = new SubscriptionHub(api, { position });
      hub.register("a", { extensions: ["410"], timeoutSec: 30, onEvent: () => undefined, onStatus: () => undefined });
      const read = await api.call(0);
      assert.deepEqual([read.extensions, read.last, read.timeOut], [["410"], 0, 0]);
      await hub.close();
    }
  });

  it("hands each subscriber its saved state by id, saves it with the position, and keeps it for a node back from a deploy", async () => {
    const api = new ScriptedApi();
    const positions: Array<HubPosition | undefined> = [];
    const states = { sub1: { n: 1 }, gone: { n: 9 } };
    const hub = new SubscriptionHub(api, {
      position: Promise.resolve({ ...saved, subscribers: states }),
      store: { save: (capture) => positions.push(capture()) },
    });
    const restored: unknown[] = [];
    let mine = { n: 0 };
    const subscriber = () => ({
      extensions: ["410"], timeoutSec: 30, onEvent: () => undefined, onStatus: () => undefined,
      saveState: () => mine, restoreState: (state: Record<string, unknown>) => restored.push(state),
    });
    hub.register("sub1", subscriber());
    assert.deepEqual(restored, [], "not before the position is there");
    await hub.ready();
    assert.deepEqual(restored, [{ n: 1 }]);
    hub.releaseLingering(); // the start is over: "gone" never came back
    await checkRead(api, 0, answer(51));
    const poll = await api.call(1);
    mine = { n: 2 };
    poll.resolve(answer(51));
    await api.call(2);
    assert.deepEqual(positions.at(-1)?.subscribers, { sub1: { n: 2 } });
    // A deploy: the node leaves and a new one with its id comes back; it gets the state the old one had.
    await hub.deregister("sub1");
    mine = { n: 3 };
    hub.register("sub1", subscriber());
    assert.deepEqual(restored, [{ n: 1 }, { n: 2 }]);
    await hub.close();
  });
});
