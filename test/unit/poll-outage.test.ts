/**
 * Which changes the poll loop marks as arrived after an outage (CallEvent.afterOutage, outageMs), so that the call
 * summaries do not take their arrival for their time; and that each change carries its id. Against a scripted API,
 * with the loop's clock and backoff on sinon's fake timers.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { eventIdOf } from "../../nodes/lib/poll/call-state-table";
import { CallEvent, PollLoop, ResumePoint } from "../../nodes/lib/poll/poll-loop";
import { answer, entry, ScriptedApi } from "./scripted-api";

function setup(resumeFrom?: ResumePoint[]) {
  const api = new ScriptedApi();
  const events: CallEvent[] = [];
  const loop = new PollLoop({
    api, timeoutSec: 30, resumeFrom, random: () => 0, now: () => Date.now(),
    onEvents: (batch) => events.push(...batch), onStatus: () => undefined,
  });
  loop.setExtensions(["410"]);
  loop.start();
  return { api, loop, events };
}
const marks = (events: CallEvent[]) => events.map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.afterOutage === true}:${e.outageMs}`);

describe("PollLoop: changes that arrive after an outage", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ["setTimeout", "clearTimeout", "Date"] })));
  afterEach(() => clock.restore());

  it("marks the changes of the first answer after failed polls, with the outage's length since the last answer; only those", async () => {
    const { api, loop, events } = setup();
    (await api.call(0)).resolve(answer(5, { "410": [entry("1.1", "Ringing")] }));
    await clock.tickAsync(3000);
    (await api.call(1)).resolve(answer(6, { "410": [entry("1.1", "Connected")] })); // a held poll answered at once: on time
    await clock.tickAsync(2000);
    (await api.call(2)).reject(new NoojeeError("network", "connection refused"));
    await clock.tickAsync(1000); // the retry, after 1 s: what happened in those 3 s comes now
    // A current-state read first (a failure may hide a PBX restart), then the poll from the cursor.
    (await api.call(3)).resolve(answer(9, { "410": [entry("1.2", "Ringing")] }));
    (await api.call(4)).resolve(answer(9, { "410": [entry("1.1", "Hungup"), entry("1.2", "Ringing")] }));
    (await api.call(5)).resolve(answer(10, { "410": [entry("1.2", "Connected")] }));
    await api.call(6);
    assert.deepEqual(marks(events), ["1.1:Ringing:false:undefined", "1.1:Connected:false:undefined",
      "1.1:Hungup:true:3000", "1.2:Ringing:true:3000", "1.2:Connected:false:undefined"]);
    assert.deepEqual(events.map((e) => e.eventId), events.map((e) => eventIdOf("410", e.data)), "each change with its id");
    await loop.stop();
  });

  it("still marks them when a restart check's read succeeded before the poll that brings them (after a timeout)", async () => {
    const { api, loop, events } = setup();
    (await api.call(0)).resolve(answer(500, { "410": [entry("1.1", "Ringing")] }));
    await clock.tickAsync(40_000);
    (await api.call(1)).reject(new NoojeeError("timeout", "no answer within 40 s"));
    await clock.tickAsync(1000);
    const probe = await api.call(2);
    assert.equal(probe.last, 0);
    probe.resolve(answer(502, { "410": [entry("1.1", "Hungup")] })); // no restart: the poll on brings the changes
    const poll = await api.call(3);
    assert.equal(poll.last, 500);
    poll.resolve(answer(502, { "410": [entry("1.1", "Hungup")] }));
    await api.call(4);
    assert.deepEqual(marks(events), ["1.1:Ringing:false:undefined", "1.1:Hungup:true:41000"]);
    await loop.stop();
  });

  it("marks the first answer from a saved position (its outage began at the save, which the loop does not know), not the next", async () => {
    const { api, loop, events } = setup([{ seq: 40, extensions: ["410"], fences: {} }]);
    const read = await api.call(0); // a resume begins with a current-state read, compared once the poll catches up
    assert.deepEqual([read.last, read.timeOut], [0, 0]);
    read.resolve(answer(42, { "410": [entry("2.3", "Ringing")] }));
    const first = await api.call(1);
    assert.equal(first.last, 40);
    first.resolve(answer(42, { "410": [entry("2.1", "Ringing"), entry("2.1", "Hungup")] }));
    (await api.call(2)).resolve(answer(43, { "410": [entry("2.2", "Ringing")] }));
    await api.call(3);
    // 2.3 was ringing at the cursor, unchanged since: a call in progress (initial), not a change after the outage.
    assert.deepEqual(marks(events), ["2.1:Ringing:true:undefined", "2.1:Hungup:true:undefined", "2.3:Ringing:false:undefined",
      "2.2:Ringing:false:undefined"]);
    assert.deepEqual(events.map((e) => e.initial), [false, false, true, false]);
    await loop.stop();
  });

  it("marks the first answer of an extension no saved position covers (carried on from the lowest cursor) too", async () => {
    const api = new ScriptedApi();
    const events: CallEvent[] = [];
    const loop = new PollLoop({
      api, timeoutSec: 30, resumeFrom: [{ seq: 40, extensions: ["410"], fences: {} }], random: () => 0, now: () => Date.now(),
      onEvents: (batch) => events.push(...batch), onStatus: () => undefined,
    });
    loop.setExtensions(["410", "420"]);
    loop.start();
    (await api.call(0)).resolve(answer(42));
    const first = await api.call(1);
    assert.deepEqual([first.extensions, first.last], [["410", "420"], 40], "420 adopted the saved cursor");
    first.resolve(answer(42, { "420": [entry("4.1", "Ringing"), entry("4.1", "Hungup")] }));
    (await api.call(2)).resolve(answer(43, { "420": [entry("4.2", "Ringing")] }));
    await api.call(3);
    assert.deepEqual(marks(events), ["4.1:Ringing:true:undefined", "4.1:Hungup:true:undefined", "4.2:Ringing:false:undefined"]);
    await loop.stop();
  });

  it("a resynchronising read's changes are marked, the outage since the answer before the restart; a first read's calls are not", async () => {
    const { api, loop, events } = setup();
    (await api.call(0)).resolve(answer(900, { "410": [entry("1.1", "Ringing")] }));
    await clock.tickAsync(20_000);
    (await api.call(1)).resolve(answer(3)); // the PBX restarted meanwhile
    await clock.tickAsync(50);
    const read = await api.call(2);
    assert.deepEqual([read.last, read.timeOut], [0, 0]);
    read.resolve(answer(4, { "410": [entry("1.1", "Connected")] })); // found by the read, not seen happen
    await clock.tickAsync(50);
    // The poll carries on from the restarted PBX's own seq; once it has caught up with the read, the read's calls go out.
    const poll = await api.call(3);
    assert.equal(poll.last, 3);
    poll.resolve(answer(5, { "410": [entry("1.2", "Ringing")] })); // seen as it happens: not marked
    await api.call(4);
    assert.deepEqual(marks(events), ["1.1:Ringing:false:undefined", "1.2:Ringing:false:undefined", "1.1:Connected:true:20100"]);
    assert.equal(events[0].initial, true);
    await loop.stop();
  });

  it("no length when the outage began before the process's first answer (from a saved position): the tracker knows the save", async () => {
    const { api, loop, events } = setup([{ seq: 40, extensions: ["410"], fences: {} }]);
    (await api.call(0)).reject(new NoojeeError("network", "connection refused"));
    await clock.tickAsync(1000);
    // The resume's read, again; its seq shows the PBX restarted while Node-RED was down: it resynchronises at once.
    const read = await api.call(1);
    assert.deepEqual([read.last, read.timeOut], [0, 0]);
    read.resolve(answer(30, { "410": [entry("3.1", "Ringing")] }));
    const poll = await api.call(2);
    assert.equal(poll.last, 30);
    poll.resolve(answer(31, { "410": [entry("3.1", "Connected")] }));
    await api.call(3);
    assert.deepEqual(marks(events), ["3.1:Ringing:true:undefined", "3.1:Connected:false:undefined"]);
    await loop.stop();
  });
});
