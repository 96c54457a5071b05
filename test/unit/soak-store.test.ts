/**
 * The soak's hold on its first kill with a store that writes out late (test/perf/soak-store.ts FirstWriteOut): held
 * until the store's file on disk holds a position, then placed after it was seen; not held for other stores, for
 * later kills, or when the position was on disk before the kill was due. The store's files are written by hand here
 * where localfilesystem puts them.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { POSITION_KEY } from "../../nodes/lib/poll/context-position";
import { FirstWriteOut, SoakStore } from "../perf/soak-store";

describe("soak: the first kill with a late-flushing store waits for its first write-out", () => {
  const stores: SoakStore[] = [];
  const storeOf = (name: "localfilesystem" | "durable"): SoakStore => {
    const store = new SoakStore(name);
    stores.push(store);
    return store;
  };
  const writeOut = (store: SoakStore, savedAt: number): void => {
    const dir = path.join(store.dir, "context", "cfg");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "flow.json"), JSON.stringify({ [POSITION_KEY]: { savedAt, polls: [{ seq: 5 }] } }));
  };
  const draw = (lo: number, hi: number): number => (lo + hi) / 2;
  after(() => stores.forEach((s) => s.remove()));

  it("holds the first kill of localfilesystem until its file holds a position, then places it 1 to 10 s after", () => {
    const store = storeOf("localfilesystem");
    const gate = new FirstWriteOut(store);
    gate.poll(1_000);
    assert.equal(gate.killAt(20_000, 0, draw, 20_000), undefined, "no position on disk: held");
    assert.equal(gate.killAt(20_000, 0, draw, 25_000), undefined, "still none: held");
    // An empty store file (localfilesystem creates its directory at once) is not a write-out.
    fs.mkdirSync(path.join(store.dir, "context", "cfg"), { recursive: true });
    assert.equal(gate.killAt(20_000, 0, draw, 26_000), undefined, "an empty directory is no position");
    writeOut(store, 29_500);
    gate.poll(30_000);
    assert.equal(gate.seenAt, 30_000);
    assert.equal(gate.savedAt, 29_500);
    assert.equal(gate.killAt(20_000, 0, draw, 30_050), 35_500, "seen at 30 s: the kill at 30 s + 5.5 s");
    assert.equal(gate.killAt(20_000, 0, () => 0, 31_000), 35_500, "placed once");
    assert.equal(gate.heldMs, 15_500);
    assert.match(gate.describe(0, 35_600), /^30\.0 s after the chaos began \(its position taken 0\.5 s before\); the first kill 5\.6 s after it, held 15\.5 s/);
    assert.equal(gate.killAt(60_000, 1, draw, 60_000), 60_000, "later kills are not held");
  });

  it("does not hold a kill due after the first write-out, nor any kill with a store that writes on every set", () => {
    const store = storeOf("localfilesystem");
    const gate = new FirstWriteOut(store);
    writeOut(store, 10_000);
    gate.poll(12_000);
    assert.equal(gate.killAt(25_000, 0, draw, 25_000), 25_000);
    assert.equal(gate.heldMs, 0);
    const durable = new FirstWriteOut(storeOf("durable"));
    assert.equal(durable.applies, false);
    assert.equal(durable.killAt(25_000, 0, draw, 25_000), 25_000, "durable: kills come when due");
    assert.equal(new FirstWriteOut(undefined).killAt(25_000, 0, draw, 25_000), 25_000, "the resume file: kills come when due");
    assert.equal(durable.describe(0, undefined), "never");
  });
});
