/**
 * The hub's onCurrentState hook: a subscriber that asks for it learns the whole current state of each extension after
 * every current-state read (a PBX restart included, where ended calls get no event) and when it joins an extension
 * already read.
 */
import assert from "node:assert/strict";
import { NoojeeError } from "../../nodes/lib/client/errors";
import type { CallEvent, LoopStatus, SubscribeApi } from "../../nodes/lib/poll/poll-loop";
import { Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import type { SubscribeResponse } from "../../nodes/lib/client/types";

class StubApi implements SubscribeApi {
  state: Record<string, Array<{ uniqueCallId: string; status: string }>> = {};
  seq = 10;
  private held: Array<(r: SubscribeResponse) => void> = [];

  subscribe(extensions: readonly string[], last: number, timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    if (last === 0) {
      const data = Object.fromEntries(extensions.filter((e) => this.state[e]).map((e) => [e, this.state[e].map((c) => ({ CallData: c }))]));
      return Promise.resolve({ Code: 0, seq: this.seq, Data: data });
    }
    if (timeOut === 0) return Promise.resolve({ Code: 0, seq: this.seq, Data: {} });
    return new Promise((resolve, reject) => {
      this.held.push(resolve);
      signal?.addEventListener("abort", () => reject(new NoojeeError("aborted", "request cancelled")));
    });
  }

  async heldPolls(): Promise<void> {
    while (this.held.length === 0) await new Promise((r) => setImmediate(r));
  }

  async answer(response: SubscribeResponse): Promise<void> {
    await this.heldPolls();
    this.held.splice(0).forEach((resolve) => resolve(response));
  }
}

type Log = string[];
function subscriber(extensions: string[], log: Log, name: string): Subscriber {
  const show = (e: CallEvent) => `${e.data.uniqueCallId}:${e.data.status}`;
  return {
    extensions,
    timeoutSec: 30,
    onEvent: (e) => log.push(`${name} event ${e.extension} ${show(e)}`),
    onStatus: (_s: LoopStatus) => undefined,
    onCurrentState: (extension, calls) => log.push(`${name} current ${extension} [${calls.map(show).join(",")}]`),
  };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), "condition not reached");
};

describe("SubscriptionHub: onCurrentState", () => {
  it("follows the first read's events, is given to a newcomer on a read extension, and ends calls a restart's read no longer lists", async () => {
    const api = new StubApi();
    api.state = { "410": [{ uniqueCallId: "1.1", status: "Connected" }] };
    const hub = new SubscriptionHub(api);
    const log: Log = [];
    hub.register("a", subscriber(["410", "400"], log, "a"));
    await api.heldPolls();
    assert.deepEqual(log, ["a event 410 1.1:Connected", "a current 410 [1.1:Connected]", "a current 400 []"]);

    log.length = 0;
    hub.register("b", subscriber(["410"], log, "b"));
    await until(() => log.length === 2);
    assert.deepEqual(log, ["b event 410 1.1:Connected", "b current 410 [1.1:Connected]"], "the replay, then the whole state");

    // The PBX restarts: its counter goes back, the call is gone without a Hungup; a new call rings on 400.
    log.length = 0;
    api.seq = 2;
    api.state = { "400": [{ uniqueCallId: "9.9", status: "Ringing" }] };
    await api.answer({ Code: 0, seq: 2, Data: {} });
    await until(() => log.filter((l) => l.includes("current")).length === 3);
    // The call gone with the restart ends (a Hungup marked vanished), and the whole state says so.
    assert.deepEqual(log.sort(), [
      "a current 400 [9.9:Ringing]", "a current 410 []", "a event 400 9.9:Ringing", "a event 410 1.1:Hungup", "b current 410 []", "b event 410 1.1:Hungup",
    ]);
    await hub.close();
  });

  it("an extension added at runtime gets its whole state once read; subscribers without the hook are untouched", async () => {
    const api = new StubApi();
    api.state = { "420": [{ uniqueCallId: "2.1", status: "Ringing" }] };
    const hub = new SubscriptionHub(api);
    const log: Log = [];
    hub.register("a", subscriber(["410"], log, "a"));
    const plain: CallEvent[] = [];
    hub.register("p", { extensions: ["420"], timeoutSec: 30, onEvent: (e) => plain.push(e), onStatus: () => undefined });
    await api.heldPolls();
    await until(() => log.length === 1);
    hub.updateExtensions("a", ["410", "420"]);
    await until(() => log.length === 3);
    assert.deepEqual(log, ["a current 410 []", "a event 420 2.1:Ringing", "a current 420 [2.1:Ringing]"]);
    assert.equal(plain.length, 1);
    await hub.close();
  });
});
