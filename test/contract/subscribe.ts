/** Contract: subscribe, its long poll, the current state (lastSequenceNumber=0), the global seq and the poll options. */
import assert from "node:assert/strict";
import { pbxTimestamp } from "../fake-pbx";
import { call, envelope, subscribe, statuses, sleep } from "./pbx-client";
import type { ContractContext } from "./contract-context";

export function describeSubscribeContract(ctx: ContractContext): void {
  const { startPbx } = ctx;

  describe("subscribe", function () {
    it("lastSequenceNumber=0 answers the calls in progress on the requested extensions at once, with seq = counter", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410", { callerId: "400" });
      const b = pbx.startCall("410", { callerId: "401" });
      pbx.update("410", b, { status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
      const ended = pbx.startCall("400");
      pbx.update("400", ended, { status: "Hungup", hangupCause: "NO_ANSWER" });
      pbx.startCall("500"); // not requested

      const { json, ms } = await subscribe(pbx, "400,410", 0, 10);
      assert.ok(ms < 1000, `took ${ms} ms`);
      assert.equal(json.Code, 0);
      assert.equal(json.seq, pbx.seq);
      assert.deepEqual(Object.keys(json.Data ?? {}), ["410"]);
      const entries = json.Data?.["410"] ?? [];
      assert.deepEqual(
        entries.map((e) => [e.CallData.uniqueCallId, e.CallData.status]),
        [
          [a, "Ringing"],
          [b, "Connected"],
        ],
      );
      assert.deepEqual(entries[0], {
        CallData: {
          canAnswer: true,
          callerId: "400",
          uniqueCallId: a,
          callStartTime: "",
          isQueueCall: false,
          isClickToDialCall: false,
          inbound: true,
          status: "Ringing",
        },
        CallID: entries[0].CallID,
        Code: 0,
      });
      assert.ok(Number.isInteger(entries[0].CallID));
      assert.notEqual(entries[0].CallID, entries[1].CallID);
      assert.match(a, /^\d+\.\d+$/);
      assert.match(String(entries[1].CallData.callStartTime), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
    });

    it("lastSequenceNumber=0 with nothing in progress: timeOut=0 answers empty at once, timeOut>0 holds until the first event", async function () {
      const pbx = await startPbx();
      const now = await subscribe(pbx, "410", 0, 0);
      assert.deepEqual(now.json, { Data: {}, seq: pbx.seq, Code: 0 });

      const held = subscribe(pbx, "410", 0, 10);
      await pbx.waitForPolls(1);
      await sleep(50);
      assert.equal(pbx.openPolls(), 1);
      const id = pbx.startCall("410");
      const { json } = await held;
      assert.equal(json.seq, pbx.seq);
      assert.deepEqual(statuses(json, "410"), ["Ringing"]);
      assert.equal(json.Data?.["410"][0].CallData.uniqueCallId, id);
    });

    it("idleSnapshot: 'answer' answers lastSequenceNumber=0 at once even with timeOut>0", async function () {
      const pbx = await startPbx({ idleSnapshot: "answer" });
      const { json, ms } = await subscribe(pbx, "410", 0, 10);
      assert.ok(ms < 1000);
      assert.deepEqual(json, { Data: {}, seq: pbx.seq, Code: 0 });
    });

    it("a held poll wakes on an event and carries several entries for several extensions, oldest first", async function () {
      const pbx = await startPbx();
      const start = (await subscribe(pbx, "400,410", 0, 0)).json.seq;
      const held = subscribe(pbx, "400,410", start, 10);
      await pbx.waitForPolls(1);

      pbx.startCall("500"); // an extension nobody asked for does not wake the poll
      await sleep(100);
      assert.equal(pbx.openPolls(), 1);

      const in410 = pbx.startCall("410", { callerId: "400" });
      const out400 = pbx.startCall("400", { status: "Dialing Out", inbound: false, canAnswer: false, callerId: "410" });
      pbx.update("410", in410, { status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
      const { json, ms } = await held;
      assert.ok(ms < 5000);
      assert.equal(json.seq, pbx.seq);
      assert.equal(json.seq, start + 4);
      assert.deepEqual(Object.keys(json.Data ?? {}).sort(), ["400", "410"]);
      assert.deepEqual(statuses(json, "410"), ["Ringing", "Connected"]);
      assert.deepEqual(statuses(json, "400"), ["Dialing Out"]);
      assert.equal(json.Data?.["400"][0].CallData.uniqueCallId, out400);
      assert.equal(pbx.openPolls(), 0);
    });

    it("answers at once with every event after lastSequenceNumber on the requested extensions", async function () {
      const pbx = await startPbx();
      const s0 = pbx.seq;
      const id = pbx.startCall("410");
      pbx.startCall("411");
      pbx.update("410", id, { status: "Hungup", hangupCause: "NO_ANSWER" });
      const { json, ms } = await subscribe(pbx, "410", s0, 10);
      assert.ok(ms < 1000);
      assert.deepEqual(statuses(json, "410"), ["Ringing", "Hungup"]);
      assert.equal(json.Data?.["410"][1].CallData.hangupCause, "NO_ANSWER");
      assert.equal(json.Data?.["411"], undefined);
      assert.equal(json.seq, s0 + 3);
      // From the middle: only the later event.
      const later = await subscribe(pbx, "410,411", s0 + 2, 0);
      assert.deepEqual(statuses(later.json, "410"), ["Hungup"]);
      assert.equal(later.json.Data?.["411"], undefined);
    });

    it("an idle poll answers with no entries and the counter when timeOut expires", async function () {
      const pbx = await startPbx();
      pbx.startCall("500");
      const s = pbx.seq;
      const { json, ms } = await subscribe(pbx, "410", s, 1);
      assert.ok(ms >= 950 && ms < 2000, `took ${ms} ms`);
      assert.deepEqual(json, { Data: {}, seq: s, Code: 0 });
      assert.equal(pbx.openPolls(), 0);
    });

    it("defaults timeOut to 10 units (timeOutUnitMs shrinks the unit)", async function () {
      const pbx = await startPbx({ timeOutUnitMs: 20 });
      const r = await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: pbx.seq });
      assert.ok(r.ms >= 190 && r.ms < 1000, `took ${r.ms} ms`);
    });

    for (const [shape, expected] of [
      ["null", { Data: null, seq: 1, Code: 0 }],
      ["missing", { seq: 1, Code: 0 }],
    ] as const) {
      it(`emptyData: '${shape}' shapes an answer without entries`, async function () {
        const pbx = await startPbx({ emptyData: shape });
        assert.deepEqual((await subscribe(pbx, "410", 0, 0)).json, expected);
        assert.deepEqual((await subscribe(pbx, "410", 1, 0)).json, expected);
        const r = await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 1, timeOut: 0 });
        assert.equal(r.body, JSON.stringify(expected)); // Data first, as the vendor's example
      });
    }

    it("seq is one global counter: other extensions' traffic makes it jump", async function () {
      const pbx = await startPbx();
      const s0 = (await subscribe(pbx, "410", 0, 0)).json.seq;
      pbx.bumpSeq(100);
      pbx.startCall("500");
      pbx.startCall("410");
      const { json } = await subscribe(pbx, "410", s0, 0);
      assert.equal(json.seq, s0 + 102);
      assert.equal(json.Data?.["410"].length, 1);
      assert.deepEqual(
        pbx.events.map((e) => e.seq),
        [s0 + 101, s0 + 102],
      );
    });

    it("rejects missing or invalid parameters with a negative Code and no seq", async function () {
      const pbx = await startPbx();
      for (const params of [
        { lastSequenceNumber: 0, timeOut: 0 },
        { exten: "", lastSequenceNumber: 0 },
        { exten: "410", timeOut: 0 },
        { exten: "410", lastSequenceNumber: "abc" },
        { exten: "410", lastsequencenumber: 0 }, // names are case sensitive
        { exten: "410", lastSequenceNumber: 0, timeOut: "x" },
      ]) {
        const env = await envelope(pbx, "subscribe", params);
        assert.ok(env.Code < 0, JSON.stringify(params));
        assert.equal("seq" in env, false);
      }
      assert.equal(pbx.openPolls(), 0);
    });

    it("takes exten literally: a tech prefix in subscribe never matches (the client must send bare extensions)", async function () {
      const pbx = await startPbx();
      pbx.startCall("410");
      const { json } = await subscribe(pbx, "SIP/410", 0, 0);
      assert.deepEqual(json.Data, {});
    });

    it("minPollMs delays every answer and includes the events that arrive meanwhile", async function () {
      const pbx = await startPbx({ minPollMs: 150 });
      const first = await subscribe(pbx, "410", 0, 0);
      assert.ok(first.ms >= 140, `took ${first.ms} ms`);
      const s = first.json.seq;
      const p = subscribe(pbx, "410", s, 10);
      await pbx.waitForPolls(1);
      const id = pbx.startCall("410");
      await sleep(60);
      pbx.update("410", id, { status: "Hungup" });
      const { json, ms } = await p;
      assert.ok(ms >= 140 && ms < 1000, `took ${ms} ms`);
      assert.deepEqual(statuses(json, "410"), ["Ringing", "Hungup"]);
      assert.equal(json.seq, s + 2);
    });
  });
}
