/**
 * The hub alone: one loop for many subscribers, dispatch by extension, replay of the current state to newcomers.
 */
import assert from "node:assert/strict";
import { NoojeeError } from "../../nodes/lib/errors";
import type { CallEvent, LoopStatus, SubscribeApi } from "../../nodes/lib/poll-loop";
import { Subscriber, SubscriptionHub } from "../../nodes/lib/subscription-hub";
import type { SubscribeResponse } from "../../nodes/lib/types";

/** Answers current-state reads from `state`; holds long polls until aborted or released with events. */
class StubApi implements SubscribeApi {
  state: Record<string, Array<{ uniqueCallId: string; status: string }>> = {};
  seq = 10;
  calls: Array<{ extensions: string[]; last: number }> = [];
  private held: Array<(r: SubscribeResponse) => void> = [];

  subscribe(extensions: readonly string[], last: number, _timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    this.calls.push({ extensions: [...extensions], last });
    if (last === 0) {
      const data = Object.fromEntries(extensions.filter((e) => this.state[e]).map((e) => [e, this.state[e].map((c) => ({ CallData: c }))]));
      return Promise.resolve({ Code: 0, seq: this.seq, Data: data });
    }
    return new Promise((resolve, reject) => {
      this.held.push(resolve);
      signal?.addEventListener("abort", () => reject(new NoojeeError("aborted", "request cancelled")));
    });
  }

  async release(extension: string, uniqueCallId: string, status: string): Promise<void> {
    while (this.held.length === 0) await new Promise((r) => setImmediate(r));
    this.seq += 1;
    this.held.splice(0).forEach((resolve) => resolve({ Code: 0, seq: this.seq, Data: { [extension]: [{ CallData: { uniqueCallId, status } }] } }));
  }

  async heldPolls(): Promise<void> {
    while (this.held.length === 0) await new Promise((r) => setImmediate(r));
  }
}

function subscriber(extensions: string[]): Subscriber & { events: CallEvent[]; statuses: LoopStatus[] } {
  const events: CallEvent[] = [];
  const statuses: LoopStatus[] = [];
  return { extensions, timeoutSec: 30, events, statuses, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) };
}

const describeEvents = (events: CallEvent[]) => events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);

describe("SubscriptionHub", () => {
  it("runs one loop for the union, dispatches by extension, and replays the current state to a newcomer after its constructor", async () => {
    const api = new StubApi();
    api.state = { "410": [{ uniqueCallId: "1.1", status: "Connected" }] };
    const hub = new SubscriptionHub(api);
    const a = subscriber(["410"]);
    hub.register("a", a);
    await api.heldPolls();
    assert.deepEqual(describeEvents(a.events), ["410:1.1:Connected:true"]);

    const b = subscriber(["410", "400"]);
    hub.register("b", b);
    assert.deepEqual(b.events, [], "nothing is sent synchronously from register (the node's constructor)");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(b.events), ["410:1.1:Connected:true"]);

    await api.release("410", "1.1", "Hungup");
    await api.heldPolls();
    assert.deepEqual(describeEvents(a.events).at(-1), "410:1.1:Hungup:false");
    assert.deepEqual(describeEvents(b.events).at(-1), "410:1.1:Hungup:false");
    assert.deepEqual(api.calls.filter((c) => c.last !== 0).at(-1)?.extensions.sort(), ["400", "410"]);
    assert.equal(a.statuses.at(-1)?.state, "listening");
    await hub.close();
  });

  it("delivers a pending replay before a live event, and drops it for a subscriber that left", async () => {
    const api = new StubApi();
    api.state = { "410": [{ uniqueCallId: "1.1", status: "Ringing" }] };
    const hub = new SubscriptionHub(api);
    hub.register("a", subscriber(["410"]));
    await api.heldPolls();
    const b = subscriber(["410"]);
    hub.register("b", b);
    const gone = subscriber(["410"]);
    hub.register("gone", gone);
    await hub.deregister("gone");
    await api.release("410", "1.1", "Connected"); // may race the deferred replay
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(describeEvents(b.events), ["410:1.1:Ringing:true", "410:1.1:Connected:false"]);
    assert.deepEqual(gone.events, []);
    await hub.close();
  });

  it("stops polling when the last subscriber leaves, and resumes from its cursor when one returns soon", async () => {
    const api = new StubApi();
    const hub = new SubscriptionHub(api);
    hub.register("a", subscriber(["410"]));
    await api.heldPolls();
    await api.release("410", "2.1", "Ringing");
    await api.heldPolls();
    const cursor = api.seq;
    await hub.deregister("a");
    assert.equal(hub.pollLoop?.isRunning, false);
    const again = subscriber(["410"]);
    hub.register("a", again);
    await new Promise((r) => setImmediate(r));
    await api.heldPolls();
    assert.deepEqual(describeEvents(again.events), ["410:2.1:Ringing:true"], "the newcomer gets the known state");
    assert.equal(api.calls.at(-1)?.last, cursor, "no new read from 0: the cursor was kept");
    await hub.close();
  });
});
