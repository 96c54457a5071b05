/** Contract: a PBX restart, and what polls from before it get (restartMode). */
import assert from "node:assert/strict";
import { subscribe, statuses, sleep } from "./pbx-client";
import type { ContractContext } from "./contract-context";

export function describeRestartContract(ctx: ContractContext): void {
  const { startPbx } = ctx;

  describe("restart", function () {
    it("restartMode 'answer': a poll from before the restart gets a smaller seq and no entries at once", async function () {
      const pbx = await startPbx();
      pbx.bumpSeq(50);
      pbx.startCall("410");
      const before = (await subscribe(pbx, "410", 0, 0)).json;
      assert.equal(before.Data?.["410"].length, 1);
      pbx.restart();
      assert.ok(pbx.seq < before.seq);
      assert.equal(pbx.events.length, 0);
      const { json, ms } = await subscribe(pbx, "410", before.seq, 10);
      assert.ok(ms < 1000);
      assert.deepEqual(json, { Data: {}, seq: pbx.seq, Code: 0 });
      assert.ok(json.seq < before.seq);
      // Resynchronising from 0 sees the empty state; CallIDs restart too.
      assert.deepEqual((await subscribe(pbx, "410", 0, 0)).json.Data, {});
      pbx.startCall("410");
      assert.equal(pbx.events[0].entry.CallID, 1);
    });

    it("restartMode 'hold': such a poll is held past its timeOut until the counter passes its lastSequenceNumber", async function () {
      const pbx = await startPbx({ restartMode: "hold" });
      pbx.bumpSeq(20);
      const old = pbx.seq;
      pbx.restart();
      const p = subscribe(pbx, "410", old, 0);
      await pbx.waitForPolls(1);
      await sleep(150);
      assert.equal(pbx.openPolls(), 1);
      pbx.bumpSeq(old - pbx.seq); // counter == old: not yet past
      await sleep(20);
      assert.equal(pbx.openPolls(), 1);
      pbx.startCall("410");
      const { json } = await p;
      assert.equal(json.seq, old + 1);
      assert.deepEqual(statuses(json, "410"), ["Ringing"]);
    });

    it("closes the sockets of polls held during a restart", async function () {
      const pbx = await startPbx();
      const p = subscribe(pbx, "410", pbx.seq, 10);
      await pbx.waitForPolls(1);
      pbx.restart();
      assert.equal(pbx.openPolls(), 0);
      await assert.rejects(p);
    });
  });
}
