/** Contract: the call control endpoints (answer, hangup, dial, start/stop) and driving legs with update/emit. */
import assert from "node:assert/strict";
import { envelope, subscribe } from "./pbx-client";
import type { ContractContext } from "./contract-context";

export function describeCallControlContract(ctx: ContractContext): void {
  const { startPbx } = ctx;

  describe("answer, hangup, dial", function () {
    it("answers a ringing leg: Connected is emitted, recorded, and the envelope says Code 0", async function () {
      const pbx = await startPbx();
      const s = pbx.seq;
      const id = pbx.startCall("410", { callerId: "400" });
      const env = await envelope(pbx, "answer", { uniqueId: id, exten: "410", answerString: "Call-info:answer-after=0" });
      assert.deepEqual(env, { Message: "Call answered", Code: 0 });
      assert.deepEqual(pbx.answered, [{ uniqueId: id, exten: "410", answerString: "Call-info:answer-after=0" }]);
      const { json } = await subscribe(pbx, "410", s, 0);
      const [ringing, connected] = json.Data?.["410"] ?? [];
      assert.equal(ringing.CallData.status, "Ringing");
      assert.equal(connected.CallData.status, "Connected");
      assert.equal(connected.CallData.canAnswer, false);
      assert.match(String(connected.CallData.callStartTime), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
      assert.equal(connected.CallID, ringing.CallID);

      // Already connected: cannot be answered again.
      assert.ok((await envelope(pbx, "answer", { uniqueId: id, exten: "410" })).Code < 0);
      assert.equal(pbx.answered.length, 1);
    });

    it("accepts exten with a tech prefix, an absent answerString, and refuses wrong extension, unknown id, non-answerable legs", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410");
      assert.equal((await envelope(pbx, "answer", { uniqueId: a, exten: "SIP/410" })).Code, 0);
      assert.deepEqual(pbx.answered[0], { uniqueId: a, exten: "SIP/410", answerString: undefined });

      const b = pbx.startCall("410");
      assert.ok((await envelope(pbx, "answer", { uniqueId: b, exten: "411" })).Code < 0);
      assert.ok((await envelope(pbx, "answer", { uniqueId: "1412750652.999", exten: "410" })).Code < 0);
      assert.ok((await envelope(pbx, "answer", { exten: "410" })).Code < 0);
      const queued = pbx.startCall("410", { isQueueCall: true, canAnswer: false });
      assert.ok((await envelope(pbx, "answer", { uniqueId: queued, exten: "410" })).Code < 0);
      const out = pbx.startCall("410", { status: "Dialing Out", inbound: false, canAnswer: false });
      assert.ok((await envelope(pbx, "answer", { uniqueId: out, exten: "410" })).Code < 0);
      assert.equal(pbx.answered.length, 1);
      assert.equal(pbx.leg(b)?.status, "Ringing");
    });

    it("hangup by uniqueCallId or by extension emits Hungup and ends the leg", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410");
      const b = pbx.startCall("411");
      assert.deepEqual(await envelope(pbx, "hangup", { extenOrUniqueId: a }), { Message: "Channel Hungup", Code: 0 });
      assert.deepEqual(await envelope(pbx, "hangup", { extenOrUniqueId: "SIP/411" }), { Message: "Channel Hungup", Code: 0 });
      assert.equal(pbx.leg(a), undefined);
      assert.equal(pbx.leg(b), undefined);
      assert.deepEqual(
        pbx.events.map((e) => [e.exten, e.entry.CallData.status]),
        [
          ["410", "Ringing"],
          ["411", "Ringing"],
          ["410", "Hungup"],
          ["411", "Hungup"],
        ],
      );
      assert.ok((await envelope(pbx, "hangup", { extenOrUniqueId: a })).Code < 0);
      assert.deepEqual((await subscribe(pbx, "410,411", 0, 0)).json.Data, {});
    });

    it("dial creates an outbound Dialing Out leg on the extension given with its tech", async function () {
      const pbx = await startPbx();
      const env = await envelope(pbx, "dial", { number: "0299998888", extenOrUniqueId: "SIP/100" });
      assert.equal(env.Code, 0);
      assert.equal(typeof env.SessionID, "string");
      const [leg] = pbx.legsOf("100");
      assert.equal(leg.status, "Dialing Out");
      assert.equal(leg.inbound, false);
      assert.equal(leg.callerId, "0299998888");
      assert.deepEqual(pbx.dialed, [
        { sessionId: env.SessionID, exten: "100", uniqueCallId: leg.uniqueCallId, query: { number: "0299998888", extenOrUniqueId: "SIP/100", apiKey: pbx.apiKey } },
      ]);
      assert.ok((await envelope(pbx, "dial", { number: "0299998888", extenOrUniqueId: "100" })).Code < 0);
      assert.ok((await envelope(pbx, "dial", { extenOrUniqueId: "SIP/100" })).Code < 0);
      assert.equal(pbx.dialed.length, 1, "refused dials are not logged");
    });

    it("start/stop record the leg their target resolves to (uniqueCallId, or the extension's newest leg)", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410");
      const b = pbx.startCall("410");
      const start = await envelope(pbx, "start", { extenOrUniqueId: a, tag: "x&y z", agentLoginName: "jo" });
      assert.deepEqual(start, { Message: "Recording started", Code: 0 });
      assert.deepEqual(await envelope(pbx, "stop", { extenOrUniqueId: "SIP/410" }), { Message: "Recording stopped", Code: 0 });
      assert.ok((await envelope(pbx, "start", { extenOrUniqueId: "499" })).Code < 0);
      assert.ok((await envelope(pbx, "stop", {})).Code < 0);
      assert.deepEqual(pbx.recordings, [
        { action: "start", extenOrUniqueId: a, uniqueCallId: a, tag: "x&y z", agentLoginName: "jo" },
        { action: "stop", extenOrUniqueId: "SIP/410", uniqueCallId: b, tag: undefined, agentLoginName: undefined },
      ]);
    });

    it("update throws for a leg that is not in progress; terminal statuses end legs", async function () {
      const pbx = await startPbx();
      const id = pbx.startCall("410");
      assert.throws(() => pbx.update("411", id, { status: "Connected" }));
      for (const status of ["Busy", "No Answer", "Hungup"]) {
        const leg = pbx.startCall("410");
        pbx.update("410", leg, { status });
        assert.equal(pbx.leg(leg), undefined, status);
      }
      pbx.update("410", id, { status: "Unlinked" }); // not terminal
      assert.equal(pbx.leg(id)?.status, "Unlinked");
      pbx.emit("410", { uniqueCallId: "342082345-238.234", status: "Parked", futureField: 1 });
      const { json } = await subscribe(pbx, "410", 0, 0);
      assert.deepEqual(
        json.Data?.["410"].map((e) => e.CallData.status),
        ["Unlinked", "Parked"],
      );
      assert.equal(json.Data?.["410"][1].CallData.futureField, 1);
    });
  });
}
