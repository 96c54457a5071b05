/**
 * A saved position whose cursors come from two lives of the PBX (one chunk had resynchronised after a PBX restart, the
 * other's poll was still held from before it, when Node-RED died): after the restart the read's seq is below the old
 * life's cursor, yet the new life's cursor still holds every change made while Node-RED was down. Found by the
 * model-based test (a loop resynchronised every extension from the current state, losing those changes).
 */
import assert from "node:assert/strict";
import { CallStateTable } from "../../nodes/lib/poll/call-state-table";
import { type CallEvent, PollLoop } from "../../nodes/lib/poll/poll-loop";
import { answer, entry, ScriptedApi } from "./scripted-api";

const describeEvents = (events: CallEvent[]) => events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);

describe("Resuming from cursors of two lives of the PBX", () => {
  it("carries on from the cursor at or below the read's seq, resynchronises only the one above it", async () => {
    const api = new ScriptedApi();
    const events: CallEvent[] = [];
    const warnings: string[] = [];
    const table = new CallStateTable();
    table.restore([{ extension: "405", data: entry("0.1", "Connected").CallData, callId: 1 }]); // died with the PBX restart
    const loop = new PollLoop({
      api, timeoutSec: 30, table, random: () => 0,
      resumeFrom: [{ seq: 1000, extensions: ["405"], fences: {} }, { seq: 1, extensions: ["400"], fences: {} }],
      onEvents: (batch) => events.push(...batch), onStatus: () => undefined, onWarning: (m) => warnings.push(m),
    });
    loop.setExtensions(["405", "400"]);
    loop.start();
    const read = await api.call(0);
    assert.deepEqual([read.extensions, read.last], [["405", "400"], 0]);
    read.resolve(answer(3)); // nothing in progress: a call rang on 400 and ended while Node-RED was down
    const catchUp = await api.call(1);
    assert.deepEqual([catchUp.extensions, catchUp.last, catchUp.timeOut], [["400"], 1, 0], "400 from its own cursor");
    catchUp.resolve(answer(3, { "400": [entry("1.1", "Ringing"), entry("1.1", "Hungup")] }));
    const next = await api.call(2);
    assert.deepEqual([next.extensions, next.last], [["405", "400"], 3]);
    // 405's call died with the restart: it ends first (made up, vanished), then 400's changes from its own cursor.
    assert.deepEqual(describeEvents(events), ["405:0.1:Hungup:false", "400:1.1:Ringing:false", "400:1.1:Hungup:false"]);
    assert.equal(events[0].vanished, true);
    assert.equal(table.activeLegs("405").length, 0, "405's call died with the PBX restart");
    assert.equal(warnings.length, 1, warnings.join("; "));
    await loop.stop();
  });
});
