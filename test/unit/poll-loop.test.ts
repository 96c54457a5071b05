/**
 * The long-poll state machine alone, against a scripted API: each subscribe call waits until the test answers it.
 * Backoff schedules run on sinon's fake clock. (The same loop over real HTTP is covered in test/nodes.)
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { CallEvent, LoopStatus, PollLoop } from "../../nodes/lib/poll/poll-loop";
import type { SubscribeResponse } from "../../nodes/lib/client/types";
import { answer, entry, ScriptedApi } from "./scripted-api";

function setup(options: { timeoutSec?: number } = {}) {
  const api = new ScriptedApi();
  const events: CallEvent[] = [];
  const statuses: LoopStatus[] = [];
  const warnings: string[] = [];
  const loop = new PollLoop({
    api,
    timeoutSec: options.timeoutSec ?? 30,
    onEvents: (batch) => events.push(...batch),
    onStatus: (status) => statuses.push(status),
    onWarning: (message) => warnings.push(message),
    random: () => 0,
  });
  return { api, loop, events, statuses, warnings };
}

describe("PollLoop", () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(() => clock?.restore());

  it("reads the current state, then polls from exactly the seq of each answer", async () => {
    const { api, loop, events, statuses } = setup();
    loop.setExtensions(["410", "400"]);
    loop.start();
    const first = await api.call(0);
    assert.deepEqual([first.extensions, first.last, first.timeOut], [["410", "400"], 0, 0]);
    first.resolve(answer(32, { "410": [entry("1.1", "Ringing", 10)] }));
    const second = await api.call(1);
    assert.deepEqual([second.last, second.timeOut], [32, 30]);
    assert.deepEqual(events.map((e) => [e.extension, e.data.status, e.seq, e.initial, e.callId]), [["410", "Ringing", 32, true, 10]]);
    assert.deepEqual(statuses.map((s) => s.state), ["connecting", "listening"]);
    // seq is global: it may jump by more than the entries we see.
    second.resolve(answer(57, { "410": [entry("1.1", "Connected", 10)], "400": [entry("2.1", "Dialing Out", 11), entry("2.1", "Connected", 11)] }));
    const third = await api.call(2);
    assert.equal(third.last, 57);
    assert.deepEqual(events.slice(1).map((e) => `${e.extension}:${e.data.status}:${e.initial}`).sort(),
      ["400:Connected:false", "400:Dialing Out:false", "410:Connected:false"]);
    await loop.stop();
    assert.equal(third.signal?.aborted, true, "stop aborts the poll in flight");
  });

  it("keeps its seq through failures and backs off 1, 2, 4 s... then recovers", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop, statuses } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    const failures = [
      new NoojeeError("network", "connection refused"),
      new NoojeeError("http", "HTTP 502"),
      new NoojeeError("badBody", "malformed JSON answer"),
      new NoojeeError("api", "Expired TimeStamp (Code -1)", { code: -1 }),
    ];
    for (let i = 0; i < failures.length; i++) {
      const call = await api.call(1 + i);
      // After a failure a current-state read (0) comes before the next poll: a PBX restart may hide behind it.
      assert.equal(call.last, i === 0 ? 5 : 0, "a failure never moves the seq");
      call.reject(failures[i]);
      await clock.tickAsync(0);
      const status = statuses.at(-1) as Extract<LoopStatus, { state: "failing" }>;
      assert.equal(status.state, "failing");
      assert.equal(status.retryInMs, 1000 * 2 ** i);
      assert.equal(api.calls.length, 2 + i, "no retry before the delay");
      await clock.tickAsync(status.retryInMs - 1);
      assert.equal(api.calls.length, 2 + i, "still waiting 1 ms before the delay ends");
      await clock.tickAsync(1);
    }
    const read = await api.call(1 + failures.length);
    assert.equal(read.last, 0);
    read.resolve(answer(5));
    const recovered = await api.call(2 + failures.length);
    assert.equal(recovered.last, 5, "the poll carries on from the seq it had");
    recovered.resolve(answer(6, { "410": [entry("1.1", "Ringing")] }));
    await api.call(3 + failures.length);
    assert.equal(statuses.at(-1)?.state, "listening");
    // After a success the schedule starts again at 1 s.
    api.calls.at(-1)?.reject(new NoojeeError("network", "connection reset"));
    await clock.tickAsync(0);
    assert.equal((statuses.at(-1) as { retryInMs: number }).retryInMs, 1000);
    await loop.stop();
  });

  it("caps the backoff at 60 s and waits at least 60 s after a key rejection", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop, statuses } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    for (let i = 0; i < 9; i++) {
      (await api.call(i)).reject(new NoojeeError("network", "connection refused"));
      await clock.tickAsync(0);
      await clock.tickAsync((statuses.at(-1) as { retryInMs: number }).retryInMs);
    }
    const delays = statuses.filter((s) => s.state === "failing").map((s) => (s as { retryInMs: number }).retryInMs);
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    await loop.stop();

    const auth = setup();
    auth.loop.setExtensions(["410"]);
    auth.loop.start();
    (await auth.api.call(0)).reject(new NoojeeError("auth", "authentication failed: Invalid API Key (Code -3)", { code: -3 }));
    await clock.tickAsync(0);
    const status = auth.statuses.at(-1) as Extract<LoopStatus, { state: "failing" }>;
    assert.equal(status.error.kind, "auth");
    assert.equal(status.retryInMs, 60_000);
    await auth.loop.stop();
  });

  it("treats a lower seq as a PBX restart: carries on from it, reads the state again and emits only what changed", async () => {
    const { api, loop, events, warnings } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(900, { "410": [entry("1.1", "Connected"), entry("1.2", "Ringing"), entry("1.4", "Ringing")] }));
    const poll = await api.call(1);
    poll.resolve(answer(3));
    const resync = await api.call(2);
    assert.deepEqual([resync.last, resync.timeOut], [0, 0]);
    assert.match(warnings.join("\n"), /went back from 900 to 3/);
    // After the restart: 1.1 is still connected (no msg), 1.2 became connected (a msg), 1.3 is new, 1.4 is gone.
    resync.resolve(answer(4, { "410": [entry("1.1", "Connected"), entry("1.2", "Connected"), entry("1.3", "Ringing")] }));
    const caughtUp = await api.call(3);
    assert.deepEqual([caughtUp.last, caughtUp.timeOut], [3, 0], "from the restarted PBX's own seq, at once");
    caughtUp.resolve(answer(4));
    const next = await api.call(4);
    assert.deepEqual([next.last, next.timeOut], [4, 30]);
    // 1.4 died with the restart: it ends, marked vanished (no Hungup came from the PBX).
    assert.deepEqual(events.slice(3).map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.initial}`), ["1.2:Connected:false", "1.3:Ringing:false", "1.4:Hungup:false"]);
    assert.deepEqual(events.slice(3).map((e) => e.vanished === true), [false, false, true]);
    assert.deepEqual(loop.table.activeLegs("410").map((l) => l.data.uniqueCallId).sort(), ["1.1", "1.2", "1.3"], "1.4 died with the restart");
    await loop.stop();
  });

  for (const style of ["every", "latest"] as const) {
    it(`a call that rings and ends after a PBX restart's first answer, before the resynchronising read, still arrives (${style})`, async () => {
      const { api, loop, events } = setup();
      loop.setExtensions(["410"]);
      loop.start();
      (await api.call(0)).resolve(answer(900, { "410": [entry("1.1", "Connected")] }));
      (await api.call(1)).resolve(answer(3)); // the restarted PBX's counter: 3
      // 2.1 rings and ends (seq 4, 5), 2.2 rings (seq 6), then the read: it lists only what is in progress.
      (await api.call(2)).resolve(answer(6, { "410": [entry("1.1", "Connected"), entry("2.2", "Ringing")] }));
      const caughtUp = await api.call(3);
      assert.equal(caughtUp.last, 3);
      const changes = style === "every"
        ? [entry("2.1", "Ringing"), entry("2.1", "Hungup"), entry("2.2", "Ringing"), entry("2.2", "Connected")]
        : [entry("2.1", "Hungup"), entry("2.2", "Connected")];
      caughtUp.resolve(answer(7, { "410": changes })); // 2.2 was answered after the read (seq 7)
      await api.call(4);
      // Latest state only: the read's Ringing of 2.2 is not skipped, and goes before the answer's Connected.
      const expected = style === "every"
        ? ["2.1:Ringing", "2.1:Hungup", "2.2:Ringing", "2.2:Connected"]
        : ["2.2:Ringing", "2.1:Hungup", "2.2:Connected"];
      assert.deepEqual(events.slice(1).map((e) => `${e.data.uniqueCallId}:${e.data.status}`), expected,
        "the missed call, and the read's older Ringing of 2.2 never after its Connected");
      await loop.stop();
    });
  }

  it("an extension added as the PBX restarts: its own read shows the restart; in the read of everything its calls come as in progress", async () => {
    const { api, loop, events, warnings } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(900, { "410": [entry("1.1", "Ringing")] }));
    const held = await api.call(1);
    loop.setExtensions(["410", "420"]);
    assert.equal(held.signal?.aborted, true);
    const alone = await api.call(2);
    assert.deepEqual([alone.extensions, alone.last], [["420"], 0]);
    alone.resolve(answer(5, { "420": [entry("4.1", "Ringing")] })); // below 900: the PBX restarted
    const all = await api.call(3);
    assert.deepEqual([all.extensions, all.last, all.timeOut], [["410", "420"], 0, 0]);
    assert.match(warnings.join("\n"), /went back from 900 to 5/);
    all.resolve(answer(7, { "410": [entry("1.1", "Connected")], "420": [entry("4.1", "Connected")] }));
    const caughtUp = await api.call(4);
    assert.deepEqual([caughtUp.extensions, caughtUp.last], [["410"], 5], "410 from the restarted PBX's seq; 420 read at 7");
    caughtUp.resolve(answer(7));
    assert.deepEqual([(await api.call(5)).extensions, (await api.call(5)).last], [["410", "420"], 7]);
    assert.deepEqual(events.map((e) => `${e.extension}:${e.data.status}:${e.initial}`).sort(),
      ["410:Connected:false", "410:Ringing:true", "420:Connected:true"], "420's thrown-away read sent nothing");
    await loop.stop();
  });

  it("after a client-side timeout, checks whether the PBX restarted before polling on", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop, events } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(500));
    (await api.call(1)).reject(new NoojeeError("timeout", "no answer within 40 s"));
    await clock.tickAsync(1000);
    const probe = await api.call(2);
    assert.deepEqual([probe.last, probe.timeOut], [0, 0]);
    probe.resolve(answer(7, { "410": [entry("3.1", "Ringing")] }));
    const next = await api.call(3);
    assert.equal(next.last, 7, "the probe's lower seq is taken as a restart");
    assert.deepEqual(events.map((e) => e.data.uniqueCallId), ["3.1"]);
    // A probe that finds no restart resumes from the old cursor and emits nothing. The same run of failures: 2 s.
    next.reject(new NoojeeError("timeout", "no answer within 40 s"));
    await clock.tickAsync(2000);
    (await api.call(4)).resolve(answer(9, { "410": [entry("3.1", "Connected")] }));
    const resumed = await api.call(5);
    assert.equal(resumed.last, 7);
    assert.equal(events.length, 1);
    await loop.stop();
  });

  it("a restart check's read alone does not end a run of failures: listening only once a poll from the cursor answers", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop, statuses } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(500));
    let n = 1;
    for (const backoff of [1000, 2000, 4000]) {
      (await api.call(n++)).reject(new NoojeeError("timeout", "no answer within 10 s"));
      await clock.tickAsync(backoff);
      const probe = await api.call(n++);
      assert.deepEqual([probe.last, probe.timeOut], [0, 0]);
      probe.resolve(answer(500)); // the PBX answers a read at once, but not a poll from the cursor
      const poll = await api.call(n);
      assert.deepEqual([poll.last, poll.timeOut], [500, 0], "a quick check from the cursor");
    }
    assert.deepEqual(statuses.map((s) => (s.state === "failing" ? `failing ${s.retryInMs}` : s.state)),
      ["connecting", "listening", "failing 1000", "failing 2000", "failing 4000"], "never listening while the polls fail");
    (await api.call(n)).resolve(answer(501));
    await api.call(n + 1);
    assert.equal(statuses[statuses.length - 1].state, "listening", "the cursor's answer ends the run");
    await loop.stop();
  });

  it("reads the current state of added extensions without losing the others' cursor", async () => {
    const { api, loop, events } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(10));
    const held = await api.call(1);
    loop.setExtensions(["410", "420"]);
    assert.equal(held.signal?.aborted, true, "the held poll is cut short");
    const read = await api.call(2);
    assert.deepEqual([read.extensions, read.last, read.timeOut], [["420"], 0, 0]);
    read.resolve(answer(14, { "420": [entry("4.1", "Connected")] }));
    // 410 catches up from its own cursor at once; 420's changes before its read never come back.
    const catchUp = await api.call(3);
    assert.deepEqual([catchUp.extensions, catchUp.last, catchUp.timeOut], [["410"], 10, 0]);
    catchUp.resolve(answer(16, { "410": [entry("1.1", "Ringing")] }));
    // 420 is now the lower cursor: quiet since its read, it joins 410 at 16.
    const quiet = await api.call(4);
    assert.deepEqual([quiet.extensions, quiet.last, quiet.timeOut], [["420"], 14, 0]);
    quiet.resolve(answer(17));
    const poll = await api.call(5);
    assert.deepEqual([poll.extensions, poll.last, poll.timeOut], [["410", "420"], 16, 30]);
    poll.resolve(answer(18, { "420": [entry("4.1", "Hungup")] }));
    await api.call(6);
    assert.equal(loop.cursorCount, 1);
    assert.deepEqual(events.map((e) => `${e.extension}:${e.data.status}:${e.initial}`),
      ["420:Connected:true", "410:Ringing:false", "420:Hungup:false"]);
    await loop.stop();
  });

  it("waits before the next poll only when an answer without entries and at the same seq came back early", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop } = setup({ timeoutSec: 30 });
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(1));
    // A server ignoring timeOut: every poll comes back at once, empty, at the same seq.
    for (let n = 1; n <= 5; n++) {
      (await api.call(n)).resolve(answer(1));
      await clock.tickAsync(999);
      assert.equal(api.calls.length, n + 1, "no hot loop: the next poll waits for the idle gap");
      await clock.tickAsync(1);
    }
    (await api.call(6)).resolve(answer(3, { "410": [entry("1.1", "Ringing")] }));
    await api.call(7); // entries: re-poll at once, no clock tick needed
    assert.equal(api.calls.length, 8);
    await loop.stop();
  });

  it("polls again at once after an answer that only repeats a state already sent, or whose seq moved on", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop, events } = setup({ timeoutSec: 30 });
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(1));
    (await api.call(1)).resolve(answer(2, { "410": [entry("1.1", "Ringing")] }));
    (await api.call(2)).resolve(answer(3, { "410": [entry("1.1", "Ringing")] })); // a repeat: nothing new to emit
    const afterRepeat = await api.call(3); // no clock tick: no pause
    assert.equal(afterRepeat.last, 3);
    afterRepeat.resolve(answer(7)); // no entries, but other extensions' events moved the seq: a PBX at work
    assert.equal((await api.call(4)).last, 7);
    assert.equal(clock.now, 0, "no time passed between the polls");
    assert.deepEqual(events.map((e) => e.data.status), ["Ringing"]);
    await loop.stop();
  });

  it("skips malformed entries but keeps the valid ones and the seq", async () => {
    const { api, loop, events, warnings } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(1));
    const data = { "410": [{ CallData: null }, { nope: 1 }, entry("1.1", "Ringing"), { ...entry("1.2", "Ringing"), Code: -2 }], "999": [entry("9.9", "Ringing")] };
    (await api.call(1)).resolve(answer(8, data as unknown as SubscribeResponse["Data"]));
    assert.equal((await api.call(2)).last, 8);
    assert.deepEqual(events.map((e) => e.data.uniqueCallId), ["1.1"], "unrequested extensions are ignored too");
    assert.deepEqual(warnings, ["ignored a malformed entry for extension 410", "ignored an entry with Code -2 for extension 410"],
      "the second malformed entry is held back (rate limit)");
    await loop.stop();
    assert.equal(warnings.length, 3, "stopping passes on what was held back");
  });

  it("writes one line a minute per kind of bad entry, with the count of those held back", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const { api, loop, events, warnings } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(1));
    for (let i = 0; i < 40; i++) {
      const bad = { "410": [{ CallData: null }, { ...entry(`1.${i}`, "Ringing"), Code: "x" }, entry(`2.${i}`, "Ringing")] };
      (await api.call(i + 1)).resolve(answer(2 + i, bad as unknown as SubscribeResponse["Data"]));
    }
    await api.call(41);
    assert.equal(events.length, 40, "the good entries all pass");
    assert.deepEqual(warnings, ["ignored a malformed entry for extension 410"]);
    await clock.tickAsync(60_000);
    assert.deepEqual(warnings.slice(1), ["ignored a malformed entry for extension 410 (and 78 more like it in the last minute)"]);
    await loop.stop();
  });

  it("skips a backlog too large for one answer: reads the current state and carries on from it, with one warning", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const tooLarge = () => new NoojeeError("badBody", "answer larger than 8 MiB", { tooLarge: true });
    const { api, loop, events, statuses, warnings } = setup();
    loop.setExtensions(["410", "420"]);
    loop.start();
    (await api.call(0)).resolve(answer(100, { "410": [entry("1.1", "Ringing")], "420": [entry("2.1", "Connected")] }));
    const poll = await api.call(1);
    assert.equal(poll.last, 100);
    poll.reject(tooLarge());
    await clock.tickAsync(0);
    const read = await api.call(2); // at once: no backoff, no failing status
    assert.deepEqual([read.extensions, read.last, read.timeOut], [["410", "420"], 0, 0]);
    read.resolve(answer(5000, { "410": [entry("1.1", "Connected")], "420": [entry("2.2", "Ringing")] }));
    const next = await api.call(3);
    assert.deepEqual([next.last, next.timeOut], [5000, 30], "carries on from the read, never from the old cursor again");
    // Only what differs from what was sent, as changes: 1.1 answered, 2.2 new; 2.1 ended unseen and is forgotten.
    // 2.1 ended in the gap: it ends, marked vanished.
    assert.deepEqual(events.slice(2).map((e) => `${e.data.uniqueCallId}:${e.data.status}:${e.initial}:${e.vanished === true}`),
      ["1.1:Connected:false:false", "2.2:Ringing:false:false", "2.1:Hungup:false:true"]);
    assert.ok(!statuses.some((s) => s.state === "failing"), JSON.stringify(statuses));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /changes after seq 100 \(since \d+ s ago\) are more than one answer can hold \(answer larger than 8 MiB\)/);
    assert.match(warnings[0], /skipped the changes up to seq 5000 on extensions 410, 420/);
    // 2.1 had been sent as ringing: the warning says plainly that no msg reports its end.
    assert.match(warnings[0], /Calls that ended in between are not reported: no msg says that they ended, also for those the flow was sent before/);
    assert.deepEqual(loop.resumePoints(), [{ seq: 5000, extensions: ["410", "420"], fences: {} }], "a saved position moves on");
    await loop.stop();

    // The same from a saved position (a restart after the outage): it is not retried for ever either.
    const resumedApi = new ScriptedApi();
    const resumedEvents: CallEvent[] = [];
    const resumed = new PollLoop({
      api: resumedApi, timeoutSec: 30, onEvents: (batch) => resumedEvents.push(...batch), onStatus: () => undefined, random: () => 0,
      onWarning: (message) => warnings.push(message), resumeFrom: [{ seq: 100, extensions: ["410"], fences: {} }],
    });
    resumed.setExtensions(["410"]);
    resumed.start();
    const check = await resumedApi.call(0); // a resume begins with a current-state read, to compare once caught up
    assert.deepEqual([check.last, check.timeOut], [0, 0]);
    check.resolve(answer(4000, { "410": [entry("1.1", "Ringing")] }));
    const fromSaved = await resumedApi.call(1);
    assert.deepEqual([fromSaved.last, fromSaved.timeOut], [100, 0]);
    fromSaved.reject(tooLarge());
    const again = await resumedApi.call(2);
    assert.deepEqual([again.last, again.timeOut], [0, 0]);
    again.resolve(answer(5000, { "410": [entry("1.1", "Connected"), entry("1.3", "Ringing")] }));
    const on = await resumedApi.call(3);
    assert.equal(on.last, 5000);
    assert.match(warnings[1], /changes after seq 100 \(since the saved position\).*up to seq 5000 on extension 410 and/);
    // The read taken before the skip is older than the skip's: it settles nothing after it (no older state, no
    // "resynchronising", no call of the newer read forgotten).
    on.resolve(answer(5001));
    await resumedApi.call(4);
    assert.deepEqual(resumedEvents.map((e) => `${e.data.uniqueCallId}:${e.data.status}`), ["1.1:Connected", "1.3:Ringing"]);
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.deepEqual(resumed.table.activeLegs("410").map((leg) => leg.data.uniqueCallId).sort(), ["1.1", "1.3"]);
    await resumed.stop();
  });

  it("a backlog skipped for an extension no saved position covered sends its calls as in progress: none were ever sent", async () => {
    const tooLarge = new NoojeeError("badBody", "answer larger than 8 MiB", { tooLarge: true });
    const api = new ScriptedApi();
    const events: CallEvent[] = [];
    const loop = new PollLoop({
      api, timeoutSec: 30, onEvents: (batch) => events.push(...batch), onStatus: () => undefined, random: () => 0,
      onWarning: () => undefined, resumeFrom: [{ seq: 100, extensions: ["410"], fences: {} }],
    });
    loop.setExtensions(["410", "420"]);
    loop.start();
    (await api.call(0)).resolve(answer(4000, { "420": [entry("2.1", "Ringing")] }));
    const fromSaved = await api.call(1);
    assert.deepEqual([fromSaved.extensions, fromSaved.last], [["410", "420"], 100], "420 adopted the saved cursor");
    fromSaved.reject(tooLarge);
    (await api.call(2)).resolve(answer(5000, { "420": [entry("2.1", "Connected")] }));
    (await api.call(3)).resolve(answer(5001));
    await api.call(4);
    assert.deepEqual(events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`), ["420:2.1:Connected:true"]);
    await loop.stop();
  });

  it("stop() resolves while a backoff is pending, and leaves no timer behind", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop } = setup();
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).reject(new NoojeeError("network", "connection refused"));
    await clock.tickAsync(0);
    assert.equal(clock.countTimers(), 1);
    await loop.stop();
    assert.equal(clock.countTimers(), 0);
    await clock.tickAsync(120_000);
    assert.equal(api.calls.length, 1, "no request after stop");
  });
});
