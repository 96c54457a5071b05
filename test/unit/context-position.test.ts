/**
 * The position kept in a context store (ContextPosition), against an in-memory stand-in for a Node-RED context with
 * asynchronous get/set: round trip under the documented key, the same checks as the file (missing, damaged,
 * foreign, old), a store that fails or answers late (tried again for a bounded time, a late answer counting), and the
 * write throttle shared with the file.
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { ContextAccess, ContextPosition, POSITION_KEY } from "../../nodes/lib/poll/context-position";
import type { LoadResult } from "../../nodes/lib/poll/position-format";
import type { HubPosition } from "../../nodes/lib/poll/subscription-hub";

const HOST = "https://pbx.example.com:443";
const HOUR = 3_600_000;

const position = (seq: number): HubPosition => ({
  polls: [{ seq, extensions: ["400"], fences: {} }],
  legs: [{ extension: "400", data: { uniqueCallId: "1.1", status: "Ringing" }, callId: 1 }],
  subscribers: { sub1: { version: 1, legs: [], finished: [] } },
});

/** A context store in memory, answering on the next tick; `fail` makes the next operations fail. */
class MemoryContext implements ContextAccess {
  readonly data = new Map<string, Map<string, unknown>>();
  sets = 0;
  failGet: Error | undefined;
  failSet: Error | undefined;
  silent = false;
  /** Sets that neither keep the value nor call back (a store that hangs for a while). */
  silentSets = 0;
  /** Sets held back (not kept, not answered) until landHeld(): a store that applies a write late. */
  holdSets = 0;
  private readonly heldSets: Array<() => void> = [];
  /** Gets that fail before one answers (then failGet is left as it is). */
  failGets = 0;
  /** Answers given this late (on setTimeout, for fake timers) instead of on the next tick. */
  getDelayMs = 0;
  gets = 0;

  /** The held sets land now, in order. */
  landHeld(): void {
    for (const land of this.heldSets.splice(0)) land();
  }

  get(key: string, store: string, callback: (err: Error | null | undefined, value?: unknown) => void): void {
    this.gets += 1;
    if (this.silent) return;
    const failing = this.failGets > 0 ? new Error("store not ready") : this.failGet;
    if (this.failGets > 0) this.failGets -= 1;
    const answer = (): void => (failing ? callback(failing) : callback(null, this.data.get(store)?.get(key)));
    if (this.getDelayMs > 0) setTimeout(answer, this.getDelayMs);
    else setImmediate(answer);
  }

  set(key: string, value: unknown, store: string, callback: (err?: Error | null) => void): void {
    this.sets += 1;
    if (this.silentSets > 0) {
      this.silentSets -= 1;
      return;
    }
    if (this.holdSets > 0) {
      this.holdSets -= 1;
      this.heldSets.push(() => {
        if (!this.data.has(store)) this.data.set(store, new Map());
        this.data.get(store)!.set(key, value);
        callback(null);
      });
      return;
    }
    setImmediate(() => {
      if (this.failSet) return callback(this.failSet);
      if (!this.data.has(store)) this.data.set(store, new Map());
      if (value === undefined) this.data.get(store)!.delete(key);
      else this.data.get(store)!.set(key, value);
      callback(null);
    });
  }
}

describe("ContextPosition", () => {
  let context: MemoryContext;
  let warnings: string[];
  /** Why a load gave no position (undefined when it gave one). */
  const reasonOf = async (loading: Promise<LoadResult>): Promise<string | undefined> => {
    const loaded = await loading;
    return loaded.position ? undefined : loaded.reason;
  };
  const make = (extra: Partial<ConstructorParameters<typeof ContextPosition>[0]> = {}) =>
    new ContextPosition({ context, store: "keep", host: HOST, authMode: "apiKey", onWarning: (m) => warnings.push(m), ...extra });

  beforeEach(() => {
    context = new MemoryContext();
    warnings = [];
  });
  afterEach(() => sinon.restore());

  it(`keeps the position (host, sign-in, polls, legs, subscribers; never a key) under ${POSITION_KEY} of the chosen store`, async () => {
    const store = make();
    store.save(() => position(42));
    await store.flush();
    const kept = context.data.get("keep")?.get(POSITION_KEY) as Record<string, unknown>;
    assert.deepEqual(Object.keys(kept).sort(), ["authMode", "format", "host", "legs", "polls", "savedAt", "subscribers", "version"]);
    assert.equal(kept.host, HOST);
    assert.equal(context.data.size, 1, "only the chosen store");
    const loaded = await make().load(HOUR);
    assert.deepEqual(loaded.position, position(42));
    assert.deepEqual(warnings, []);
  });

  it("stores a copy of its own: a store that keeps the object (a memory cache) never sees it change", async () => {
    const live = position(5);
    const store = make();
    store.save(() => live);
    await store.flush();
    live.polls[0].seq = 999;
    assert.equal((await make().load(HOUR)).position?.polls[0].seq, 5);
  });

  it("a missing, damaged, foreign or old entry is no position, with the reason", async () => {
    assert.deepEqual(await make().load(HOUR), { position: undefined, reason: "missing", detail: "no saved position" });
    context.data.set("keep", new Map([[POSITION_KEY, { format: "something else" }]]));
    assert.equal(await reasonOf(make().load(HOUR)), "corrupt");
    context.data.set("keep", new Map([[POSITION_KEY, "a string"]]));
    assert.equal(await reasonOf(make().load(HOUR)), "corrupt");
    const other = make({ host: "https://other.example.com:443" });
    other.save(() => position(7));
    await other.flush();
    assert.equal(await reasonOf(make().load(HOUR)), "otherHost");
    const old = make({ now: () => Date.now() - 2 * HOUR });
    old.save(() => position(7));
    await old.flush();
    assert.equal(await reasonOf(make().load(HOUR)), "tooOld");
    context.data.get("keep")!.set(POSITION_KEY, { ...(context.data.get("keep")!.get(POSITION_KEY) as object), savedAt: Date.now(), subscribers: [] });
    assert.equal(await reasonOf(make().load(HOUR)), "corrupt", "subscribers must be an object of objects");
  });

  /** A position kept in the store (written by an earlier process). */
  const kept = async (seq: number): Promise<void> => {
    const store = make();
    store.save(() => position(seq));
    await store.flush();
  };
  const noJitter = { readBackoff: { initialMs: 1000, maxMs: 15_000, jitter: 0 } };

  it("a read that fails is tried again after a growing pause, saying why; the position it then gives is used", async () => {
    await kept(42);
    context.failGets = 2;
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const retries: string[] = [];
    const loading = make(noJitter).load(HOUR, (problem, attempt, inMs) => retries.push(`${attempt}: ${problem}, next in ${inMs}`));
    await clock.tickAsync(2_999);
    assert.deepEqual(retries, ["1: store not ready, next in 1000", "2: store not ready, next in 2000"]);
    assert.equal(context.gets, 2);
    await clock.tickAsync(1);
    assert.equal((await loading).position?.polls[0].seq, 42);
    assert.equal(context.gets, 3);
  });

  it("a read not answered within readTimeoutMs: another is tried, and the first one's late answer still counts", async () => {
    await kept(43);
    context.getDelayMs = 15_000;
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let result: LoadResult | undefined;
    void make({ ...noJitter, readTimeoutMs: 10_000 }).load(HOUR).then((loaded) => (result = loaded));
    await clock.tickAsync(11_000);
    assert.equal(context.gets, 2, "the second read went out after the first one's timeout and a pause");
    assert.equal(result === undefined, true);
    await clock.tickAsync(4_000);
    assert.equal(result?.position?.polls[0].seq, 43, "the first read's answer, 15 s late");
  });

  it("a store that never answers: tried for readForMs, then given up with the last reason (the polls start without it)", async () => {
    context.silent = true;
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let result: LoadResult | undefined;
    void make({ ...noJitter, readTimeoutMs: 10_000, readForMs: 60_000 }).load(HOUR).then((loaded) => (result = loaded));
    await clock.tickAsync(59_999);
    assert.equal(result === undefined, true);
    assert.ok(context.gets >= 4, `${context.gets} reads`);
    await clock.tickAsync(1);
    assert.deepEqual(result, { position: undefined, reason: "gaveUp", detail: "no answer in 10 s", triedMs: 60_000 });
    const gets = context.gets;
    await clock.tickAsync(60_000);
    assert.equal(context.gets, gets, "no read after giving up");
  });

  it("a damaged entry is not read again: it is what the store holds", async () => {
    context.data.set("keep", new Map([[POSITION_KEY, "a string"]]));
    assert.equal(await reasonOf(make().load(HOUR)), "corrupt");
    assert.equal(context.gets, 1);
  });

  it("a failing write is one warning and a retry after the pause; the next good write stores the latest position", async () => {
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const store = make({ minIntervalMs: 0, retryMs: 30_000 });
    context.failSet = new Error("store full");
    store.save(() => position(1));
    await clock.tickAsync(10);
    store.save(() => position(2));
    await clock.tickAsync(10_000);
    assert.equal(context.sets, 1, "no hot loop while failing");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cannot save the position to context store "keep" \(key noojee-position .*\(store full\): retrying every 30 s/);
    context.failSet = undefined;
    await clock.tickAsync(20_000);
    assert.equal(context.sets, 2);
    clock.restore();
    assert.equal((await make().load(HOUR)).position?.polls[0].seq, 2);
    assert.equal(warnings.length, 1);
  });

  it("a write never answered is a failure after writeTimeoutMs: one warning, and later writes go on (found by an outside review)", async () => {
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const store = make({ minIntervalMs: 0, retryMs: 30_000 });
    context.silentSets = 1; // the store hangs once, then recovers
    store.save(() => position(1));
    await clock.tickAsync(10);
    store.save(() => position(2));
    await clock.tickAsync(14_000);
    assert.equal(warnings.length, 0, "not yet: it may still answer");
    await clock.tickAsync(2_000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cannot save the position .*no answer within 15 s.*retrying every 30 s/);
    await clock.tickAsync(30_000);
    assert.equal(context.sets, 2, "the next write was made");
    store.save(() => position(3));
    await clock.tickAsync(10);
    clock.restore();
    assert.equal((await make().load(HOUR)).position?.polls[0].seq, 3);
  });

  it("a write given up on that lands after all, over a newer one, is overwritten with the latest at once (outside review)", async () => {
    const clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const store = make({ minIntervalMs: 0, retryMs: 30_000 });
    context.holdSets = 1;
    store.save(() => position(1));
    await clock.tickAsync(16_000); // given up on
    store.save(() => position(2));
    await clock.tickAsync(30_000);
    assert.equal(context.sets, 2, "the next write was made");
    context.landHeld(); // the first write lands now, over position 2
    await clock.tickAsync(10);
    assert.equal(context.sets, 3, "the latest went again");
    clock.restore();
    assert.equal((await make().load(HOUR)).position?.polls[0].seq, 2);
  });

  it("remove() forgets the position and stops writing", async () => {
    const store = make({ minIntervalMs: 0 });
    store.save(() => position(3));
    await store.flush();
    await store.remove();
    store.save(() => position(4));
    await store.flush();
    assert.equal(context.data.get("keep")?.has(POSITION_KEY), false);
  });
});
