/**
 * One error per failure streak over a window (nodes/watch-node.ts PollFailures): a poll that fails, works and fails
 * again within the window (a proxy cutting every held poll) is one streak. The node is a stub recording error() and
 * log(); the window runs on sinon's fake clock.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import type { Node } from "node-red";
import { NoojeeError } from "../../nodes/lib/client/errors";
import type { LoopStatus } from "../../nodes/lib/poll/poll-loop";
import { PollFailures, STREAK_WINDOW_MS } from "../../nodes/watch-node";

function setup() {
  const errors: string[] = [];
  const logs: string[] = [];
  const node = { error: (text: string) => errors.push(text), log: (text: string) => logs.push(text) } as unknown as Node;
  const t = (key: string, values?: Record<string, string | number>) => `${key}${values ? ` ${JSON.stringify(values)}` : ""}`;
  return { failures: new PollFailures(node, t, () => "410"), errors, logs };
}

const failing = (message: string, kind: NoojeeError["kind"] = "http"): LoopStatus =>
  ({ state: "failing", error: new NoojeeError(kind, message), attempt: 1, retryInMs: 1000 });
const listening: LoopStatus = { state: "listening" };

describe("PollFailures", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] })));
  afterEach(() => clock.restore());

  it("a poll flapping failing/listening gives one error, and one 'restored' line once it has worked for the window", () => {
    const { failures, errors, logs } = setup();
    for (let i = 0; i < 20; i++) {
      failures.update(failing("HTTP 504"));
      assert.equal(failures.failure, "status.retrying {\"reason\":\"HTTP 504\",\"seconds\":1}");
      clock.tick(1000);
      failures.update(listening);
      assert.equal(failures.failure, undefined, "the status shows the poll working");
      clock.tick(3000);
    }
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.deepEqual(logs, []);
    clock.tick(STREAK_WINDOW_MS - 3001);
    assert.deepEqual(logs, [], "not before the window is over");
    clock.tick(1);
    assert.deepEqual(logs, ["log.recovered"]);
    // A failure after the window is a new streak.
    failures.update(failing("HTTP 504"));
    assert.equal(errors.length, 2);
    failures.close();
  });

  it("the same reason with other numbers is no new error (a poll's limit, then a quick check's); another kind is", () => {
    const { failures, errors } = setup();
    failures.update(failing("no answer within 15 s", "timeout"));
    failures.update(listening);
    failures.update(failing("no answer within 10 s", "timeout"));
    assert.equal(failures.failure, "status.retrying {\"reason\":\"no answer within 10 s\",\"seconds\":1}", "the status shows the text as it is");
    failures.update(failing("HTTP 502"));
    failures.update(failing("HTTP 504"));
    assert.deepEqual(errors.map((e) => JSON.parse(e.slice(e.indexOf("{"))).reason), ["no answer within 15 s", "HTTP 502"]);
    failures.close();
  });

  it("a new reason within a streak is a new error; close() leaves no timer", () => {
    const { failures, errors, logs } = setup();
    failures.update(failing("HTTP 504"));
    failures.update(listening);
    failures.update(failing("connection refused"));
    assert.equal(errors.length, 2);
    failures.update(listening);
    assert.equal(clock.countTimers(), 1);
    failures.close();
    assert.equal(clock.countTimers(), 0);
    clock.tick(STREAK_WINDOW_MS);
    assert.deepEqual(logs, []);
  });
});
