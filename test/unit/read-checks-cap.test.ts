/**
 * ReadChecks keeps a newer read beside older ones that still wait (read-check.ts), but only so many: a PBX that
 * answered every read yet failed every poll after it must not pile reads up without end. Past the bound the oldest
 * gives way; the answer that catches up settles the rest, oldest first.
 */
import assert from "node:assert/strict";
import type { SubscribeResponse } from "../../nodes/lib/client/types";
import { CallStateTable } from "../../nodes/lib/poll/call-state-table";
import { MAX_WAITING_READS, ReadChecks } from "../../nodes/lib/poll/read-check";

function read(seq: number, calls: string[]): SubscribeResponse {
  return {
    Code: 0, Message: "", seq,
    Data: { "410": calls.map((id) => ({ CallData: { uniqueCallId: id, status: "Ringing", canAnswer: true, callerId: "0400", callStartTime: "" } })) },
  } as unknown as SubscribeResponse;
}

describe("ReadChecks: reads waiting beside each other", function () {
  it(`settles every waiting read, oldest first, and keeps at most ${MAX_WAITING_READS}`, function () {
    const checks = new ReadChecks();
    const reads = MAX_WAITING_READS + 3;
    // Read i lists the calls c1..ci: each read one call more, so each outcome shows which read it came from.
    for (let i = 1; i <= reads; i++) checks.begin(read(100 + i, Array.from({ length: i }, (_, k) => `c${k + 1}`)), ["410"]);
    assert.equal(checks.active, true);
    const outcomes = checks.settle(new CallStateTable(), read(100 + reads, []), new Set(["410"]), () => 100 + reads);
    assert.equal(outcomes.length, MAX_WAITING_READS, "the oldest reads gave way");
    const count = (r: SubscribeResponse): number => r.Data?.["410"]?.length ?? 0;
    const listed = outcomes.map((o) => count(o.before.inProgress) + count(o.before.changed) + count(o.after.inProgress) + count(o.after.changed));
    assert.deepEqual(listed, Array.from({ length: MAX_WAITING_READS }, (_, k) => reads - MAX_WAITING_READS + 1 + k), "oldest first");
    assert.equal(checks.active, false, "all settled");
  });
});
