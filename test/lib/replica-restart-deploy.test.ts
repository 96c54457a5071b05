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
import type { Redis } from "ioredis";
import { HoldLimit } from "../../nodes/lib/poll/hold-limit";
import type { Subscriber } from "../../nodes/lib/poll/hub-types";
import type { CallEvent } from "../../nodes/lib/poll/poll-types";
import { replicaKeys } from "../../nodes/lib/replicas/keys";
import { ReplicatedHub } from "../../nodes/lib/replicas/replicated-hub";
import { FakePbx } from "../fake-pbx";
import { useRedisServer } from "../harness/redis-server";
import { Gates } from "../unit/request-gates";
import { redisClient, until } from "./replica-support";

const UNIT = 100;

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
    const gates = new Gates(pbx, UNIT);
    const redis: Redis = redisClient(server.url);
    const listener: Redis = redisClient(server.url);
    const hub = new ReplicatedHub({
      api: gates.api, redis, listener, keys: replicaKeys("deploy", "cfg"), name: "alpha", host: pbx.url, authMode: "apiKey",
      maxAgeMs: 3_600_000, ttlMs: 1500, marginMs: 300, pollSlackMs: 200, mirrorEveryMs: 300,
      hub: { holdLimit: new HoldLimit({ unitMs: UNIT }), random: () => 0, idleGapMs: 50, earlyReadMs: 200 },
      writer: { minIntervalMs: 20 },
    });
    closing.push(() => gates.client.close(), () => redis.disconnect(), () => listener.disconnect(), () => hub.close());
    const events: CallEvent[] = [];
    const flow: Subscriber = { extensions: ["410"], timeoutSec: 30, onEvent: (e) => events.push(e), onStatus: () => undefined };
    const statuses = (id: string): string[] => events.filter((e) => e.data.uniqueCallId === id).map((e) => e.data.status);
    /** A full deploy: the subscribe node and the config node close (the lease is handed back), then start again. */
    const deploy = async (): Promise<void> => {
      await hub.deregister("sub");
      await hub.standDown();
      hub.register("sub", flow);
      hub.releaseLingering();
    };
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
