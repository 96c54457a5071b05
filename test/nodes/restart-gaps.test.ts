/**
 * Calls that 1.1.0 lost around restarts (issue 23, items 3 and 7), in the test helper's Node-RED over HTTP to the fake
 * PBX, for each answer style: an extension the saved position does not cover (a context store that had not flushed
 * it before a crash), and a call that rang and ended between a restarted PBX's first answer and the read that
 * resynchronises.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FakePbx } from "../fake-pbx";
import { configFlowNode, credentials, heldLongPoll, helper, nodes, Sent, startFakePbx, subscribeFlowNodes, unloadAndStop, until } from "./support";

const describeMsgs = (sent: Sent) => sent.all.map((m) => {
  const p = m.payload as Record<string, unknown>;
  return `${String(m.topic)} ${String(p.uniqueCallId)} ${String(p.status)}${p.initial === true ? " initial" : ""}${p.missed === true ? " missed" : ""}`;
});

for (const answerStyle of ["every", "latest"] as const) {
  describe(`subscribe: calls around restarts, on a PBX that lists ${answerStyle === "every" ? "every change" : "each call's latest state"}`, () => {
    let pbx: FakePbx | undefined;
    let userDir: string;

    beforeEach(async () => {
      userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-restart-gaps-"));
      helper.settings({ userDir });
      pbx = await startFakePbx({ answerStyle });
    });
    afterEach(async () => {
      await unloadAndStop(pbx);
      helper.settings({});
      fs.rmSync(userDir, { recursive: true, force: true });
    });

    it("an extension the saved position does not cover carries on from its cursor: the calls made while down arrive, one in progress as such", async () => {
      const ongoing = pbx!.startCall("401", { status: "Connected", canAnswer: false });
      pbx!.startCall("400");
      // The position the store had flushed: 401 was added to the node after it (a deploy a few seconds before a crash).
      fs.mkdirSync(path.join(userDir, "noojee-resume"), { recursive: true });
      fs.writeFileSync(path.join(userDir, "noojee-resume", "cfg.json"), JSON.stringify({
        format: "node-red-contrib-noojee/resume", version: 1, host: pbx!.url, authMode: "apiKey", savedAt: Date.now(),
        polls: [{ seq: pbx!.seq, extensions: ["400"], fences: {} }], legs: [],
      }));
      // While Node-RED is down: a call on 401 rings and is missed.
      const missed = pbx!.startCall("401");
      pbx!.update("401", missed, { status: "Hungup", canAnswer: false });

      await helper.load(nodes, [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "400, 401")], credentials());
      const sent = new Sent(helper.getNode("a"));
      const expected = [
        ...(answerStyle === "every" ? [`401 ${missed} Ringing`] : []),
        `401 ${missed} Hungup missed`,
        `401 ${ongoing} Connected initial`,
      ];
      await sent.count(expected.length);
      await heldLongPoll(pbx!);
      assert.deepEqual(describeMsgs(sent).filter((m) => m.startsWith("401")), expected);
      const requests = pbx!.subscribeRequests();
      assert.ok(!requests.some((r) => r.query.exten === "401" && r.query.lastSequenceNumber === "0"), "no current-state read of 401 alone");
    });

    it("a call that rings and ends after a restarted PBX's first answer, before the resynchronising read, arrives", async () => {
      await helper.load(nodes, [configFlowNode(pbx!.url), ...subscribeFlowNodes("a", "410")], credentials());
      const sent = new Sent(helper.getNode("a"));
      await heldLongPoll(pbx!);
      pbx!.bumpSeq(300); // a PBX up for a while: the cursor is well above where a restarted counter starts
      const before = pbx!.startCall("410");
      await sent.count(1);
      await heldLongPoll(pbx!);
      // The restarted PBX's first answer shows its new counter; the read after it fails once, and while the node waits
      // to retry it, a call rings and is missed.
      pbx!.answerNextRaw(JSON.stringify({ Code: 0, seq: 1, Data: {} }));
      pbx!.fault("http500");
      pbx!.restart();
      await until(() => pbx!.pendingFaults() === 0, "the restarted PBX's first answer and the failed read");
      const missed = pbx!.startCall("410");
      pbx!.update("410", missed, { status: "Hungup", canAnswer: false });
      const expected = [
        `410 ${before} Ringing`,
        `410 ${before} Hungup`, // died with the restart: ended by the resynchronising read, marked vanished
        ...(answerStyle === "every" ? [`410 ${missed} Ringing`] : []),
        `410 ${missed} Hungup missed`,
      ];
      await sent.count(expected.length, 8000);
      await heldLongPoll(pbx!);
      assert.deepEqual(describeMsgs(sent), expected);
      assert.equal(pbx!.subscribeRequests().at(-1)?.query.lastSequenceNumber, String(pbx!.seq));
    });
  });
}
