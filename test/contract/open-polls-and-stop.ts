/** Contract: open polls under client aborts, waitForPolls, and stop(). */
import assert from "node:assert/strict";
import { post, subscribe } from "./pbx-client";
import type { ContractContext } from "./contract-context";

export function describeOpenPollsContract(ctx: ContractContext): void {
  const { create, startPbx } = ctx;

  describe("open polls, aborts and stop", function () {
    it("a client abort removes the held poll at once", async function () {
      const pbx = await startPbx();
      const polls = [0, 1, 2].map(() => {
        const ac = new AbortController();
        return { ac, p: subscribe(pbx, "410", pbx.seq, 30, { signal: ac.signal }) };
      });
      await pbx.waitForPolls(3);
      polls[0].ac.abort();
      await assert.rejects(polls[0].p);
      await pbx.waitForPolls(2);
      polls[1].ac.abort();
      polls[2].ac.abort();
      await Promise.allSettled(polls.map((x) => x.p));
      await pbx.waitForPolls(0);
      // An event after the aborts reaches no one and breaks nothing.
      pbx.startCall("410");
      assert.equal((await subscribe(pbx, "410", 0, 0)).json.Data?.["410"].length, 1);
    });

    it("waitForPolls rejects after its timeout", async function () {
      const pbx = await startPbx();
      await assert.rejects(pbx.waitForPolls(1, 50), /waitForPolls/);
    });

    it("stop() ends held polls, closes the server and can be called twice", async function () {
      const pbx = create({});
      await pbx.start();
      const held = subscribe(pbx, "410", pbx.seq, 30);
      await pbx.waitForPolls(1);
      const url = pbx.apiUrl("subscribe");
      await pbx.stop();
      assert.equal(pbx.openPolls(), 0);
      await assert.rejects(held);
      await assert.rejects(post(`${url}?exten=410&lastSequenceNumber=0&timeOut=0`));
      await pbx.stop();
    });
  });
}
