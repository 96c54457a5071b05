/**
 * The presence context variable's claims (presence-variable.ts), with sinon's clock: a node closed to be started
 * again that does not come back gives its extensions up after RESTART_WAIT_MS; one that comes back keeps them.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { type ContextAccess, PresenceVariable, RESTART_WAIT_MS } from "../../nodes/lib/presence/presence-variable";

class Context implements ContextAccess {
  readonly data = new Map<string, unknown>();
  get(key: string, callback: (err: Error | undefined, value: unknown) => void): void {
    callback(undefined, this.data.get(key));
  }
  set(key: string, value: unknown, callback: (err?: Error) => void): void {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, value);
    callback();
  }
}

describe("PresenceVariable: claims of nodes closed for a redeploy", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })));
  afterEach(() => clock.restore());

  it("a node that does not come back within RESTART_WAIT_MS gives its extensions up (flows stopped, then deleted)", async () => {
    const context = new Context();
    const gone = new PresenceVariable(context, "v", "global/v-gone", "gone", () => undefined);
    gone.watch(["400"]);
    gone.write("400", { state: "idle" });
    assert.ok(context.data.has('v["400"]'));
    gone.close(false);
    await clock.tickAsync(RESTART_WAIT_MS - 1);
    assert.ok(context.data.has('v["400"]'), "still waiting for its next instance");
    await clock.tickAsync(1);
    assert.equal(context.data.has('v["400"]'), false);
  });

  it("one that comes back in time keeps its claim: nothing is removed", async () => {
    const context = new Context();
    const before = new PresenceVariable(context, "v", "global/v-back", "back", () => undefined);
    before.watch(["400"]);
    before.write("400", { state: "idle" });
    before.close(false);
    const next = new PresenceVariable(context, "v", "global/v-back", "back", () => undefined);
    next.watch(["400"]);
    await clock.tickAsync(RESTART_WAIT_MS * 2);
    assert.ok(context.data.has('v["400"]'));
  });
});
