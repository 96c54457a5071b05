/** Contract: the event log (every change with its seq) and its bound. */
import assert from "node:assert/strict";
import { subscribe } from "./pbx-client";
import type { ContractContext } from "./contract-context";

export function describeEventLogContract(ctx: ContractContext): void {
  const { startPbx } = ctx;

  describe("event log", function () {
    it("records every change in order with its seq (for loss and duplicate accounting)", async function () {
      const pbx = await startPbx();
      const id = pbx.startCall("410");
      pbx.bumpSeq(5);
      pbx.update("410", id, { status: "Hungup" });
      assert.deepEqual(
        pbx.events.map((e) => [e.seq, e.exten, e.entry.CallData.status, e.entry.CallData.uniqueCallId]),
        [
          [2, "410", "Ringing", id],
          [8, "410", "Hungup", id],
        ],
      );
    });

    it("stays bounded by maxEvents and keeps serving polls from the per-extension index", async function () {
      const pbx = await startPbx({ maxEvents: 100 });
      const s0 = pbx.seq;
      for (let i = 0; i < 1000; i++) pbx.emit(String(400 + (i % 10)), { uniqueCallId: `c${i}`, status: "Hungup" });
      assert.ok(pbx.events.length >= 100 && pbx.events.length <= 113, `length ${pbx.events.length}`);
      assert.equal(pbx.events[pbx.events.length - 1].seq, s0 + 1000);
      const oldest = pbx.events[0].seq;
      // From long ago: only what the log still holds, oldest first.
      const { json } = await subscribe(pbx, "403", s0, 0);
      const seqs = (json.Data?.["403"] ?? []).map((e) => Number(String(e.CallData.uniqueCallId).slice(1)) + s0 + 1);
      assert.ok(seqs.length > 0 && seqs.every((s) => s >= oldest));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      // From a recent seq: exactly the later events.
      const recent = await subscribe(pbx, "403,407", s0 + 990, 0);
      assert.deepEqual(
        (recent.json.Data?.["403"] ?? []).map((e) => e.CallData.uniqueCallId),
        ["c993"],
      );
      assert.deepEqual(
        (recent.json.Data?.["407"] ?? []).map((e) => e.CallData.uniqueCallId),
        ["c997"],
      );
    });
  });
}
