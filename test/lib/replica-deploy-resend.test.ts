/**
 * A full deploy on the lease holder (ReplicatedHub.standDown) writes the shared position before it hands the lease
 * back, so that the next term carries on exactly after what the flow got. The subscribe nodes close before the config
 * node: a poll answered in between keeps its changes for whoever watches those extensions next (lingering), and a
 * position is stored only once nothing is kept back. The stand-down's write found changes kept back and wrote nothing:
 * the next term resumed from the position written last (throttled, up to 300 ms older) and sent again what the flow
 * had got since (the replica soak's duplicate, seed 343905). A real redis-server, the fake PBX over HTTP; the order is
 * forced by gates a request waits at before it reaches the PBX.
 */
import assert from "node:assert/strict";
import type { SubscribeApi } from "../../nodes/lib/poll/poll-types";
import { FakePbx } from "../fake-pbx";
import { useRedisServer } from "../harness/redis-server";
import { deployHolder, UNIT } from "./replica-deploy-fixture";
import { until } from "./replica-support";

describe("Replicas: a full deploy on the holder while a poll answer waits for the redeployed nodes", function () {
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

  it("the next term sends nothing the flow had before the deploy, and everything after it", async () => {
    // An answer the client has read but not yet handed on when the deploy stops the polls (on the wire, or its lease
    // check under way): it waits here, after the PBX, until the test lets it go.
    let late: { reached: () => void; opened: Promise<void> } | undefined;
    const holdAfterPbx = (gated: SubscribeApi): SubscribeApi => ({
      subscribe: async (extensions, last, timeOut, signal) => {
        const answer = await gated.subscribe(extensions, last, timeOut, signal);
        const hold = late;
        late = undefined;
        if (hold) {
          hold.reached();
          await hold.opened;
        }
        return answer;
      },
    });
    // The throttle's lag made long (the default is 300 ms): one write every 2 s.
    const { gates, hub, redis, keys, flow, statuses } = deployHolder({ server, pbx, closing, prefix: "deploy-resend", writeEveryMs: 2000, api: holdAfterPbx });
    pbx.bumpSeq(20);
    const first = gates.hold(pbx.seq); // the first poll after the start's read: the start's position is written
    hub.register("sub", flow);
    hub.releaseLingering();
    await first.reached;
    const position = async (): Promise<string> => (await redis.get(keys.position)) ?? "";
    const cursor = async (): Promise<number | undefined> => (JSON.parse((await position()) || "{}") as { polls?: Array<{ seq: number }> }).polls?.[0]?.seq;
    const end = Date.now() + 8000;
    let written: number | undefined;
    while ((written = await cursor()) !== pbx.seq) {
      if (Date.now() > end) throw new Error("never happened: the start's read in the shared position");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const call = pbx.startCall("410");
    const afterRinging = gates.hold(pbx.seq);
    first.open();
    await afterRinging.reached; // the Ringing reached the flow; the position written stays the start's (throttled)
    assert.deepEqual(statuses(call), ["Ringing"]);
    assert.equal(await cursor(), written, "the Ringing not yet in the shared position (the next write is throttled)");
    // The Connected is answered, and its answer is on its way to the hub when the full deploy begins.
    pbx.update("410", call, { status: "Connected" });
    let reached!: () => void;
    let open!: () => void;
    const answered = new Promise<void>((resolve) => (reached = resolve));
    late = { reached, opened: new Promise<void>((resolve) => (open = resolve)) };
    afterRinging.open();
    await answered;
    // The full deploy: the subscribe node closes (its polls stop); the answer lands, kept for the node that comes back.
    const left = hub.deregister("sub");
    open();
    await left;
    await hub.standDown(); // the config node closes: the position written, the lease handed back
    hub.register("sub", flow); // the redeployed nodes; this replica takes the lease again
    hub.releaseLingering();
    await until(() => statuses(call).includes("Connected"), "the Connected at the flow");
    pbx.update("410", call, { status: "Hungup" });
    await until(() => statuses(call).includes("Hungup"), "the Hungup at the flow");
    assert.deepEqual(statuses(call), ["Ringing", "Connected", "Hungup"], "each change once");
  });
});
