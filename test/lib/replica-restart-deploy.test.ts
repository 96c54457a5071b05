/**
 * The replica soak's loss (seed 74746), as it happened: a new holder resumed from the shared position with a backlog,
 * the PBX restarted right after the resumed poll, the holder saw it and read the new life's calls; then a full deploy
 * handed the lease back (ReplicatedHub.standDown) before the poll that catches up with that read, and the next term
 * (the same replica, taking the lease again) carried on from the shared position. That position still held the
 * previous life's cursor: the term found the restart anew with a read of its own and resynchronised from there, so the
 * changes made between the two reads never reached a flow. A real redis-server, the fake PBX over HTTP; the order is
 * forced by gates a request waits at before it reaches the PBX.
 */
import assert from "node:assert/strict";
import { FakePbx } from "../fake-pbx";
import { useRedisServer } from "../harness/redis-server";
import { deployHolder, UNIT } from "./replica-deploy-fixture";
import { until } from "./replica-support";

describe("Replicas: a full deploy on the holder between a PBX restart's read and the poll after it", function () {
  this.timeout(20_000);
  const server = useRedisServer();
  let pbx: FakePbx;
  const closing: Array<() => Promise<void> | void> = [];

  beforeEach(async () => {
    pbx = new FakePbx({ minPollMs: 5, timeOutUnitMs: UNIT });
    await pbx.start();
  });
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
    await pbx.stop();
  });

  it("the next term carries on from the new life's cursor: no change made between the reads is lost", async () => {
    const { gates, hub, flow, statuses, deploy } = deployHolder({ server, pbx, closing, prefix: "deploy", writeEveryMs: 20 });
    pbx.bumpSeq(20);
    const quiet = gates.hold(pbx.seq); // the first poll after the start's read: the shared position is there
    hub.register("sub", flow);
    hub.releaseLingering();
    await quiet.reached;
    quiet.open();
    await until(() => pbx.openPolls() === 1, "a held poll");
    // A deploy, and a backlog while the lease is free.
    const backlogFrom = pbx.seq;
    await hub.deregister("sub");
    await hub.standDown();
    const old = pbx.startCall("410");
    pbx.update("410", old, { status: "Connected" });
    const afterBacklog = gates.hold(pbx.seq);
    hub.register("sub", flow);
    hub.releaseLingering();
    await afterBacklog.reached; // resumed from backlogFrom, the backlog is in
    assert.ok(backlogFrom < pbx.seq);
    assert.deepEqual(statuses(old), ["Ringing", "Connected"], "the backlog reached the flow");
    // The PBX restarts, its calls gone; two calls begin before the held poll reaches it.
    pbx.restart({ keepCalls: false });
    const x = pbx.startCall("410", { callerId: "0400000001" });
    const y = pbx.startCall("410", { callerId: "0400000002" });
    const afterRead = gates.hold(pbx.seq);
    afterBacklog.open();
    await afterRead.reached; // the restart was seen, and the read after it answered
    // Between that read and the poll after it: X is not answered, Y is; then the full deploy.
    pbx.update("410", x, { status: "No Answer" });
    pbx.update("410", y, { status: "Connected" });
    await deploy();
    pbx.update("410", y, { status: "Hungup" });
    await until(() => statuses(y).includes("Hungup") && statuses(x).includes("No Answer"), "X's and Y's ends at the flow");
    assert.deepEqual(statuses(y).slice(-2), ["Connected", "Hungup"], "Y's changes after the restart was seen");
  });
});
