/**
 * Held polls dropped silently on the way (no answer by the client's deadline) while quick checks answer: told from a
 * PBX restart and from a dead PBX, learned as a shorter timeOut (nodes/lib/poll/hold-limit.ts, held-polls.ts), and
 * shown as failing until a held poll gets through. Holds are measured on a clock the tests move by hand; the backoff
 * runs on sinon's fake timers.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import sinon from "sinon";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { FLOOR, HoldLimit, holdNoticeText, RETRY_MS } from "../../nodes/lib/poll/hold-limit";
import { LoopStatus, PollLoop } from "../../nodes/lib/poll/poll-loop";
import { answer, entry, ScriptedApi } from "./scripted-api";

/** What the client throws when a poll asked to hold `sec` got no answer by its deadline. */
const deadline = (sec: number) => new NoojeeError("timeout", `no answer within ${sec + 10} s`);
const refused = new NoojeeError("network", "connection refused");

function limit() {
  let t = 1_000_000;
  const hold = new HoldLimit({ now: () => t });
  return { hold, held: (sec: number) => (t += sec * 1000) };
}

describe("HoldLimit: held polls dropped silently", () => {
  it("marks lost only a held poll that got no answer long past its timeOut", () => {
    const { hold, held } = limit();
    const poll = hold.start(30);
    held(40);
    assert.deepEqual(hold.judge(poll, deadline(30)), { cut: false, overdue: false, lost: true, notice: undefined });
    const quick = hold.start(0);
    held(10);
    assert.equal(hold.judge(quick, deadline(0)).notice, undefined);
    const lost = (verdict: ReturnType<HoldLimit["judge"]>) => !verdict.cut && verdict.lost;
    const again = hold.start(0);
    held(10);
    assert.equal(lost(hold.judge(again, deadline(0))), false, "a quick check's timeout");
    const refusedPoll = hold.start(30);
    held(40);
    assert.equal(lost(hold.judge(refusedPoll, refused)), false, "another failure");
  });

  it("halves the timeOut after two losses in a row, again after each further one, down to the floor; says each once", () => {
    const { hold } = limit();
    assert.equal(hold.dropped(hold.start(30), "no answer within 40 s"), undefined, "one loss is no pattern yet");
    assert.equal(hold.timeOut(30), 30);
    assert.deepEqual(hold.dropped(hold.start(30), "no answer within 40 s"),
      { kind: "dropped", heldSec: 30, timeOutSec: 15, reason: "no answer within 40 s" });
    assert.equal(hold.timeOut(30), 15);
    assert.equal(hold.dropped(hold.start(30), "x"), undefined, "a poll sent before it was learned tells nothing new");
    assert.equal(hold.timeOut(30), 15);
    assert.equal(hold.dropped(hold.start(15), "x"), undefined, "learned again, not said again");
    assert.equal(hold.timeOut(30), 7);
    hold.dropped(hold.start(7), "x");
    assert.equal(hold.timeOut(30), FLOOR);
    assert.deepEqual(hold.dropped(hold.start(FLOOR), "no answer within 15 s"),
      { kind: "droppedGaveUp", heldSec: FLOOR, timeOutSec: FLOOR, reason: "no answer within 15 s" });
    assert.equal(hold.dropped(hold.start(FLOOR), "x"), undefined, "given up once");
    assert.equal(hold.timeOut(30), FLOOR, "the floor is kept: lost polls there are failures");
  });

  it("a held poll that answers ends the run of losses; a learned timeOut is tried again after an hour", () => {
    const { hold, held } = limit();
    hold.dropped(hold.start(30), "x");
    hold.answered();
    assert.equal(hold.dropped(hold.start(30), "x"), undefined, "not two in a row");
    assert.equal(hold.timeOut(30), 30);
    assert.ok(hold.dropped(hold.start(30), "x"));
    assert.equal(hold.timeOut(30), 15);
    held(RETRY_MS / 1000);
    assert.equal(hold.timeOut(30), 30);
  });

  it("says what happens and what to do: the catalogue's lines the config node logs, and the plain one", () => {
    const text = holdNoticeText({ kind: "dropped", heldSec: 30, timeOutSec: 15, reason: "no answer within 40 s" }, 30);
    assert.match(text, /held polls of 30 s get no answer \(no answer within 40 s\).*ask for 15 s instead of 30 s/);
    const file = path.join(__dirname, "..", "..", "..", "nodes", "locales", "en-US", "noojee-config.json");
    const lines = (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { holdLimit: Record<string, string> }>)["noojee-config"].holdLimit;
    const fill = (line: string, values: Record<string, number | string>) =>
      line.replace(/__(\w+)__/g, (_, name: string) => (name in values ? String(values[name]) : `<${name} missing>`));
    const dropped = fill(lines.dropped, { heldSec: 30, timeOutSec: 15, reason: "no answer within 40 s", configuredSec: 30 });
    assert.doesNotMatch(dropped, /missing>/);
    assert.match(dropped, /asked to hold 30 s got no answer at all \(no answer within 40 s\) while the quick check after each one worked/);
    assert.match(dropped, /now ask for 15 s instead of 30 s.*set Long poll below that idle timeout, or raise the idle timeout/);
    const gaveUp = fill(lines.droppedGaveUp, { heldSec: FLOOR, timeOutSec: FLOOR, reason: "no answer within 15 s", configuredSec: 30 });
    assert.doesNotMatch(gaveUp, /missing>/);
    assert.match(gaveUp, /held even 5 s get no answer at all.*count as failures.*Raise the idle timeout/);
  });
});

describe("PollLoop with held polls dropped silently", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => clock.restore());

  function setup(timeoutSec: number) {
    const api = new ScriptedApi();
    const statuses: LoopStatus[] = [];
    const warnings: string[] = [];
    const events: string[] = [];
    const { hold, held } = limit();
    const loop = new PollLoop({
      api,
      timeoutSec,
      holdLimit: hold,
      onEvents: (list) => events.push(...list.map((e) => `${e.data.uniqueCallId} ${e.data.status}`)),
      onStatus: (status) => statuses.push(status),
      onWarning: (message) => warnings.push(message),
      random: () => 0,
    });
    const states = () => statuses.map((s) => s.state);
    /** The held poll `n` is lost; after the backoff the restart check's read answers `readSeq`. Returns the next call. */
    const lose = async (n: number, timeOut: number, readSeq = 5) => {
      const poll = await api.call(n);
      assert.deepEqual([poll.last, poll.timeOut], [5, timeOut], `call ${n}: a held poll`);
      held(timeOut + 10);
      poll.reject(deadline(timeOut));
      await clock.tickAsync(60_000); // the backoff, whatever the attempt
      const read = await api.call(n + 1);
      assert.deepEqual([read.last, read.timeOut], [0, 0], "a read checks for a PBX restart");
      read.resolve(answer(readSeq));
      return api.call(n + 2);
    };
    return { api, loop, statuses, states, warnings, events, lose };
  }

  it("stays failing while held polls are lost and the quick checks answer, learns a shorter timeOut, says it once", async () => {
    const { api, loop, states, warnings, events, lose } = setup(30);
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    const quick = await lose(1, 30);
    assert.deepEqual([quick.last, quick.timeOut], [5, 0]);
    quick.resolve(answer(5));
    await clock.tickAsync(0);
    assert.deepEqual(states(), ["connecting", "listening", "failing"], "a quick check's answer shows no held poll gets through");
    assert.deepEqual(warnings, []);
    (await lose(4, 30)).resolve(answer(5));
    await clock.tickAsync(0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /held polls of 30 s get no answer \(no answer within 40 s\).*ask for 15 s instead of 30 s/);
    assert.deepEqual(states(), ["connecting", "listening", "failing", "failing"]);
    const shorter = await api.call(7);
    assert.deepEqual([shorter.last, shorter.timeOut], [5, 15], "the learned timeOut");
    shorter.resolve(answer(6, { "410": [entry("1.1", "Ringing")] }));
    await clock.tickAsync(0);
    assert.deepEqual(events, ["1.1 Ringing"]);
    assert.deepEqual(states(), ["connecting", "listening", "failing", "failing", "listening"], "a held poll got through");
    assert.equal((await api.call(8)).timeOut, 15);
    assert.equal(warnings.length, 1);
    await loop.stop();
  });

  it("gives up at the floor: lost polls there are failures with a growing backoff, said once", async () => {
    const { api, loop, statuses, states, warnings, lose } = setup(FLOOR);
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    for (let n = 1; n <= 10; n += 3) (await lose(n, FLOOR)).resolve(answer(5));
    await clock.tickAsync(0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /held polls of 5 s get no answer.*treating them as failures/);
    assert.deepEqual(states().slice(1), ["listening", "failing", "failing", "failing", "failing"]);
    const delays = statuses.flatMap((s) => (s.state === "failing" ? [s.retryInMs] : []));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000], "the run of failures goes on: backoff");
    await loop.stop();
  });

  it("a PBX restart that held the poll above its counter is no drop: its read shows it, and the quick check ends the failure", async () => {
    const { api, loop, states, warnings, lose } = setup(30);
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    const quick = await lose(1, 30, 2); // the read's seq went back: restarted
    assert.deepEqual([quick.last, quick.timeOut], [2, 0]);
    quick.resolve(answer(2));
    await clock.tickAsync(0);
    assert.deepEqual(states(), ["connecting", "listening", "failing", "listening"]);
    // Then one loss to a drop: one is no pattern, the restart's did not count.
    const poll = await api.call(4);
    poll.resolve(answer(5));
    (await lose(5, 30)).resolve(answer(5));
    await clock.tickAsync(0);
    assert.equal((await api.call(8)).timeOut, 30);
    assert.deepEqual(warnings.filter((w) => w.includes("get no answer")), []);
    await loop.stop();
  });

  it("a dead PBX is no drop: the read after the lost poll fails too, and the quick check once it is back ends the failure", async () => {
    const { api, loop, states, warnings } = setup(30);
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    for (const n of [1, 5]) {
      const poll = await api.call(n);
      poll.reject(deadline(30));
      await clock.tickAsync(60_000);
      (await api.call(n + 1)).reject(refused);
      await clock.tickAsync(60_000);
      (await api.call(n + 2)).resolve(answer(5)); // the read, once the PBX is back
      const quick = await api.call(n + 3);
      assert.equal(quick.timeOut, 0);
      quick.resolve(answer(5));
      await clock.tickAsync(0);
      assert.equal(states().at(-1), "listening", "back: the quick check shows it");
    }
    assert.equal((await api.call(9)).timeOut, 30, "nothing learned");
    assert.equal(warnings.length, 0);
    await loop.stop();
  });
});
