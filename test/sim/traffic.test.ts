/**
 * The simulator's traffic generator. Seeded runs on sinon's fake clock (hours of traffic in a second) check the
 * mix of calls and the rules every leg follows; runs over real HTTP check how it reacts to answer, hangup and dial.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { PbxServer, type CallData, type PbxEvent } from "../../sim/pbx-server";
import { Random, hashSeed } from "../../sim/random";
import {
  GENERATED_KINDS,
  TrafficGenerator,
  describeCall,
  type CallSummary,
  type TrafficOptions,
} from "../../sim/traffic";

const EXTENSIONS = ["400", "401", "402", "403", "404", "405", "406", "407", "408", "409"];

/** Statuses a leg may go to from each status (and from the start, ""). */
const NEXT: Record<string, readonly string[]> = {
  "": ["Ringing", "Dialing Out", "Busy"],
  Ringing: ["Connected", "No Answer", "Hungup"],
  "Dialing Out": ["Connected", "Busy", "Hungup"],
  Connected: ["Unlinked", "Hungup"],
  Unlinked: ["Connected", "Hungup"],
  "No Answer": ["Hungup"],
  Busy: ["Hungup"],
  Hungup: [],
};

interface Run {
  server: PbxServer;
  calls: CallSummary[];
  gen: TrafficGenerator;
}

/** Runs the generator for `minutes` of fake time, then lets every call finish. */
async function runOnFakeClock(options: Partial<TrafficOptions>, minutes: number): Promise<Run> {
  const clock = sinon.useFakeTimers({ now: new Date("2026-03-02T09:00:00"), toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "Date"] });
  try {
    const server = new PbxServer({ apiKey: "k" });
    const gen = new TrafficGenerator(server, { extensions: EXTENSIONS, callsPerMinute: 10, seed: "fixed", ...options });
    const calls: CallSummary[] = [];
    gen.onCall((s) => calls.push(s));
    const errors: Error[] = [];
    gen.onError((e) => errors.push(e));
    gen.start();
    await clock.tickAsync(minutes * 60_000);
    let drained = false;
    void gen.drain().then(() => (drained = true));
    await clock.tickAsync(10 * 60_000);
    assert.ok(drained, "every call ended within 10 minutes of the last arrival");
    assert.deepEqual(errors, []);
    gen.stop();
    return { server, calls, gen };
  } finally {
    clock.restore();
  }
}

/** The events of each leg, in order. */
function byLeg(events: PbxEvent[]): Map<string, PbxEvent[]> {
  const legs = new Map<string, PbxEvent[]>();
  for (const ev of events) {
    const id = ev.entry.CallData.uniqueCallId;
    let list = legs.get(id);
    if (!list) legs.set(id, (list = []));
    list.push(ev);
  }
  return legs;
}

const statusesOf = (events: PbxEvent[]): string[] => events.map((e) => e.entry.CallData.status);

describe("simulator: Random", function () {
  it("gives the same sequence for the same seed, another for another seed", function () {
    const a = new Random("42");
    const b = new Random("42");
    const c = new Random("43");
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b.next()),
      xs,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => c.next()),
      xs,
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.notEqual(hashSeed("1"), hashSeed("2"));
  });

  it("draws ints, ranges and weighted keys within bounds and roughly in proportion", function () {
    const r = new Random(7);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) {
      const n = r.int(3, 5);
      assert.ok(n >= 3 && n <= 5 && Number.isInteger(n));
      const ms = r.between({ min: 100, max: 200 });
      assert.ok(ms >= 100 && ms <= 200);
      counts[r.weighted({ a: 1, b: 3, c: 0 })]++;
    }
    assert.equal(counts.c, 0);
    assert.ok(counts.b > counts.a * 2.5 && counts.b < counts.a * 3.5, JSON.stringify(counts));
    const mean = Array.from({ length: 10_000 }, () => r.exponential(1000)).reduce((x, y) => x + y) / 10_000;
    assert.ok(mean > 950 && mean < 1050, `mean ${mean}`);
  });
});

describe("simulator: TrafficGenerator", function () {
  this.timeout(60_000);

  describe("two hours of seeded traffic on 10 extensions at 10 calls per minute", function () {
    let run: Run;
    before(async function () {
      run = await runOnFakeClock({}, 120);
    });

    it("places about callsPerMinute calls per minute", function () {
      const placed = run.calls.length + run.gen.stats.skipped;
      assert.ok(placed > 1200 * 0.9 && placed < 1200 * 1.1, `placed ${placed}`);
      assert.equal(run.gen.stats.ended, run.calls.length);
      assert.equal(run.gen.stats.inProgress, 0);
    });

    it("produces every kind of call and every outcome", function () {
      const kinds = new Set(run.calls.map((c) => c.kind));
      for (const kind of GENERATED_KINDS) assert.ok(kinds.has(kind), `no ${kind} call`);
      const outcomes = new Set(run.calls.map((c) => c.outcome));
      for (const outcome of ["answered", "transferred", "missed", "busy", "no answer"]) assert.ok(outcomes.has(outcome as never), `no ${outcome}`);
      for (const kind of ["inbound", "missed", "outbound", "internal", "queue", "transfer", "busy"] as const) {
        const n = run.calls.filter((c) => c.kind === kind).length;
        assert.ok(n >= 20, `only ${n} ${kind} calls`);
      }
    });

    it("ends every leg with exactly one Hungup, in a valid order of statuses, with one CallID", function () {
      const legs = byLeg(run.server.events);
      assert.ok(legs.size > run.calls.length, `${legs.size} legs`);
      for (const [id, events] of legs) {
        const statuses = statusesOf(events);
        let prev = "";
        for (const s of statuses) {
          assert.ok(NEXT[prev].includes(s), `leg ${id}: ${prev || "start"} -> ${s} in ${statuses.join(", ")}`);
          prev = s;
        }
        assert.equal(prev, "Hungup", `leg ${id} ends with ${prev}`);
        assert.equal(new Set(events.map((e) => e.entry.CallID)).size, 1, `leg ${id} changes CallID`);
        assert.equal(new Set(events.map((e) => e.exten)).size, 1, `leg ${id} changes extension`);
      }
      assert.equal(run.server.legsOf("400").length + run.server.legsOf("405").length, 0);
    });

    it("sets hangupCause only on legs that never connected, and callStartTime once connected", function () {
      for (const [id, events] of byLeg(run.server.events)) {
        const connected = events.some((e) => e.entry.CallData.status === "Connected");
        const last = events[events.length - 1].entry.CallData;
        if (connected) {
          assert.equal(last.hangupCause, undefined, `leg ${id}`);
          assert.match(String(last.callStartTime), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
        } else {
          assert.ok(["NO_ANSWER", "BUSY", "DISCONNECTED"].includes(String(last.hangupCause)), `leg ${id}: ${last.hangupCause}`);
          assert.equal(last.callStartTime, "");
        }
      }
    });

    it("never rings an extension that has another leg in progress, so never two ringing legs on one extension", function () {
      const inProgress = new Map<string, Set<string>>();
      for (const ev of run.server.events) {
        const id = ev.entry.CallData.uniqueCallId;
        let set = inProgress.get(ev.exten);
        if (!set) inProgress.set(ev.exten, (set = new Set()));
        if (!set.has(id) && ev.entry.CallData.status === "Ringing") {
          assert.equal(set.size, 0, `${ev.exten} rings while ${[...set].join(", ")} in progress (seq ${ev.seq})`);
        }
        if (ev.entry.CallData.status === "Hungup") set.delete(id);
        else set.add(id);
      }
    });

    it("plays missed calls as No Answer then Hungup NO_ANSWER, and busy extensions as Busy then Hungup BUSY", function () {
      const legs = [...byLeg(run.server.events).values()];
      const missed = legs.filter((l) => statusesOf(l).join() === "Ringing,No Answer,Hungup");
      assert.ok(missed.length > 50);
      for (const l of missed) assert.equal(l[2].entry.CallData.hangupCause, "NO_ANSWER");
      const busy = legs.filter((l) => statusesOf(l).join() === "Busy,Hungup");
      assert.ok(busy.length > 10);
      for (const l of busy) {
        assert.equal(l[1].entry.CallData.hangupCause, "BUSY");
        // The extension was on another call at that moment.
        const others = run.server.events.filter((e) => e.exten === l[0].exten && e.seq < l[0].seq);
        const open = new Set<string>();
        for (const e of others) {
          if (e.entry.CallData.status === "Hungup") open.delete(e.entry.CallData.uniqueCallId);
          else open.add(e.entry.CallData.uniqueCallId);
        }
        assert.ok(open.size > 0, `Busy on idle extension ${l[0].exten}`);
      }
    });

    it("plays transfers (Unlinked then Connected to the caller), queue calls and outbound dials", function () {
      const legs = [...byLeg(run.server.events).values()];
      const transferred = legs.filter((l) => statusesOf(l).join() === "Ringing,Connected,Unlinked,Connected,Hungup");
      assert.ok(transferred.length > 10);
      for (const l of transferred) assert.notEqual(l[1].entry.CallData.callerId, l[3].entry.CallData.callerId);
      const transfers = run.calls.filter((c) => c.outcome === "transferred");
      assert.equal(transfers.length, transferred.length);
      for (const c of transfers) assert.equal(c.path.length, 2);

      const queueLegs = legs.filter((l) => l[0].entry.CallData.isQueueCall === true);
      assert.ok(queueLegs.length > 20);
      for (const l of queueLegs) assert.equal(l[0].entry.CallData.canAnswer, false);
      const nonQueueRinging = legs.filter((l) => l[0].entry.CallData.status === "Ringing" && !l[0].entry.CallData.isQueueCall);
      for (const l of nonQueueRinging) assert.equal(l[0].entry.CallData.canAnswer, true);

      const outbound = legs.filter((l) => l[0].entry.CallData.status === "Dialing Out" && /^0[2-8]\d{8}$/.test(String(l[0].entry.CallData.callerId)));
      assert.ok(outbound.length > 50);
      for (const l of outbound) assert.equal(l[0].entry.CallData.inbound, false);
    });

    it("focus extensions are not needed for every extension to get calls", function () {
      const used = new Set(run.server.events.map((e) => e.exten));
      assert.deepEqual([...used].sort(), EXTENSIONS);
    });

    it("describes each call on one line", function () {
      for (const c of run.calls) {
        const line = describeCall(c);
        assert.ok(!line.includes("\n"));
        assert.match(line, new RegExp(`^#${c.id} `));
      }
      const sample = run.calls.find((c) => c.kind === "inbound" && c.outcome === "answered");
      assert.ok(sample);
      assert.match(describeCall(sample), /^#\d+ inbound +0\d{9} -> 4\d\d: answered after \d+(\.\d)? s, talked \d+(\.\d)? s$/);
    });
  });

  it("is reproducible: the same seed gives the same calls, another seed other calls", async function () {
    const describeRun = (r: Run): string[] => r.calls.map((c) => `${describeCall(c)} @${c.startedAt}`);
    const a = await runOnFakeClock({ seed: "same" }, 20);
    const b = await runOnFakeClock({ seed: "same" }, 20);
    const c = await runOnFakeClock({ seed: "other" }, 20);
    assert.ok(a.calls.length > 100);
    assert.deepEqual(describeRun(b), describeRun(a));
    const shape = (r: Run): string[] => r.server.events.map((e) => `${e.seq} ${e.exten} ${e.entry.CallData.status} ${e.entry.CallData.callerId}`);
    assert.deepEqual(shape(b), shape(a));
    assert.notDeepEqual(describeRun(c), describeRun(a));
  });

  it("sends the focus share of the calls to the focus extensions while they are free", async function () {
    const inboundOnly = { inbound: 1, missed: 0, busy: 0, outbound: 0, internal: 0, queue: 0, transfer: 0 };
    const short = { answerMs: { min: 500, max: 1000 }, talkMs: { min: 500, max: 1000 } };
    const r = await runOnFakeClock({ focus: ["400", "410"], focusShare: 0.6, mix: inboundOnly, timing: short, callsPerMinute: 2 }, 300);
    const first = r.calls.map((c) => c.path[0]);
    const share = first.filter((e) => e === "400").length / first.length;
    // 60 % focus, plus 400's tenth of the rest (410 is not an extension here).
    assert.ok(share > 0.55 && share < 0.73, `400 got ${Math.round(share * 100)} %`);
    // A busy focus extension does not turn the calls meant for it into busy calls: they go to a free extension.
    const busy = await runOnFakeClock({ focus: ["400"], focusShare: 0.9, mix: inboundOnly, callsPerMinute: 10 }, 60);
    assert.ok(busy.calls.filter((c) => c.kind === "busy").length < busy.calls.length * 0.1);
  });

  it("places no calls of its own at 0 calls per minute", async function () {
    const r = await runOnFakeClock({ callsPerMinute: 0 }, 10);
    assert.equal(r.calls.length, 0);
    assert.equal(r.server.events.length, 0);
  });

  it("rejects bad options", function () {
    const server = new PbxServer();
    assert.throws(() => new TrafficGenerator(server, { extensions: [] }), /at least one extension/);
    assert.throws(() => new TrafficGenerator(server, { extensions: ["400"], callsPerMinute: -1 }), /callsPerMinute/);
    assert.throws(() => new TrafficGenerator(server, { extensions: ["400"], callsPerMinute: Number.NaN }), /callsPerMinute/);
    const zero = { inbound: 0, missed: 0, busy: 0, outbound: 0, internal: 0, queue: 0, transfer: 0 };
    assert.throws(() => new TrafficGenerator(server, { extensions: ["400"], mix: zero }), /weight 0/);
  });

  describe("over HTTP: what clients do through the API", function () {
    let server: PbxServer;
    let gen: TrafficGenerator;
    let calls: CallSummary[];

    const ms = (min: number, max = min): { min: number; max: number } => ({ min, max });

    async function startWith(options: Partial<TrafficOptions>): Promise<void> {
      server = new PbxServer({ apiKey: "k" });
      await server.start();
      gen = new TrafficGenerator(server, {
        extensions: ["400", "410"],
        callsPerMinute: 0,
        seed: "api",
        timing: {
          answerMs: ms(60_000),
          ringTimeoutMs: ms(60_000),
          talkMs: ms(150),
          farEndAnswerMs: ms(100),
          endDelayMs: ms(20),
          consultMs: ms(50),
          transferAfterMs: ms(50),
          queueRingMs: ms(60_000),
        },
        ...options,
      });
      calls = [];
      gen.onCall((s) => calls.push(s));
      gen.start();
    }

    afterEach(async function () {
      gen.stop();
      await server.stop();
    });

    async function api(method: string, params: Record<string, string>): Promise<{ Code: number; Message?: string }> {
      const qs = new URLSearchParams({ ...params, apiKey: "k" });
      const res = await fetch(`${server.apiUrl(method)}?${qs.toString()}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      return (await res.json()) as { Code: number; Message?: string };
    }

    function nextLeg(pred: (d: CallData, exten: string) => boolean, timeoutMs = 5000): Promise<PbxEvent> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error("no such leg change"));
        }, timeoutMs);
        const off = server.onChange((ev) => {
          if (!pred(ev.entry.CallData, ev.exten)) return;
          clearTimeout(timer);
          off();
          resolve(ev);
        });
      });
    }

    const ended = (): Promise<void> => gen.drain();

    it("a ringing call answered through the API connects, then ends by itself", async function () {
      await startWith({});
      const next = nextLeg((d) => d.status === "Ringing");
      gen.placeCall("missed");
      const ringing = await next;
      const id = ringing.entry.CallData.uniqueCallId;
      assert.equal(ringing.entry.CallData.canAnswer, true);
      const hungUp = nextLeg((d) => d.uniqueCallId === id && d.status === "Hungup");
      assert.equal((await api("answer", { uniqueId: id, exten: ringing.exten, answerString: "Call-info:answer-after=0" })).Code, 0);
      assert.equal(server.leg(id)?.status, "Connected");
      await hungUp;
      await ended();
      const call = calls.find((c) => c.legs.includes(id));
      assert.ok(call);
      assert.equal(call.outcome, "answered");
      assert.equal(call.answeredBy, "api");
      assert.match(describeCall(call), /answered via the API after \d\.\d s, talked 0\.\d s$/);
      assert.ok(gen.stats.answeredViaApi >= 1);
    });

    it("a queue call cannot be answered through the API", async function () {
      await startWith({});
      const next = nextLeg((d) => d.status === "Ringing");
      gen.placeCall("queue");
      const ringing = await next;
      assert.equal(ringing.entry.CallData.isQueueCall, true);
      assert.ok((await api("answer", { uniqueId: ringing.entry.CallData.uniqueCallId, exten: ringing.exten })).Code < 0);
    });

    it("hanging up one leg through the API ends the call's other legs", async function () {
      await startWith({});
      const next = nextLeg((d) => d.status === "Ringing");
      gen.placeCall("internal");
      const ringing = await next;
      const dialing = server.events.find((e) => e.entry.CallData.status === "Dialing Out");
      assert.ok(dialing);
      assert.equal(dialing.entry.CallData.callerId, ringing.exten);
      const callerId = dialing.entry.CallData.uniqueCallId;
      const calleeHungUp = nextLeg((d) => d.uniqueCallId === ringing.entry.CallData.uniqueCallId && d.status === "Hungup");
      assert.deepEqual(await api("hangup", { extenOrUniqueId: callerId }), { Message: "Channel Hungup", Code: 0 });
      const other = await calleeHungUp;
      assert.equal(other.entry.CallData.hangupCause, "DISCONNECTED");
      await ended();
      const call = calls.find((c) => c.legs.includes(callerId));
      assert.ok(call);
      assert.equal(call.outcome, "hung up");
      assert.equal(call.hungUpViaApi, true);
      assert.equal(server.legsOf("400").length + server.legsOf("410").length, 0);
    });

    it("stop() leaves the legs as they are and reports no summary", async function () {
      await startWith({});
      const next = nextLeg((d) => d.status === "Ringing");
      gen.placeCall("inbound");
      const ringing = await next;
      gen.stop();
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(server.leg(ringing.entry.CallData.uniqueCallId)?.status, "Ringing");
      assert.deepEqual(calls, []);
      assert.equal(gen.stats.inProgress, 0);
    });

    it("a dial through the API to an outside number connects when the far end answers, then hangs up", async function () {
      await startWith({});
      // The far end of an outside number answers in 80 % of the calls: dial until one connects.
      let connected: CallSummary | undefined;
      for (let i = 0; i < 20 && !connected; i++) {
        const env = await api("dial", { number: "0299998888", extenOrUniqueId: "SIP/400" });
        assert.equal(env.Code, 0);
        await ended();
        connected = calls.find((c) => c.kind === "dial" && c.outcome === "answered");
      }
      assert.ok(connected, "no dial connected");
      assert.equal(connected.from, "400");
      assert.equal(connected.to, "0299998888");
      const legEvents = server.events.filter((e) => e.entry.CallData.uniqueCallId === connected.legs[0]);
      assert.deepEqual(statusesOf(legEvents), ["Dialing Out", "Connected", "Hungup"]);
      assert.equal(legEvents[0].entry.CallData.isClickToDialCall, true);
      assert.match(describeCall(connected), /dial\(API\) 400 -> 0299998888: connected after/);
    });

    it("a dial through the API to another extension rings it, and to a busy one gets Busy", async function () {
      await startWith({});
      const next = nextLeg((d, exten) => exten === "410" && d.status === "Ringing");
      await api("dial", { number: "410", extenOrUniqueId: "SIP/400" });
      const ringing = await next;
      assert.equal(ringing.entry.CallData.callerId, "400");
      assert.equal(ringing.entry.CallData.canAnswer, true);
      // 410 is now busy: a second dial to it from outside the PBX's idle set gets Busy.
      const nextBusy = nextLeg((d, exten) => exten === "400" && d.status === "Busy");
      await api("dial", { number: "410", extenOrUniqueId: "SIP/400" });
      const busy = await nextBusy;
      assert.equal(busy.entry.CallData.callerId, "410");
      assert.equal((await api("answer", { uniqueId: ringing.entry.CallData.uniqueCallId, exten: "410" })).Code, 0);
      await ended();
      const first = calls.find((c) => c.legs.includes(ringing.entry.CallData.uniqueCallId));
      assert.equal(first?.outcome, "answered");
      assert.equal(first?.answeredBy, "api");
      assert.ok(calls.some((c) => c.kind === "dial" && c.outcome === "busy"));
    });
  });
});
