/**
 * The fault soak's accounting (test/perf/soak-accounting.ts, soak-coverage.ts) on hand-made PBX records: states older
 * than one delivered, the join and leave windows of msg-driven extension changes, never-polled joins, and what
 * "latest" answers require. The soak itself runs only in CI; these keep its rules from drifting unnoticed.
 */
import assert from "node:assert/strict";
import type { PbxEvent, RecordedAnswer, RecordedRequest } from "../fake-pbx";
import { account, eventIdChecks, type Kill, type Received, type SoakRecords } from "../perf/soak-accounting";
import { discardedReads, segments, takenAnswers } from "../perf/soak-coverage";
import type { NodeWatch, WatchTransition } from "../perf/soak-extensions";

const X = "400";

function event(seq: number, at: number, id: string, step: number, status: string): PbxEvent {
  return {
    epoch: 0, seq, exten: X, at,
    entry: { CallData: { uniqueCallId: id, status, step, canAnswer: false, callerId: "", callStartTime: "", isQueueCall: false, isClickToDialCall: false, inbound: true }, CallID: 1, Code: 0 },
  } as PbxEvent;
}

function answer(last: number, seq: number, requestedAt: number, at: number): RecordedAnswer {
  return { epoch: 0, exten: X, last, seq, snapshot: last === 0, entries: 0, requestedAt, at };
}

function request(last: number, at: number): RecordedRequest {
  return {
    method: "POST", path: "/servicemanager/rest/CallManagementAPI/subscribe", rawQuery: "", headers: {}, at, epoch: 0, seqAtArrival: 0,
    query: { exten: X, lastSequenceNumber: String(last), timeOut: "2" },
  };
}

function msg(id: string, step: number, status: string, wall: number, initial = false): Received {
  return { node: "sub-0", exten: X, id, step, status, initial, at: wall, wall };
}

function run(input: {
  events: PbxEvent[];
  answers: RecordedAnswer[];
  requests: RecordedRequest[];
  received: Received[];
  transitions?: WatchTransition[];
  history?: NodeWatch[];
  kills?: Kill[];
  answerStyle?: "every" | "latest";
  restarts?: SoakRecords["restarts"];
  extensions?: string[];
  interruptions?: SoakRecords["interruptions"];
  /** Deploys, from sent to done (a msg change's transition is one already). */
  aborts?: Array<{ from: number; to: number }>;
}): ReturnType<typeof account> {
  const transitions = input.transitions ?? [{ at: -10, exten: X, watched: true, cause: "deploy" }];
  // As soak.ts does: the msg changes and deploys are what may abort a poll.
  const spans = [...transitions.map((t) => ({ from: t.at, to: t.at })), ...(input.aborts ?? [])];
  const answers = takenAnswers(input.answers, input.requests, [], { spans, events: input.events, received: input.received });
  const records: SoakRecords = {
    events: input.events, answers, subscribeRequests: input.requests, restarts: input.restarts ?? [], deployLog: [],
    received: input.received, finalEpoch: input.restarts?.at(-1)?.epoch ?? 0, kills: input.kills ?? [], answerStyle: input.answerStyle ?? "every",
    segments: segments(input.extensions ?? [X], transitions, input.requests, answers, input.events, input.restarts ?? []),
    history: input.history ?? [{ at: -10, node: "sub-0", extensions: [X] }],
    interruptions: input.interruptions,
  };
  return account(records);
}

describe("soak accounting", function () {
  // One call on 400: Ringing (seq 2), Connected (3), Hungup (4); the client reads at seq 1, polls 1 -> 4, then 4 -> ...
  const events = [event(2, 100, "a", 0, "Ringing"), event(3, 200, "a", 1, "Connected"), event(4, 300, "a", 2, "Hungup")];
  const answers = [answer(0, 1, 0, 5), answer(1, 4, 10, 310)];
  const requests = [request(0, 0), request(1, 10), request(4, 320)];
  const inOrder = [msg("a", 0, "Ringing", 311), msg("a", 1, "Connected", 312), msg("a", 2, "Hungup", 313)];

  it("every change delivered once and in order passes; a missing one is lost", function () {
    const t = run({ events, answers, requests, received: inOrder });
    assert.deepEqual([t.required, t.lost, t.duplicated, t.outOfOrder, t.staleInitial], [3, 0, 0, 0, 0]);
    assert.equal(run({ events, answers, requests, received: [inOrder[0], inOrder[2]] }).lost, 1);
  });

  it("a Hungup made up for a call gone with a PBX restart (vanished) is no duplicate; one for a call of the current life is phantom", function () {
    const ringing = [event(2, 100, "a", 0, "Ringing")];
    const madeUp = { ...msg("a", 0, "Hungup", 400), vanished: true };
    const received = [msg("a", 0, "Ringing", 311), madeUp];
    const gone = run({ events: ringing, answers, requests, received, restarts: [{ epoch: 1, keepCalls: false, at: 350 }] });
    assert.deepEqual([gone.vanishedEnds, gone.duplicated, gone.phantom], [1, 0, 0]);
    const ended = run({ events: [...ringing, event(3, 380, "a", 1, "Hungup")], answers, requests, received });
    assert.deepEqual([ended.vanishedEnds, ended.phantom], [1, 0], "an end the client could not see: made up, sound");
    const kept = run({ events: ringing, answers, requests, received, restarts: [{ epoch: 1, keepCalls: true, at: 350 }] });
    assert.deepEqual([kept.vanishedEnds, kept.phantom], [1, 1], "the PBX kept the call: no end to make up");
    const alive = run({ events: ringing, answers, requests, received });
    assert.deepEqual([alive.vanishedEnds, alive.duplicated, alive.phantom], [1, 0, 1]);
  });

  it("a state older than one delivered is OUT OF ORDER as a change and STALE as initial: true", function () {
    const replayed = [...inOrder.slice(0, 2), msg("a", 0, "Ringing", 312.5), msg("a", 0, "Ringing", 312.6, true), inOrder[2]];
    const t = run({ events, answers, requests, received: replayed });
    assert.equal(t.outOfOrder, 1);
    assert.equal(t.staleInitial, 1);
    assert.equal(t.duplicated, 1, "the replayed change is also a duplicate");
    assert.match(t.staleExamples[0], /sub-0 400 a Ringing#0 after Connected#1/);
  });

  it("an older state after a kill is excused only when the newer one was sent after the position the killed process left on disk", function () {
    const received = [msg("a", 0, "Ringing", 311), msg("a", 1, "Connected", 900), msg("a", 0, "Ringing", 1500, true), msg("a", 2, "Hungup", 1600)];
    // Killed at 1000 with a position on disk taken at 800: Connected (900) was not covered, so an older state may come back.
    const excused = run({ events, answers, requests, received, kills: [{ at: 1000, wall: 1000, savedWall: 800 }] });
    assert.deepEqual([excused.staleAfterKill, excused.staleInitial], [1, 0]);
    // Taken at 950: Connected was covered; the Ringing after the restart is stale, however short the time to the kill.
    const covered = run({ events, answers, requests, received, kills: [{ at: 1000, wall: 1000, savedWall: 950 }] });
    assert.deepEqual([covered.staleAfterKill, covered.staleInitial], [0, 1]);
    // No position on disk at all: nothing is excused.
    const none = run({ events, answers, requests, received, kills: [{ at: 1000, wall: 1000 }] });
    assert.deepEqual([none.staleAfterKill, none.staleInitial], [0, 1]);
  });

  it("a change sent again after a kill is within the bound only if the killed process sent it after the position on disk was taken", function () {
    const sentBy = (m: Received, pid: number, sent: number): Received => ({ ...m, pid, sent });
    // Connected first sent by pid 1 at 850 (read by the soak only at 1100, after the kill at 1000), again by pid 2.
    const received = [sentBy(inOrder[0], 1, 311), sentBy(msg("a", 1, "Connected", 1100), 1, 850), sentBy(msg("a", 1, "Connected", 1500), 2, 1490), sentBy(msg("a", 2, "Hungup", 1600), 2, 1590)];
    const within = run({ events, answers, requests, received, kills: [{ at: 1000, wall: 1000, pid: 1, savedWall: 800 }] });
    assert.deepEqual([within.resentAfterKill, within.duplicated, within.oldestResendMs], [1, 0, 150]);
    // The position on disk was taken at 900, after Connected was sent: it covered it, so this re-send breaks the bound.
    const beyond = run({ events, answers, requests, received, kills: [{ at: 1000, wall: 1000, pid: 1, savedWall: 900 }] });
    assert.deepEqual([beyond.resentAfterKill, beyond.duplicated], [0, 1]);
    assert.match(beyond.duplicateExamples[0], /a#1 Connected \(first sent 0\.1 s before the position on disk/);
    // Sent twice by the process that was killed: a duplicate whatever the position.
    const twice = run({ events, answers, requests, received: received.map((m) => ({ ...m, pid: 1 })), kills: [{ at: 1000, wall: 1000, pid: 2, savedWall: 0 }] });
    assert.deepEqual([twice.resentAfterKill, twice.duplicated], [0, 1]);
  });

  it("a change is required only while watched: excused before a rejoin's read and after a leave's last answer", function () {
    const evs = [
      event(2, 100, "a", 0, "Ringing"), // watched: required
      event(3, 1500, "b", 0, "Ringing"), // after the leave at 500: not watched
      event(4, 2005, "c", 0, "Ringing"), // after the rejoin at 2000, before its read: in the join window
      event(5, 2100, "d", 0, "Ringing"), // after the read: required
    ];
    const ans = [answer(0, 1, 0, 5), answer(1, 2, 10, 110), answer(0, 4, 2010, 2015), answer(4, 5, 2020, 2110)];
    const reqs = [request(0, 0), request(1, 10), request(2, 120), request(0, 2010), request(4, 2020), request(5, 2120)];
    const transitions: WatchTransition[] = [
      { at: -10, exten: X, watched: true, cause: "deploy" },
      { at: 500, exten: X, watched: false, cause: "msg", node: "sub-0" },
      { at: 2000, exten: X, watched: true, cause: "msg", node: "sub-0", refill: true },
    ];
    const history: NodeWatch[] = [{ at: -10, node: "sub-0", extensions: [X] }, { at: 500, node: "sub-0", extensions: [] }, { at: 2000, node: "sub-0", extensions: [X] }];
    const received = [
      msg("a", 0, "Ringing", 111),
      ...["a", "b", "c"].map((id) => msg(id, 0, "Ringing", 2016, true)), // the rejoin's read: the calls in progress
      msg("d", 0, "Ringing", 2111),
    ];
    const t = run({ events: evs, answers: ans, requests: reqs, received, transitions, history });
    assert.deepEqual([t.required, t.lost, t.notWatched, t.joinLeaveExcused, t.deafJoins, t.unwatchedMsgs], [2, 0, 1, 1, 0, 0]);
    assert.deepEqual([t.joinStatesChecked, t.joinStatesLost], [3, 0], "a, b and c at the rejoin's read");
    // The call in progress at the rejoin's read must reach the flow; a msg long after the leave is UNWATCHED.
    const without = run({ events: evs, answers: ans, requests: reqs, received: received.filter((m) => m.id !== "c"), transitions, history });
    assert.equal(without.joinStatesLost, 1);
    const late = run({ events: evs, answers: ans, requests: reqs, received: [...received, msg("b", 0, "Ringing", 1700)], transitions, history });
    assert.equal(late.unwatchedMsgs, 1);
  });

  it("a poll answer written after the client aborted the poll is not taken: a leave before the client asks again excuses its changes", function () {
    // 400 and 401 polled together. The poll from 2 is aborted by a deploy (sent at 150, done at 205), and the PBX
    // answers it before it sees the close, listing b's Ringing on 400 (seq 3). The join read that follows fails; 400
    // is removed at 600; the next poll (of 401 alone) asks again from 2: the client never had b's Ringing.
    const both = "400,401";
    const evs = [event(2, 100, "a", 0, "Ringing"), event(3, 200, "b", 0, "Ringing")];
    const ans = [{ ...answer(0, 1, 0, 5), exten: both }, { ...answer(1, 2, 10, 110), exten: both, entries: 1 }, { ...answer(2, 3, 120, 210), exten: both, entries: 1 }];
    const poll = (last: number, at: number, exten: string): RecordedRequest => ({ ...request(last, at), query: { exten, lastSequenceNumber: String(last), timeOut: "2" } });
    const transitions: WatchTransition[] = [
      { at: -10, exten: X, watched: true, cause: "deploy" },
      { at: 600, exten: X, watched: false, cause: "msg", node: "sub-0" },
    ];
    const history: NodeWatch[] = [{ at: -10, node: "sub-0", extensions: [X] }, { at: 600, node: "sub-0", extensions: [] }];
    const received = [msg("a", 0, "Ringing", 111)];
    const asked = (again: number, deploy = { from: 150, to: 205 }): ReturnType<typeof run> => run({
      events: evs, answers: ans, received, transitions, history, aborts: [deploy],
      requests: [poll(0, 0, both), poll(1, 10, both), poll(2, 120, both), poll(0, 215, both), poll(again, 900, "401")],
    });
    const dropped = asked(2);
    assert.deepEqual([dropped.required, dropped.lost, dropped.joinLeaveExcused], [1, 0, 1], dropped.lostExamples.join("; "));
    // Polled on from 3: the client took that answer, and b's Ringing was its to deliver.
    const taken = asked(3);
    assert.deepEqual([taken.required, taken.lost], [2, 1], taken.lostExamples.join("; "));
    // Nothing that aborts a poll while it was open (the deploy came after the answer): a client that asks again from
    // the old cursor dropped the answer by itself, and loses b's Ringing (outside review).
    const unprompted = asked(2, { from: 300, to: 350 });
    assert.deepEqual([unprompted.required, unprompted.lost], [2, 1], unprompted.lostExamples.join("; "));
  });

  it("an answer the client took in part (a change it alone listed reached the flow) stays taken, a deploy while it was open or not (second review)", function () {
    // 400 and 401 polled together; the poll from 2 (open 120..210) lists b Ringing on 400 and c Ringing on 401; a
    // deploy 150..205 lies inside it. c reaches the flow at 212, before any other answer listed it: the client took
    // the answer, and b Ringing (never delivered, 390 ms before 400 is removed) is lost.
    const both = "400,401";
    const on401 = (e: PbxEvent): PbxEvent => ({ ...e, exten: "401" });
    const evs = [event(2, 100, "a", 0, "Ringing"), event(3, 200, "b", 0, "Ringing"), on401(event(4, 201, "c", 0, "Ringing"))];
    const ans = [{ ...answer(0, 1, 0, 5), exten: both }, { ...answer(1, 2, 10, 110), exten: both, entries: 1 }, { ...answer(2, 4, 120, 210), exten: both, entries: 2 }];
    const poll = (last: number, at: number, exten: string): RecordedRequest => ({ ...request(last, at), query: { exten, lastSequenceNumber: String(last), timeOut: "2" } });
    const transitions: WatchTransition[] = [
      { at: -10, exten: "400", watched: true, cause: "deploy" }, { at: -10, exten: "401", watched: true, cause: "deploy" },
      { at: 600, exten: "400", watched: false, cause: "msg", node: "sub-0" },
    ];
    const history: NodeWatch[] = [{ at: -10, node: "sub-0", extensions: ["400"] }, { at: -10, node: "sub-1", extensions: ["401"] }, { at: 600, node: "sub-0", extensions: [] }];
    const t = run({
      events: evs, answers: ans, transitions, history, extensions: ["400", "401"], aborts: [{ from: 150, to: 205 }],
      requests: [poll(0, 0, both), poll(1, 10, both), poll(2, 120, both), poll(2, 220, both), poll(2, 900, "401")],
      received: [msg("a", 0, "Ringing", 111), { ...msg("c", 0, "Ringing", 212), exten: "401", node: "sub-1" }],
    });
    assert.deepEqual([t.lost, t.joinLeaveExcused], [1, 0], t.lostExamples.join("; "));
  });

  it("an answer the client dropped with no abort near it stays owed: before a leave 4.9 s later, and before a PBX restart (outside review)", function () {
    // The answer at 110 lists a's Ringing, never delivered; the client asks again from 1 and that poll fails.
    const evs = [event(2, 100, "a", 0, "Ringing")];
    const ans = [answer(0, 1, 0, 5), { ...answer(1, 2, 10, 110), entries: 1 }];
    const reqs = [request(0, 0), request(1, 10), request(1, 120), request(1, 2120)];
    const transitions: WatchTransition[] = [
      { at: -10, exten: X, watched: true, cause: "deploy" },
      { at: 5000, exten: X, watched: false, cause: "msg", node: "sub-0" },
    ];
    const left = run({ events: evs, answers: ans, requests: reqs, received: [], transitions });
    assert.deepEqual([left.required, left.lost], [1, 1], "the leave came 4.9 s after the answer");
    // The same, then a PBX restart (seen) at 3000: a's Ringing was handed out 2.9 s before it.
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const restarted = run({
      events: [...evs, in1(event(2, 3100, "c", 0, "Ringing"))],
      answers: [...ans, { ...answer(0, 1, 3050, 3055), epoch: 1 }, { ...answer(1, 2, 3060, 3110), epoch: 1, entries: 1 }],
      requests: [...reqs.slice(0, 3), { ...request(0, 3050), epoch: 1 }, { ...request(1, 3060), epoch: 1 }, { ...request(2, 3120), epoch: 1 }],
      received: [msg("c", 0, "Ringing", 3111)],
      restarts: [{ epoch: 1, keepCalls: false, at: 3000 }],
    });
    assert.deepEqual([restarted.lost, restarted.blindTail], [1, 0], restarted.lostExamples.join("; "));
  });

  it("after a PBX restart an extension resyncs at the first current-state read that covers it", function () {
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const evs = [event(2, 100, "a", 0, "Ringing"), in1(event(2, 300, "a", 1, "Connected")), in1(event(3, 400, "a", 2, "Unlinked"))];
    const ans = [
      answer(0, 1, 0, 5), answer(1, 2, 10, 110),
      { ...answer(0, 1, 240, 250), epoch: 1, exten: "401" }, // a read for an extension just added, alone
      { ...answer(0, 3, 490, 500), epoch: 1 }, // 400's resync read: the call is Unlinked then
    ];
    const reqs = [request(0, 0), request(1, 10), request(2, 120), { ...request(0, 490), epoch: 1 }, { ...request(3, 510), epoch: 1 }];
    const received = [msg("a", 0, "Ringing", 111), msg("a", 2, "Unlinked", 501, true)];
    const t = run({ events: evs, answers: ans, requests: reqs, received, restarts: [{ epoch: 1, keepCalls: true, at: 200 }] });
    assert.deepEqual([t.lost, t.blindHead, t.survivorsChecked, t.survivorsLost], [0, 2, 1, 0], "Connected came before 400's read");
  });

  it("a resync read whose taker ended before a poll after it is passed over for the survivors, not for the changes", function () {
    // Life 1: b rings (seq 1) and ends unanswered (seq 3). A read at seq 2 shows b ringing; whoever took it ends (a
    // kill, a deploy, a lost lease) before polling; the next taker polls from 1 and reads at seq 3 (b gone).
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const evs = [event(2, 100, "a", 0, "Ringing"), in1(event(1, 210, "b", 0, "Ringing")), in1(event(3, 330, "b", 1, "No Answer"))];
    const ans = [
      answer(0, 1, 0, 5), answer(1, 2, 10, 110),
      { ...answer(0, 2, 290, 300), epoch: 1 }, // the read the interrupted taker never settled
      { ...answer(1, 3, 360, 365), epoch: 1 }, { ...answer(0, 3, 370, 375), epoch: 1 },
    ];
    const reqs = [request(0, 0), request(1, 10), request(2, 120), { ...request(0, 290), epoch: 1 }, { ...request(1, 360), epoch: 1 },
      { ...request(0, 370), epoch: 1 }, { ...request(3, 380), epoch: 1 }];
    const received = [msg("a", 0, "Ringing", 111), msg("b", 1, "No Answer", 366)];
    const restarts = [{ epoch: 1, keepCalls: false, at: 200 }];
    const strict = run({ events: evs, answers: ans, requests: reqs, received, restarts });
    assert.deepEqual([strict.survivorsChecked, strict.survivorsLost, strict.lost], [1, 1, 0], "b's Ringing at the first read");
    const t = run({ events: evs, answers: ans, requests: reqs, received, restarts, interruptions: [{ from: 320, to: 350 }] });
    assert.deepEqual([t.survivorsChecked, t.survivorsLost, t.lost], [0, 0, 0], "b gone at the next read");
    const missing = run({ events: evs, answers: ans, requests: reqs, received: received.slice(0, 1), restarts, interruptions: [{ from: 320, to: 350 }] });
    assert.equal(missing.lost, 1, "the end of b is lost if it never came");
  });

  it("a read that showed the client a PBX restart, thrown away for a read of everything, does not stand for a join", function () {
    // Epoch 1: the client polls on with its old cursor (9); 400 is added at 240 and read alone (seq 3, below 9): the
    // client learns the PBX restarted and reads 400 and 401 at once (seq 4), by when the call has moved on.
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const evs = [in1(event(2, 230, "a", 0, "Ringing")), in1(event(3, 235, "a", 1, "Connected")), in1(event(4, 252, "a", 2, "Unlinked"))];
    const alone = { ...answer(0, 3, 245, 250), epoch: 1 };
    const ans = [answer(0, 1, 0, 5), alone, { ...answer(0, 4, 255, 260), epoch: 1, exten: "400,401" }];
    const reqs = [
      request(0, 0), { ...request(9, 220), epoch: 1, query: { exten: "401", lastSequenceNumber: "9", timeOut: "0" } },
      { ...request(0, 245), epoch: 1 }, { ...request(0, 255), epoch: 1, query: { exten: "400,401", lastSequenceNumber: "0", timeOut: "0" } },
      { ...request(4, 265), epoch: 1, query: { exten: "400,401", lastSequenceNumber: "4", timeOut: "2" } },
    ];
    assert.deepEqual([...discardedReads(ans, reqs)], [alone]);
    assert.deepEqual(discardedReads(ans, reqs, [{ from: 251, to: 254 }]).size, 0, "a kill before the next request: the new process reads afresh");
    const transitions: WatchTransition[] = [{ at: 240, exten: X, watched: true, cause: "deploy" }];
    const restarts = [{ epoch: 1, keepCalls: true, at: 200 }];
    const t = run({ events: evs, answers: ans, requests: reqs, received: [msg("a", 2, "Unlinked", 261, true)], transitions, restarts });
    assert.deepEqual([t.joinStatesChecked, t.joinStatesLost, t.survivorsLost, t.lost], [1, 0, 0, 0]);
    const missed = run({ events: evs, answers: ans, requests: reqs, received: [], transitions, restarts });
    assert.equal(missed.joinStatesLost, 1, "the state at the read of everything must still reach the flow");
  });

  it("a restart no seq shows: polled on from the old cursor, the states the new life set up to it are never required", function () {
    // The PBX restarts (calls kept) with its counter back below the client's cursor 2 and passes it at once: a read
    // for 401 alone happens to answer seq 2 too, but 400's poll carries the old cursor, and the Ringing at seq 2 is
    // below it.
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const evs = [in1(event(2, 210, "a", 0, "Ringing")), in1(event(3, 240, "a", 1, "Connected"))];
    const ans = [answer(0, 2, 0, 5), { ...answer(0, 2, 215, 220), epoch: 1, exten: "401" }, { ...answer(2, 3, 230, 245), epoch: 1 }];
    const reqs = [
      request(0, 0), request(2, 10),
      { ...request(0, 215), epoch: 1, query: { exten: "401", lastSequenceNumber: "0", timeOut: "0" } },
      { ...request(2, 230), epoch: 1, seqAtArrival: 3 },
      { ...request(3, 250), epoch: 1, seqAtArrival: 3 },
    ];
    const t = run({ events: evs, answers: ans, requests: reqs, received: [msg("a", 1, "Connected", 246)], restarts: [{ epoch: 1, keepCalls: true, at: 200 }] });
    assert.deepEqual([t.undetectable, t.lost, t.survivorsLost, t.blindHead], [1, 0, 0, 1]);
  });

  it("a restart no seq shows: a call kept through it whose state came after the last answer before it is owed by nobody", function () {
    // b rings at seq 2 while the poll from 1 waits; the PBX restarts (calls kept) and drops that poll; the new counter
    // passes 1 at once, so the client polls on from 1 and the new life lists only its own changes: b's Ringing is
    // forgotten with the old life, and no read of the new one lists b.
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const evs = [event(2, 150, "b", 0, "Ringing"), in1(event(2, 230, "c", 0, "Ringing"))];
    const ans = [answer(0, 1, 0, 5), { ...answer(1, 2, 220, 235), epoch: 1 }];
    const reqs = [request(0, 0), request(1, 10), { ...request(1, 220), epoch: 1, seqAtArrival: 1 }, { ...request(2, 240), epoch: 1, seqAtArrival: 2 }];
    const t = run({ events: evs, answers: ans, requests: reqs, received: [msg("c", 0, "Ringing", 236)], restarts: [{ epoch: 1, keepCalls: true, at: 200 }] });
    assert.deepEqual([t.undetectable, t.blindTail, t.lost, t.survivorsChecked, t.survivorsLost], [1, 1, 0, 0, 0], t.lostExamples.join("; "));
    // A read of the new life later lists b Ringing (read-check.ts sends a listed leg it never sent): then it is owed
    // (outside review: the first version looked only for a read before the old-cursor poll).
    const withRead = (more: Partial<Parameters<typeof run>[0]> = {}): ReturnType<typeof run> => run({
      events: evs, received: [msg("c", 0, "Ringing", 236)], restarts: [{ epoch: 1, keepCalls: true, at: 200 }],
      answers: [...ans, { ...answer(0, 2, 400, 405), epoch: 1, entries: 2 }, { ...answer(2, 2, 410, 2410), epoch: 1 }],
      requests: [...reqs, { ...request(0, 400), epoch: 1, seqAtArrival: 2 }, { ...request(2, 410), epoch: 1, seqAtArrival: 2 }],
      ...more,
    });
    const read = withRead();
    assert.deepEqual([read.undetectable, read.survivorsChecked, read.survivorsLost], [1, 1, 1], read.lostExamples.join("; "));
    // The same read inside a deploy that kept the node (an interruption): still the one that listed b (second review).
    const deployed = withRead({ interruptions: [{ from: 390, to: 500 }] });
    assert.deepEqual([deployed.survivorsChecked, deployed.survivorsLost], [1, 1], deployed.lostExamples.join("; "));
  });

  it("a restart no seq shows, then one that drops the calls before a poll settles the read listing a survivor: nobody owes it (second review)", function () {
    // As above, but the poll after the read (410) reaches a PBX restarted at 408 without its calls: the client sees
    // that restart, drops the read's check (read-check.ts restarted()) and reads the next life, where b is gone.
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const in2 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 2 });
    const evs = [event(2, 150, "b", 0, "Ringing"), in1(event(2, 230, "c", 0, "Ringing")), in2(event(1, 409, "d", 0, "Ringing"))];
    const ans = [
      answer(0, 1, 0, 5), { ...answer(1, 2, 220, 235), epoch: 1 }, { ...answer(0, 2, 400, 405), epoch: 1, entries: 2 },
      { ...answer(2, 1, 410, 411), epoch: 2, entries: 1 }, { ...answer(0, 1, 415, 416), epoch: 2, entries: 1 },
    ];
    const reqs = [
      request(0, 0), request(1, 10), { ...request(1, 220), epoch: 1, seqAtArrival: 1 }, { ...request(2, 240), epoch: 1, seqAtArrival: 2 },
      { ...request(0, 400), epoch: 1, seqAtArrival: 2 }, { ...request(2, 410), epoch: 2, seqAtArrival: 1 },
      { ...request(0, 415), epoch: 2, seqAtArrival: 1 }, { ...request(1, 420), epoch: 2, seqAtArrival: 1 },
    ];
    const t = run({
      events: evs, answers: ans, requests: reqs, received: [msg("c", 0, "Ringing", 236), msg("d", 0, "Ringing", 412)],
      restarts: [{ epoch: 1, keepCalls: true, at: 200 }, { epoch: 2, keepCalls: false, at: 408 }],
    });
    assert.deepEqual([t.survivorsLost, t.lost], [0, 0], t.lostExamples.join("; "));
  });

  it("a kill while the resume file still held a position of the PBX's previous life: counted from the new process's read", function () {
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const evs = [event(2, 100, "a", 0, "Ringing"), in1(event(2, 300, "a", 1, "Connected")), in1(event(3, 400, "a", 2, "Hungup"))];
    const ans = [
      answer(0, 1, 0, 5), answer(1, 2, 10, 110),
      { ...answer(0, 1, 240, 250), epoch: 1 }, // the killed process's resync read, not yet on disk
      { ...answer(0, 3, 490, 500), epoch: 1 }, // the new process's read, after the kill at 350: the call has ended
    ];
    const reqs = [request(0, 0), request(1, 10), request(2, 120), { ...request(0, 240), epoch: 1 }, { ...request(0, 490), epoch: 1 }, { ...request(3, 510), epoch: 1 }];
    const received = [msg("a", 0, "Ringing", 111)];
    const restarts = [{ epoch: 1, keepCalls: true, at: 200 }];
    const stale = run({ events: evs, answers: ans, requests: reqs, received, restarts, kills: [{ at: 350, wall: 350, savedWall: 150 }] });
    assert.equal(stale.lost, 0, "nothing after the killed process's read could come back");
    const onDisk = run({ events: evs, answers: ans, requests: reqs, received, restarts, kills: [{ at: 350, wall: 350, savedWall: 260 }] });
    assert.equal(onDisk.lost, 2, "with its read's position on disk, the changes after it are required");
    // Written after the restart (a deploy or msg change stores it too) but still the previous life's position.
    const lateWrite = run({ events: evs, answers: ans, requests: reqs, received, restarts, kills: [{ at: 350, wall: 350, savedWall: 230, savedSeqs: [2] }] });
    assert.equal(lateWrite.lost, 0, "a file written after the restart, holding seq 2 of the previous life");
    const ownSeq = run({ events: evs, answers: ans, requests: reqs, received, restarts, kills: [{ at: 350, wall: 350, savedWall: 260, savedSeqs: [1] }] });
    assert.equal(ownSeq.lost, 2, "holding seq 1, the killed process's read of this life");
    // No position on disk although an earlier kill found one (the position went missing): the loss is not excused.
    const earlier = { at: 20, wall: 20, savedWall: 5, upWall: 30 };
    const blank = run({ events: evs, answers: ans, requests: reqs, received, restarts, kills: [earlier, { at: 350, wall: 350, upWall: 480 }] });
    assert.deepEqual([blank.lost, blank.lostWhileDownBlank, blank.lostBeforeFirstWrite], [2, 2, 0], "both made after the killed process's last answer, before the restart's first");
    // No position ever on disk (a localfilesystem store that had not flushed yet): the README's documented loss.
    const never = run({ events: evs, answers: ans, requests: reqs, received, restarts, kills: [{ at: 350, wall: 350, upWall: 480 }] });
    assert.deepEqual([never.lost, never.lostBeforeFirstWrite], [0, 2], "a crash before the store first wrote a position out");
  });

  it("a join read just before a kill with the previous life's position on disk: its calls are owed only if the kill came 1 s or more after it", function () {
    // 400 watched; the PBX restarts at 200 (calls kept); 401 is added by a msg at 600 and read at 610 (b Ringing in
    // progress). The process is killed `after` ms later with a position of the PBX's previous life on disk; b ends
    // while it is down, and the new process's read no longer lists it. The hunt's seed 69471: killed 30 ms after such
    // a read, nothing of it reached the flow.
    const both = "400,401";
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const on401 = (e: PbxEvent): PbxEvent => ({ ...e, exten: "401" });
    const poll = (last: number, at: number, exten: string, epoch = 1): RecordedRequest => ({ ...request(last, at), epoch, query: { exten, lastSequenceNumber: String(last), timeOut: "2" } });
    const killedAfter = (after: number): ReturnType<typeof run> => {
      const kill = 615 + after;
      const evs = [event(2, 100, "a", 0, "Ringing"), in1(on401(event(2, 500, "b", 0, "Ringing"))), in1(on401(event(3, kill + 50, "b", 1, "Hungup")))];
      const ans = [
        answer(0, 1, 0, 5), answer(1, 2, 10, 110),
        { ...answer(0, 1, 240, 245), epoch: 1 }, { ...answer(1, 1, 250, 255), epoch: 1 },
        { ...answer(0, 2, 610, 615), epoch: 1, exten: "401", entries: 1 }, { ...answer(1, 2, 620, 630), epoch: 1, exten: both },
        { ...answer(0, 3, kill + 150, kill + 155), epoch: 1, exten: both }, { ...answer(3, 3, kill + 160, kill + 2160), epoch: 1, exten: both },
      ];
      const reqs = [
        request(0, 0), request(1, 10), request(2, 120), poll(0, 240, X), poll(1, 250, X), poll(0, 610, "401"), poll(1, 620, both),
        poll(2, 640, both), poll(0, kill + 150, both), poll(3, kill + 160, both),
      ];
      return run({
        events: evs, answers: ans, requests: reqs, received: [msg("a", 0, "Ringing", 111)],
        restarts: [{ epoch: 1, keepCalls: true, at: 200 }], extensions: [X, "401"],
        transitions: [{ at: -10, exten: X, watched: true, cause: "deploy" }, { at: 600, exten: "401", watched: true, cause: "msg", node: "sub-0" }],
        history: [{ at: -10, node: "sub-0", extensions: [X] }, { at: 600, node: "sub-0", extensions: [X, "401"] }],
        kills: [{ at: kill, wall: kill, savedWall: 150, upWall: kill + 140 }],
      });
    };
    const soon = killedAfter(30);
    assert.deepEqual([soon.joinStatesChecked, soon.joinStatesLost], [0, 0], soon.deafExamples.join("; "));
    const late = killedAfter(1500);
    assert.deepEqual([late.joinStatesChecked, late.joinStatesLost], [1, 1], late.deafExamples.join("; "));
  });

  it("a kill with the previous life's position on disk, the new process polling on unseen: what the life set up to that cursor is not required", function () {
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    // Life 0: a read at 1, a poll to 2 (the position on disk, seq 2). Life 1 from 200: the killed process read it at 1
    // and polled on from there; b rings (seq 2) and connects (seq 3). Killed at 350 with life 0's position on disk; the
    // new process polls from 2, below the new counter (3): it cannot see the restart, and gets Connected and Hungup.
    const evs = [event(2, 100, "a", 0, "Ringing"), in1(event(2, 300, "b", 0, "Ringing")), in1(event(3, 320, "b", 1, "Connected")), in1(event(4, 420, "b", 2, "Hungup"))];
    const ans = [answer(0, 1, 0, 5), answer(1, 2, 10, 110), { ...answer(0, 1, 240, 250), epoch: 1 }, { ...answer(1, 1, 260, 345), epoch: 1 }, { ...answer(2, 4, 390, 430), epoch: 1 }];
    const reqs = [request(0, 0), request(1, 10), request(2, 120), { ...request(0, 240), epoch: 1 }, { ...request(1, 260), epoch: 1 },
      { ...request(2, 390), epoch: 1, seqAtArrival: 3 }, { ...request(4, 440), epoch: 1, seqAtArrival: 4 }];
    const received = [msg("a", 0, "Ringing", 111), msg("b", 1, "Connected", 431), msg("b", 2, "Hungup", 432)];
    const restarts = [{ epoch: 1, keepCalls: true, at: 200 }];
    const transitions: WatchTransition[] = [{ at: -10, exten: X, watched: true, cause: "deploy" }, { at: 350, exten: X, watched: false, cause: "msg" }, { at: 380, exten: X, watched: true, cause: "restart" }];
    const t = run({ events: evs, answers: ans, requests: reqs, received, restarts, transitions, kills: [{ at: 350, wall: 350, savedWall: 150, savedSeqs: [2], upWall: 380 }] });
    assert.equal(t.undetectable, 1);
    assert.deepEqual([t.lost, t.survivorsLost, t.joinStatesLost], [0, 0, 0], "b Ringing (seq 2, at the cursor) is not required");
  });

  it("a kill with the previous life's position on disk reopens what the killed process's read summed up, but only for a node still watching when its resumed poll answers", function () {
    // Life 0: read at 1, poll to 2 (the position on disk). Life 1 from 200: b rings and ends, c rings and ends (seqs
    // 2-5); the killed process's read at 340 answers seq 5 (nothing in progress), and its poll lists d Ringing (seq 6).
    // 400 is removed by a msg at 600 and Node-RED is killed at 700 with life 0's position on disk; the restart brings
    // 400 back at 800 and polls on from 2 (unseen: the counter is at 6). Seqs 3-5 were summed up by the killed
    // process's read: only a resumed poll from 2 can list them again, so they are required of the new process alone,
    // and only if 400 is still watched when that poll answers.
    const in1 = (e: PbxEvent): PbxEvent => ({ ...e, epoch: 1 });
    const evs = [
      event(2, 100, "a", 0, "Ringing"),
      in1(event(2, 300, "b", 0, "Ringing")), in1(event(3, 305, "b", 1, "Hungup")),
      in1(event(4, 310, "c", 0, "Ringing")), in1(event(5, 315, "c", 1, "Hungup")),
      in1(event(6, 400, "d", 0, "Ringing")),
    ];
    const ans = [answer(0, 1, 0, 5), answer(1, 2, 10, 110), { ...answer(0, 5, 335, 340), epoch: 1 }, { ...answer(5, 6, 345, 410), epoch: 1 }];
    const reqs = [
      request(0, 0), request(1, 10), request(2, 120), { ...request(0, 335), epoch: 1 }, { ...request(5, 345), epoch: 1 }, { ...request(6, 420), epoch: 1 },
      { ...request(2, 810), epoch: 1, seqAtArrival: 6 },
    ];
    const received = [msg("a", 0, "Ringing", 111), msg("d", 0, "Ringing", 411)];
    const restarts = [{ epoch: 1, keepCalls: true, at: 200 }];
    const kills: Kill[] = [{ at: 700, wall: 700, savedWall: 150, savedSeqs: [2], upWall: 800 }];
    const rejoin: WatchTransition[] = [
      { at: -10, exten: X, watched: true, cause: "deploy" }, { at: 600, exten: X, watched: false, cause: "msg" },
      { at: 800, exten: X, watched: true, cause: "restart" },
    ];
    // Removed again 25 ms after the restart, before the resumed poll answered: nobody could deliver seqs 3-5.
    const droppedAgain = run({ events: evs, answers: ans, requests: reqs, received, restarts, kills, transitions: [...rejoin, { at: 825, exten: X, watched: false, cause: "msg" }] });
    assert.deepEqual([droppedAgain.undetectable, droppedAgain.lost, droppedAgain.reopenedExcused], [1, 0, 3], droppedAgain.lostExamples.join("; "));
    // Still watched when the resumed poll answers (2 -> 6, at 812): seqs 3-5 must reach the flow (d's came before).
    const answered = [...ans, { ...answer(2, 6, 810, 812), epoch: 1 }];
    const kept = run({ events: evs, answers: answered, requests: [...reqs, { ...request(6, 815), epoch: 1, seqAtArrival: 6 }], received, restarts, kills, transitions: rejoin });
    assert.deepEqual([kept.undetectable, kept.lost], [1, 3], kept.lostExamples.join("; "));
    const delivered = [...received, msg("b", 1, "Hungup", 813), msg("c", 0, "Ringing", 813), msg("c", 1, "Hungup", 813), msg("d", 0, "Ringing", 813)];
    const resumed = run({ events: evs, answers: answered, requests: [...reqs, { ...request(6, 815), epoch: 1, seqAtArrival: 6 }], received: delivered, restarts, kills, transitions: rejoin });
    assert.equal(resumed.lost, 0);
  });

  describe("what a blind kill reopens stays owed (outside review)", function () {
    // The setup of the test above: the killed process's read at 340 sums up seqs 2-5 of life 1; killed at 700 with life
    // 0's position (seq 2) on disk; the next process is up at 800 and polls on from 2, the counter being at 6.
    const in1 = <T extends { epoch: number }>(x: T, epoch = 1): T => ({ ...x, epoch });
    const evs = [
      event(2, 100, "a", 0, "Ringing"),
      in1(event(2, 300, "b", 0, "Ringing")), in1(event(3, 305, "b", 1, "Hungup")),
      in1(event(4, 310, "c", 0, "Ringing")), in1(event(5, 315, "c", 1, "Hungup")),
      in1(event(6, 400, "d", 0, "Ringing")),
    ];
    const before = [answer(0, 1, 0, 5), answer(1, 2, 10, 110), in1(answer(0, 5, 335, 340)), in1(answer(5, 6, 345, 410))];
    const asked = [request(0, 0), request(1, 10), request(2, 120), in1(request(0, 335)), in1(request(5, 345)), in1(request(6, 420))];
    const got = [msg("a", 0, "Ringing", 111), msg("d", 0, "Ringing", 411)];
    const restarts = [{ epoch: 1, keepCalls: true, at: 200 }];
    const kill: Kill = { at: 700, wall: 700, savedWall: 150, savedSeqs: [2], upWall: 800 };
    const deployed: WatchTransition = { at: -10, exten: X, watched: true, cause: "deploy" };

    it("a state the killed process's read reported as in progress was that read's to deliver", function () {
      // c rings at seq 3 and is still ringing at the read (seq 3): the read reports it; 400 is watched until 600.
      const ringing = [event(2, 100, "a", 0, "Ringing"), in1(event(2, 300, "b", 0, "Ringing")), in1(event(3, 305, "c", 0, "Ringing")), in1(event(4, 400, "d", 0, "Ringing"))];
      const ans = [answer(0, 1, 0, 5), answer(1, 2, 10, 110), in1(answer(0, 3, 335, 340)), in1(answer(3, 4, 345, 410))];
      const reqs = [request(0, 0), request(1, 10), request(2, 120), in1(request(0, 335)), in1(request(3, 345)), in1(request(4, 420)), { ...in1(request(2, 810)), seqAtArrival: 4 }];
      const transitions: WatchTransition[] = [deployed, { at: 600, exten: X, watched: false, cause: "msg" }, { at: 800, exten: X, watched: true, cause: "restart" }, { at: 825, exten: X, watched: false, cause: "msg" }];
      const t = run({ events: ringing, answers: ans, requests: reqs, received: got, restarts, kills: [kill], transitions });
      assert.deepEqual([t.lost, t.reopenedExcused], [1, 0], t.lostExamples.join("; "));
      assert.match(t.lostExamples[0], /c#0 Ringing/);
    });

    it("a restarted process that never polls an extension it kept watching owes them 4 s after it was up", function () {
      const Y = "401";
      const ans = [...before, { ...in1(answer(2, 6, 810, 812)), exten: Y }];
      const reqs = [...asked, { ...in1(request(2, 810)), seqAtArrival: 6, query: { exten: Y, lastSequenceNumber: "2", timeOut: "2" } }];
      const both = [deployed, { ...deployed, exten: Y }];
      const history = [{ at: -10, node: "sub-0", extensions: [X, Y] }];
      const removedLate = run({ events: evs, answers: ans, requests: reqs, received: got, restarts, kills: [kill], extensions: [X, Y], history, transitions: [...both, { at: 5000, exten: X, watched: false, cause: "msg" }] });
      assert.deepEqual([removedLate.lost, removedLate.reopenedExcused], [3, 0], "removed 4.2 s after the restart was up");
      const removedSoon = run({ events: evs, answers: ans, requests: reqs, received: got, restarts, kills: [kill], extensions: [X, Y], history, transitions: [...both, { at: 1000, exten: X, watched: false, cause: "msg" }] });
      assert.deepEqual([removedSoon.lost, removedSoon.reopenedExcused], [0, 3], "removed 0.2 s after it was up");
    });

    it("of two blind kills, the first resumed poll answered while watched: its losses stand, whatever the second did", function () {
      const ans = [...before, in1(answer(2, 6, 810, 812))];
      const reqs = [...asked, { ...in1(request(2, 810)), seqAtArrival: 6 }, { ...in1(request(6, 815)), seqAtArrival: 6 }, { ...in1(request(2, 1610)), seqAtArrival: 6 }];
      const kills = [kill, { at: 1500, wall: 1500, savedWall: 150, savedSeqs: [2], upWall: 1600 }];
      const t = run({ events: evs, answers: ans, requests: reqs, received: got, restarts, kills, transitions: [deployed, { at: 1625, exten: X, watched: false, cause: "msg" }] });
      assert.deepEqual([t.lost, t.reopenedExcused], [3, 0]);
    });

    it("a PBX restarted again before the resumed poll could list them: nobody owes them", function () {
      const ans = [...before, in1(answer(0, 1, 815, 816), 2)];
      const reqs = [...asked, { ...in1(request(2, 802)), seqAtArrival: 6 }, in1(request(2, 810), 2), in1(request(0, 815), 2), in1(request(1, 820), 2)];
      const received = [...got, msg("a", 0, "Ringing", 817, true), msg("d", 0, "Ringing", 817, true)];
      const t = run({ events: evs, answers: ans, requests: reqs, received, restarts: [...restarts, { epoch: 2, keepCalls: true, at: 805 }], kills: [kill], transitions: [deployed] });
      assert.deepEqual([t.lost, t.reopenedExcused], [0, 3], t.lostExamples.join("; "));
    });
  });

  it("a PBX restart forgets what no answer for that extension handed out, though polls of others went further", function () {
    // 400 and 401 polled in two requests (two cursor groups, as a restarted Node-RED resumes them); the PBX answers
    // 400's poll up to seq 6, then restarts before 401's request reaches it: 401's change at seq 5 is in a blind window.
    const Y = "401";
    const onY = (e: PbxEvent): PbxEvent => ({ ...e, exten: Y });
    const evs = [event(2, 100, "a", 0, "Ringing"), onY(event(5, 150, "b", 0, "Ringing")), event(6, 160, "a", 1, "Hungup")];
    const ans = [{ ...answer(0, 1, 0, 5), exten: `${X},${Y}` }, answer(1, 6, 10, 170)];
    const both = { ...request(0, 0), query: { exten: `${X},${Y}`, lastSequenceNumber: "0", timeOut: "0" } };
    const reqs = [both, request(1, 10), { ...request(1, 181), epoch: 1, query: { exten: Y, lastSequenceNumber: "1", timeOut: "2" } }];
    const transitions: WatchTransition[] = [{ at: -10, exten: X, watched: true, cause: "deploy" }, { at: -10, exten: Y, watched: true, cause: "deploy" }];
    const history: NodeWatch[] = [{ at: -10, node: "sub-0", extensions: [X, Y] }];
    const restarts = [{ epoch: 1, keepCalls: false, at: 180 }];
    const received = [msg("a", 0, "Ringing", 171), msg("a", 1, "Hungup", 172)];
    const t = run({ events: evs, answers: ans, requests: reqs, received, transitions, history, restarts, extensions: [X, Y] });
    assert.deepEqual([t.required, t.lost, t.blindTail], [2, 0, 1]);
    // A client that stopped polling 401 (no request for it after its last answer) gets no excuse.
    const stalled = run({ events: evs, answers: ans.slice(0, 2), requests: reqs.slice(0, 2), received, transitions, history, restarts, extensions: [X, Y] });
    assert.deepEqual([stalled.required, stalled.lost], [3, 1]);
    // Had 401's poll been answered past seq 5, its change would have been required.
    const answered = run({ events: evs, answers: [...ans, { ...answer(1, 6, 175, 176), exten: Y }], requests: reqs, received, transitions, history, restarts, extensions: [X, Y] });
    assert.deepEqual([answered.required, answered.lost], [3, 1]);
  });

  it("a change a running poll took while a deploy was under way, sent into the stopping flow, is dropped by Node-RED (documented), not lost", function () {
    // Seen in a localfilesystem soak: a poll opened at 320 answered at 353 (Hungup, seq 4), the full deploy sent at 343
    // and done at 397; the loop polled on from 4 at 355, and the restarted node carried on from 4: Node-RED had dropped
    // the msg between nodes. Ringing and Connected reached the flow.
    const evs = [event(2, 100, "a", 0, "Ringing"), event(3, 200, "a", 1, "Connected"), event(4, 352, "a", 2, "Hungup")];
    const ans = [answer(0, 1, 0, 5), answer(1, 3, 10, 210), answer(3, 4, 320, 353)];
    const deployLog: SoakRecords["deployLog"] = [{ at: 343, type: "full", done: 397, stops: "all" }];
    const received = [msg("a", 0, "Ringing", 211), msg("a", 1, "Connected", 211)];
    const tally = (requests: RecordedRequest[], answers = ans, log = deployLog): ReturnType<typeof account> => {
      const taken = takenAnswers(answers, requests);
      return account({
        events: evs, answers: taken, subscribeRequests: requests, restarts: [], deployLog: log, received, finalEpoch: 0, kills: [], answerStyle: "every",
        segments: segments([X], [{ at: -10, exten: X, watched: true, cause: "deploy" }], requests, taken, evs, []), history: [{ at: -10, node: "sub-0", extensions: [X] }],
      });
    };
    const reqs = [request(0, 0), request(1, 10), request(3, 320)];
    const dropped = tally([...reqs, request(4, 355), request(4, 400)]);
    assert.deepEqual([dropped.required, dropped.lost, dropped.lostInDeploy], [3, 0, 1]);
    // No poll carried the answer on before the deploy was done: a parked loop's answer, which the next node must get.
    assert.deepEqual([tally([...reqs, request(4, 400)]).lost, tally([...reqs, request(4, 400)]).lostInDeploy], [1, 0]);
    // The poll was opened after the deploy began (the new nodes'): nothing excuses it.
    const late = tally([...reqs.slice(0, 2), request(3, 345), request(4, 355)], [...ans.slice(0, 2), answer(3, 4, 345, 353)]);
    assert.deepEqual([late.lost, late.lostInDeploy], [1, 0]);
    // Answered after the deploy was done.
    const after = tally([...reqs, request(4, 355)], ans, [{ at: 343, type: "full", done: 350, stops: "all" }]);
    assert.deepEqual([after.lost, after.lostInDeploy], [1, 0]);
    // Outside review: a nodes deploy that kept this extension's node and sink stops nothing on its path (Node-RED
    // delivers to a node it did not stop); one that removed them does.
    const kept = tally([...reqs, request(4, 355)], ans, [{ at: 343, type: "nodes", done: 397, stops: ["401"] }]);
    assert.deepEqual([kept.lost, kept.lostInDeploy], [1, 0]);
    const removed = tally([...reqs, request(4, 355)], ans, [{ at: 343, type: "nodes", done: 397, stops: [X] }]);
    assert.deepEqual([removed.lost, removed.lostInDeploy], [0, 1]);
    // The seq carried on only after the new nodes' first read: that poll may be the next config node's.
    const byNext = tally([...reqs, request(0, 360), request(4, 365)]);
    assert.deepEqual([byNext.lost, byNext.lostInDeploy], [1, 0]);
    // Listed again later (a process resumed from seq 3 after a kill): that one had to deliver it.
    const again = tally([...reqs, request(4, 355), request(3, 1510)], [...ans, answer(3, 4, 1510, 1512)]);
    assert.deepEqual([again.lost, again.lostInDeploy], [1, 0]);
  });

  it("a join with no request for its extension within 4 s is never polled, and what follows is required", function () {
    const evs = [event(2, 100, "a", 0, "Ringing"), event(3, 6000, "b", 0, "Ringing")];
    const transitions: WatchTransition[] = [{ at: 50, exten: X, watched: true, cause: "msg", node: "sub-0", refill: true }];
    const t = run({ events: evs, answers: [answer(0, 1, 0, 5)], requests: [request(0, 0)], received: [], transitions });
    assert.equal(t.deafJoins, 1);
    assert.match(t.deafExamples[0], /400 \(added by msg to sub-0, which had been emptied/);
    assert.equal(t.lost, 1, "b, made after the limit");
  });

  it("latest answers: only each leg's newest state in a taken answer (and its final state) is required", function () {
    const onlyLatest = [msg("a", 2, "Hungup", 311)];
    const latest = run({ events, answers, requests, received: onlyLatest, answerStyle: "latest" });
    assert.deepEqual([latest.required, latest.lost, latest.notListed], [1, 0, 2]);
    assert.equal(run({ events, answers, requests, received: onlyLatest }).lost, 2, "every: the intermediate states are required");
    // An answer the client did not take (no later request with its seq) lists nothing it must have seen.
    const untaken = [...events.slice(0, 2), event(4, 300, "a", 2, "Connected"), event(5, 400, "a", 3, "Hungup")];
    const ans = [answer(0, 1, 0, 5), answer(1, 4, 10, 310), answer(1, 5, 320, 410)];
    const reqs = [request(0, 0), request(1, 10), request(1, 320), request(5, 420)];
    const t = run({ events: untaken, answers: ans, requests: reqs, received: [msg("a", 3, "Hungup", 411)], answerStyle: "latest" });
    assert.deepEqual([t.required, t.lost], [1, 0]);
  });

  it("a msg for an extension its node did not watch: judged by when it left Node-RED, the old list counting until the flow answered the change", function () {
    const other = (wall: number, sent: number): Received => ({ ...msg("a", 0, "Ringing", wall), sent });
    // sub-0 watched 400 until a msg removing it, sent at 1000 and answered at 1400.
    const history: NodeWatch[] = [{ at: -10, node: "sub-0", extensions: [X] }, { at: 1000, done: 1400, node: "sub-0", extensions: [] }];
    const judge = (m: Received): number => run({ events, answers, requests, received: [m], history }).unwatchedMsgs;
    assert.equal(judge(other(5000, 1390)), 0, "sent before the flow answered: the node may not have taken the change yet");
    assert.equal(judge(other(5000, 2300)), 0, "sent within the grace after the answer (made before, queued behind it)");
    assert.equal(judge(other(2500, 2500)), 1, "sent 1.1 s after the flow answered the removal");
    assert.equal(judge(msg("a", 0, "Ringing", 2500)), 1, "without a sending time, its arrival counts");
  });

  it("eventIds: the same for every sending of a change, different between changes; checked once any msg carries one", function () {
    const withId = (m: Received, eventId?: string): Received => ({ ...m, eventId });
    const good = [withId(inOrder[0], "e0"), withId(inOrder[1], "e1"), withId({ ...inOrder[1], initial: true }, "e1"), withId(inOrder[2], "e2")];
    assert.deepEqual(eventIdChecks(good, "auto"), { eventIdsChecked: true, eventIdsMissing: 0, eventIdsUnstable: 0, eventIdsShared: 0, eventIdExamples: [] });
    const bad = eventIdChecks([withId(inOrder[0], "e0"), withId(inOrder[1], "e0"), withId(inOrder[1], "e9"), inOrder[2]], "auto");
    assert.deepEqual([bad.eventIdsMissing, bad.eventIdsUnstable, bad.eventIdsShared], [1, 1, 1]);
    assert.equal(eventIdChecks(inOrder, "auto").eventIdsChecked, false, "none carries one: not checked");
    assert.equal(eventIdChecks(inOrder, "require").eventIdsMissing, 3);
    assert.equal(eventIdChecks(bad.eventIdsChecked ? [withId(inOrder[0], "e0")] : [], "off").eventIdsChecked, false);
  });

  it("a join's window ends at the client's first cursor for the extension: a kill soon after excuses nothing", function () {
    // 400 joins by deploy at 50 and is read at seq 1 (answered at 60); Node-RED is killed at 100 and back at 250, then
    // reads 400 afresh (seq 4) instead of carrying on from its cursor: Connected (seq 3, made while down) is lost.
    const evs = [event(2, 90, "a", 0, "Ringing"), event(3, 150, "a", 1, "Connected"), event(5, 400, "a", 2, "Hungup")];
    const ans = [answer(0, 1, 55, 60), answer(1, 2, 65, 95), answer(0, 4, 260, 265), answer(4, 5, 270, 410)];
    const reqs = [request(0, 55), request(1, 65), request(2, 120), request(0, 260), request(4, 270), request(5, 420)];
    const received = [msg("a", 0, "Ringing", 96), msg("a", 2, "Hungup", 411)];
    const transitions: WatchTransition[] = [{ at: 50, exten: X, watched: true, cause: "deploy" }];
    const downs = [{ from: 100, to: 250 }];
    const answersTaken = takenAnswers(ans, reqs, downs);
    const records: SoakRecords = {
      events: evs, answers: answersTaken, subscribeRequests: reqs, restarts: [], deployLog: [], received, finalEpoch: 0,
      kills: [{ at: 100, wall: 100, savedWall: 40 }], answerStyle: "every",
      segments: segments([X], transitions, reqs, answersTaken, evs, [], downs), history: [{ at: 50, node: "sub-0", extensions: [X] }],
    };
    const t = account(records);
    assert.deepEqual([t.required, t.lost], [3, 1]);
    assert.match(t.lostExamples[0], /a#1 Connected/);
  });
});
