/**
 * The kept extension list's read after a restart, on fake timers: tried again as long as the hub's position is
 * (review s11: a default store answering in 12 s cost the list, read for 10 s only). The node is a stand-in holding
 * only what KeptExtensions uses (its id and its context's asynchronous get/set).
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import type { Node } from "node-red";
import { KeptExtensions } from "../../nodes/kept-extensions";
import { READ_FOR_MS } from "../../nodes/lib/poll/retried-read";

type Callback = (err: Error | null | undefined, value?: unknown) => void;

/** A node whose default store answers each read only when the test says so. */
function nodeWithStore(id: string) {
  const reads: Callback[] = [];
  const node = { id, context: () => ({ get: (_key: string, cb: Callback) => reads.push(cb), set: (_k: string, _v: unknown, cb: () => void) => cb() }) };
  return { node: node as unknown as Node, reads };
}

describe("KeptExtensions: the read of a kept list after a restart", () => {
  let clock: sinon.SinonFakeTimers;
  let warnings: string[];
  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    warnings = [];
  });
  afterEach(() => clock.restore());

  it("a store that answers after 12 s still gives the kept list (its late answer counts)", async () => {
    const { node, reads } = nodeWithStore("slow-kept");
    const restored = new KeptExtensions(node, true, (key) => warnings.push(key)).restore(["410"]);
    assert.ok(restored instanceof Promise);
    let list: string[] | undefined;
    void restored.then((l) => (list = l));
    await clock.tickAsync(12_000);
    assert.ok(reads.length >= 2, "tried again after 10 s without an answer");
    reads[0](null, ["420"]);
    await clock.tickAsync(0);
    assert.deepEqual(list, ["420"]);
    assert.deepEqual(warnings, []);
  });

  it("a store that never answers: tried for READ_FOR_MS, then the node's own list with a warning", async () => {
    const { node, reads } = nodeWithStore("silent-kept");
    let list: string[] | undefined;
    void (new KeptExtensions(node, true, (key, values) => warnings.push(`${key} ${values?.reason}`)).restore(["410"]) as Promise<string[]>)
      .then((l) => (list = l));
    await clock.tickAsync(READ_FOR_MS - 1);
    assert.equal(list, undefined, "still trying");
    assert.deepEqual(warnings, []);
    await clock.tickAsync(1);
    assert.deepEqual(list, ["410"]);
    assert.deepEqual(warnings, ["error.keptUnreadable no answer in 10 s"]);
    assert.ok(reads.length > 5);
  });
});
