/**
 * The presence context variable's claims (presence-variable.ts), with sinon's clock: a node closed to be started
 * again that does not come back gives its extensions up after RESTART_WAIT_MS; one that comes back keeps them. And the
 * clean-up after a start: it waits for every node of the variable to know its extensions.
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

/** A variable as Node-RED's memory store keeps it: one object, `v["410"]` its property. */
class NestedContext implements ContextAccess {
  value: Record<string, unknown> = {};
  get(key: string, callback: (err: Error | undefined, value: unknown) => void): void {
    const property = /^v\["(.*)"\]$/.exec(key);
    callback(undefined, property ? this.value[property[1]] : key === "v" ? structuredClone(this.value) : undefined);
  }
  set(key: string, value: unknown, callback: (err?: Error) => void): void {
    const property = /^v\["(.*)"\]$/.exec(key)![1];
    if (value === undefined) delete this.value[property];
    else this.value[property] = value;
    callback();
  }
}

const entry = (extension: string, state: string) => ({ extension, state, calls: [] });

describe("PresenceVariable: the clean-up once a start is over", () => {
  it("removes only entries a presence node wrote: another node's variable nested in it, and a flow's own keys, stay", () => {
    const context = new NestedContext();
    const nested = { "420": entry("420", "ringing") }; // a node using `v.presence` (outside review of issue 24)
    context.value = { "410": entry("410", "idle"), "430": entry("430", "on a call"), presence: nested, note: "kept by a flow", "440": { state: 1 } };
    const a = new PresenceVariable(context, "v", "global/v-nested", "a", () => undefined);
    a.watch(["410"]);
    a.settle();
    assert.deepEqual(context.value, { "410": entry("410", "idle"), presence: nested, note: "kept by a flow", "440": { state: 1 } });
    a.close(true);
  });

  it("waits for a node of the variable still reading its kept list (another hub's), then keeps what it claims", () => {
    const context = new NestedContext();
    context.value = { "410": entry("410", "idle"), "420": entry("420", "on a call"), "430": entry("430", "on a call") };
    const a = new PresenceVariable(context, "v", "global/v-two-hubs", "a", () => undefined);
    const b = new PresenceVariable(context, "v", "global/v-two-hubs", "b", () => undefined); // its kept list: 420
    a.watch(["410"]);
    a.settle(); // a's hub: its start is over; b's hub still waits for b's list
    assert.deepEqual(Object.keys(context.value).sort(), ["410", "420", "430"]);
    b.watch(["420"]);
    assert.deepEqual(Object.keys(context.value).sort(), ["410", "420"]);
    a.close(true);
    b.close(true);
  });

  it("does not wait for a node its own hub gave up on (its store never answered)", () => {
    const context = new NestedContext();
    context.value = { "410": entry("410", "idle"), "430": entry("430", "on a call") };
    const a = new PresenceVariable(context, "v", "global/v-gave-up", "a", () => undefined);
    const b = new PresenceVariable(context, "v", "global/v-gave-up", "b", () => undefined);
    a.watch(["410"]);
    a.settle();
    assert.ok("430" in context.value);
    b.settle(); // b's hub released without it
    assert.deepEqual(Object.keys(context.value), ["410"]);
    a.close(true);
    b.close(true);
  });
});

