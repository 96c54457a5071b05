/**
 * A proxy's idle cut of a held poll told from a failure (nodes/lib/poll/hold-limit.ts), and the poll loop's use of it
 * against a scripted API. The hold is measured on a clock the tests move by hand.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { FLOOR, HoldLimit, holdNoticeText, looksLikeCut, RETRY_MS } from "../../nodes/lib/poll/hold-limit";
import { CallEvent, LoopStatus, PollLoop } from "../../nodes/lib/poll/poll-loop";
import { answer, entry, ScriptedApi } from "./scripted-api";

const http = (status: number) => new NoojeeError("http", `HTTP ${status}`, { httpStatus: status });
const reset = new NoojeeError("network", "connection reset");

/** A HoldLimit on a hand-moved clock; `held(sec)` moves it as a poll is held. */
function limit(unitMs = 1000) {
  let t = 1_000_000;
  const hold = new HoldLimit({ unitMs, now: () => t });
  return { hold, held: (sec: number) => (t += sec * unitMs) };
}

describe("HoldLimit", () => {
  it("knows the failures a proxy gives at its idle limit", () => {
    for (const status of [502, 503, 504, 524]) assert.equal(looksLikeCut(http(status)), true, `HTTP ${status}`);
    assert.equal(looksLikeCut(reset), true);
    assert.equal(looksLikeCut(new NoojeeError("network", "connection reset (via proxy 127.0.0.1:3128)")), true);
    for (const status of [500, 404, 501]) assert.equal(looksLikeCut(http(status)), false, `HTTP ${status}`);
    assert.equal(looksLikeCut(new NoojeeError("network", "connection refused")), false);
    assert.equal(looksLikeCut(new NoojeeError("timeout", "no answer within 40 s")), false);
    assert.equal(looksLikeCut(new NoojeeError("badBody", "empty answer", { httpStatus: 200 })), false);
    assert.equal(looksLikeCut(new NoojeeError("auth", "authentication failed (HTTP 401)", { httpStatus: 401 })), false);
  });

  it("takes a 504 after a 60 s hold of a 90 s poll for a cut, and asks 47 s from then on", () => {
    const { hold, held } = limit();
    assert.equal(hold.timeOut(90), 90);
    const poll = hold.start(90);
    held(60.02);
    const verdict = hold.judge(poll, http(504));
    assert.deepEqual(verdict, {
      cut: true, timeOutSec: 47, notice: { kind: "learned", heldSec: 60, timeOutSec: 47, reason: "HTTP 504" },
    });
    assert.equal(hold.timeOut(90), 47);
    assert.equal(hold.timeOut(30), 30, "a configured timeOut below the learned one is kept");
    assert.equal(hold.learnedTimeOutSec, 47);
  });

  it("takes a fast or short-held 5xx or reset for a failure, and learns nothing", () => {
    const { hold, held } = limit();
    for (const [sec, error] of [[0.05, http(504)], [0.3, reset], [4.9, http(502)]] as const) {
      const poll = hold.start(90);
      held(sec);
      assert.deepEqual(hold.judge(poll, error), { cut: false, overdue: false, notice: undefined }, `${sec} s`);
    }
    assert.equal(hold.timeOut(90), 90);
  });

  it("takes other failures after a long hold for failures", () => {
    const { hold, held } = limit();
    for (const error of [http(500), new NoojeeError("badBody", "HTML answer instead of JSON", { httpStatus: 200 })]) {
      const poll = hold.start(90);
      held(60);
      assert.equal(hold.judge(poll, error).cut, false);
    }
    assert.equal(hold.learnedTimeOutSec, undefined);
  });

  it("calls a cut after a hold past the requested timeOut overdue (the PBX held it too long), not a cut", () => {
    const { hold, held } = limit();
    const poll = hold.start(30);
    held(60);
    assert.deepEqual(hold.judge(poll, http(504)), { cut: false, overdue: true, notice: undefined });
    const quick = hold.start(0);
    held(5);
    assert.deepEqual(hold.judge(quick, reset), { cut: false, overdue: true, notice: undefined });
    assert.equal(hold.learnedTimeOutSec, undefined);
  });

  it("takes a cut at about the requested timeOut (the proxy's limit equal to it) for a cut", () => {
    const { hold, held } = limit();
    const poll = hold.start(60);
    held(60.6);
    const verdict = hold.judge(poll, http(504));
    assert.equal(verdict.cut, true);
    assert.equal(hold.timeOut(60), 47);
  });

  it("says it once per limit: a poll sent before the limit was learned and cut at it says nothing new", () => {
    const { hold, held } = limit();
    const a = hold.start(90);
    const b = hold.start(90);
    held(60);
    assert.equal(hold.judge(a, http(504)).notice?.kind, "learned");
    assert.deepEqual(hold.judge(b, reset), { cut: true, timeOutSec: 47, notice: undefined });
  });

  it("learns a lower limit when cut again below the learned timeOut, and says so again", () => {
    const { hold, held } = limit();
    let poll = hold.start(90);
    held(60);
    hold.judge(poll, http(504));
    poll = hold.start(hold.timeOut(90));
    held(30);
    const verdict = hold.judge(poll, http(504));
    assert.deepEqual(verdict, {
      cut: true, timeOutSec: 23, notice: { kind: "learned", heldSec: 30, timeOutSec: 23, reason: "HTTP 504" },
    });
  });

  it("a reset just as a short Long poll ends is a plain failure, and does not stop a later proxy cut being learned", () => {
    // Found by the model-based tests: a 5 s poll reset at 5 s gave up for good, so the 8 s cuts after it went red.
    const { hold, held } = limit();
    const short = hold.start(5);
    held(5);
    assert.deepEqual(hold.judge(short, reset), { cut: false, overdue: false, notice: undefined });
    const long = hold.start(30);
    held(8);
    const verdict = hold.judge(long, http(504));
    assert.equal(verdict.cut, true);
    assert.equal(verdict.notice?.kind, "learned");
    assert.equal(hold.timeOut(30), 5);
  });

  it("does not shrink forever when every poll is cut at its own timeOut: below the floor, cuts are failures", () => {
    const { hold, held } = limit();
    const asked: number[] = [];
    let verdict;
    for (let i = 0; i < 20; i++) {
      const timeOut = hold.timeOut(120);
      asked.push(timeOut);
      const poll = hold.start(timeOut);
      held(timeOut);
      verdict = hold.judge(poll, http(504));
      if (!verdict.cut) break;
    }
    assert.deepEqual(asked, [120, 95, 75, 59, 46, 35, 27, 20, 15, 11, 7]);
    assert.ok(asked.every((s) => s >= FLOOR));
    assert.deepEqual(verdict, { cut: false, overdue: false, notice: { kind: "gaveUp", heldSec: 7, timeOutSec: 7, reason: "HTTP 504" } });
    // From then on a cut is a failure, said no more; the last learned timeOut stays.
    const poll = hold.start(7);
    held(7);
    assert.deepEqual(hold.judge(poll, http(504)), { cut: false, overdue: false, notice: undefined });
    assert.equal(hold.timeOut(120), 7);
  });

  it("tries the configured timeOut again after an hour: a raised limit is used, the same one relearnt silently", () => {
    const { hold, held } = limit();
    let poll = hold.start(90);
    held(60);
    hold.judge(poll, http(504));
    held(RETRY_MS / 1000 - 1);
    assert.equal(hold.timeOut(90), 47, "kept for an hour");
    held(1);
    assert.equal(hold.timeOut(90), 90, "then the configured one again");
    poll = hold.start(90);
    held(60);
    assert.deepEqual(hold.judge(poll, http(504)), { cut: true, timeOutSec: 47, notice: undefined }, "the same limit: not said again");
    assert.equal(hold.timeOut(90), 47);
    held(RETRY_MS / 1000);
    poll = hold.start(hold.timeOut(90));
    held(50);
    assert.equal(hold.judge(poll, http(504)).notice?.timeOutSec, 39, "a lower one is said");
  });

  it("tries the configured timeOut again after an hour also once cuts were taken for failures", () => {
    // One cut too short to learn from (a proxy restarted with a short limit for a while) kept 47 s for good.
    const { hold, held } = limit();
    let poll = hold.start(120);
    held(60);
    hold.judge(poll, http(504));
    poll = hold.start(hold.timeOut(120));
    held(6);
    assert.equal(hold.judge(poll, http(504)).notice?.kind, "gaveUp");
    assert.equal(hold.timeOut(120), 47);
    held(RETRY_MS / 1000);
    assert.equal(hold.timeOut(120), 120, "the configured timeOut again");
  });

  it("names a limit below 5 s once, when polls asked to hold longer are cut after about the same hold", () => {
    const { hold, held } = limit();
    const verdicts = [];
    for (const sec of [3.1, 3.4, 2.9, 3.2, 3.0]) {
      const poll = hold.start(30);
      held(sec);
      verdicts.push(hold.judge(poll, reset));
    }
    assert.ok(verdicts.every((v) => !v.cut), "failures, with backoff");
    assert.deepEqual(verdicts.map((v) => v.notice?.kind), [undefined, undefined, "gaveUp", undefined, undefined]);
    const text = holdNoticeText(verdicts[2].notice!, 30);
    assert.match(text, /polls are cut after about 3 s \(connection reset\) though the PBX was asked to hold them 30 s/);
    assert.match(text, /reverse proxy, load balancer or firewall in front of the PBX ends requests idle for about 3 s/);
    assert.match(text, /raise that idle limit above 30 s/i);
  });

  it("says nothing of fast failures, quick checks or cuts after differing short holds", () => {
    const { hold, held } = limit();
    for (const [timeOut, sec] of [[30, 0.2], [30, 0.5], [0, 3], [30, 1.5], [30, 3.5], [30, 1.4], [30, 3.6], [4, 3.5]]) {
      const poll = hold.start(timeOut);
      held(sec);
      assert.deepEqual(hold.judge(poll, http(504)), { cut: false, overdue: false, notice: undefined }, `${timeOut}/${sec}`);
    }
  });

  it("counts the hold in timeOut units (tests shrink them)", () => {
    const { hold, held } = limit(20);
    const poll = hold.start(90);
    held(60); // 1200 ms
    assert.equal(hold.judge(poll, http(504)).cut, true);
    assert.equal(hold.timeOut(90), 47);
  });

  it("measures on the monotonic clock: a wall-clock step does not make a fast failure look held", () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ["Date"] });
    try {
      const hold = new HoldLimit();
      const poll = hold.start(90);
      clock.setSystemTime(1_000_000 + 3_600_000);
      assert.equal(hold.judge(poll, http(504)).cut, false);
    } finally {
      clock.restore();
    }
  });

  it("says the figure and what to change", () => {
    const text = holdNoticeText({ kind: "learned", heldSec: 60, timeOutSec: 47, reason: "HTTP 504" }, 90);
    assert.match(text, /cut after 60 s \(HTTP 504\)/);
    assert.match(text, /idle limit of about 60 s/);
    assert.match(text, /ask for 47 s instead of 90 s/);
    assert.match(text, /set Long poll below 60 s/);
    assert.match(text, /idle limit above 90 s \(nginx proxy_read_timeout, AWS ALB idle timeout\)/);
    assert.match(holdNoticeText({ kind: "gaveUp", heldSec: 7, timeOutSec: 7, reason: "HTTP 504" }, 90), /treating the cuts as failures/);
  });
});

describe("PollLoop with a proxy's idle limit", () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(() => clock?.restore());

  function setup(timeoutSec: number) {
    const api = new ScriptedApi();
    const statuses: LoopStatus[] = [];
    const warnings: string[] = [];
    const { hold, held } = limit();
    const loop = new PollLoop({
      api,
      timeoutSec,
      holdLimit: hold,
      onEvents: () => undefined,
      onStatus: (status) => statuses.push(status),
      onWarning: (message) => warnings.push(message),
      random: () => 0,
    });
    return { api, loop, statuses, warnings, held };
  }

  it("polls again at once after a cut, asking the learned timeOut, says it once, and stays listening", async () => {
    const { api, loop, statuses, warnings, held } = setup(90);
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    const first = await api.call(1);
    assert.deepEqual([first.last, first.timeOut], [5, 90]);
    held(60);
    first.reject(http(504));
    // At once (no timer had to run): a current-state read, in case the cut was a restarting PBX, and the quick poll
    // that catches up with it; then the held poll at the same position, with the learned timeOut.
    const read = await api.call(2);
    assert.deepEqual([read.last, read.timeOut], [0, 0], "a current-state read");
    read.resolve(answer(5));
    const quick = await api.call(3);
    assert.deepEqual([quick.last, quick.timeOut], [5, 0]);
    quick.resolve(answer(5));
    const second = await api.call(4);
    assert.deepEqual([second.last, second.timeOut], [5, 47], "same position, the learned timeOut");
    held(30); // the limit went down
    second.reject(reset);
    (await api.call(5)).resolve(answer(5));
    (await api.call(6)).resolve(answer(5));
    const third = await api.call(7);
    assert.deepEqual([third.last, third.timeOut], [5, 23]);
    third.resolve(answer(6, { "410": [entry("1.1", "Ringing")] }));
    const fourth = await api.call(8);
    assert.deepEqual([fourth.last, fourth.timeOut], [6, 23]);
    assert.deepEqual(statuses.map((s) => s.state), ["connecting", "listening"]);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /cut after 60 s \(HTTP 504\).*ask for 47 s instead of 90 s/);
    assert.match(warnings[1], /cut after 30 s \(connection reset\).*ask for 23 s instead of 90 s/);
    await loop.stop();
  });

  it("a cut may be a PBX restarting, whose new counter is past ours: the read that follows ends the calls it lost", async () => {
    const api = new ScriptedApi();
    const events: CallEvent[] = [];
    const { hold, held } = limit();
    const loop = new PollLoop({ api, timeoutSec: 30, holdLimit: hold, onEvents: (e) => events.push(...e), onStatus: () => undefined, random: () => 0 });
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5, { "410": [entry("1.1", "Connected")] }));
    const poll = await api.call(1);
    held(12); // the PBX restarts: its connections drop after a while, like an idle cut
    poll.reject(reset);
    const next = await api.call(2);
    // Before the fix the loop polled on from 5, which the restarted PBX's counter (9) had passed: 1.1 stayed for 12 h.
    assert.deepEqual([next.last, next.timeOut], [0, 0], "a current-state read after the cut");
    next.resolve(answer(9));
    (await api.call(3)).resolve(answer(9));
    await api.call(4);
    const ended = events.filter((e) => e.data.uniqueCallId === "1.1").map((e) => `${e.data.status}${e.vanished ? " (vanished)" : ""}`);
    assert.deepEqual(ended, ["Connected", "Hungup (vanished)"]);
    await loop.stop();
  });

  it("still backs off and fails on a fast 5xx", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop, statuses, warnings, held } = setup(90);
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    const poll = await api.call(1);
    held(0.05);
    poll.reject(http(504));
    await clock.tickAsync(0);
    const failing = statuses.at(-1);
    assert.equal(failing?.state, "failing");
    assert.equal(failing.state === "failing" && failing.retryInMs, 1000);
    await clock.tickAsync(999);
    assert.equal(api.calls.length, 2, "no retry before the backoff");
    await clock.tickAsync(1);
    assert.equal((await api.call(2)).timeOut, 0, "the quick check after a failure");
    assert.deepEqual(warnings, []);
    await loop.stop();
  });

  it("after a cut-shaped failure past the timeOut (the PBX held it too long), checks for a PBX restart", async () => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { api, loop, statuses, held } = setup(30);
    loop.setExtensions(["410"]);
    loop.start();
    (await api.call(0)).resolve(answer(5));
    const poll = await api.call(1);
    held(60);
    poll.reject(http(504));
    await clock.tickAsync(0);
    assert.equal(statuses.at(-1)?.state, "failing");
    await clock.tickAsync(1000);
    const probe = await api.call(2);
    assert.deepEqual([probe.last, probe.timeOut], [0, 0], "a current-state read, as after a client timeout");
    await loop.stop();
  });
});
