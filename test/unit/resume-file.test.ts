/**
 * The resume file alone, on a real temp folder: round trip, what it records, throttled and atomic writes, its bound,
 * and what happens with a missing, corrupt, unreadable, foreign, old or unwritable file.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sinon from "sinon";
import { serialisePosition } from "../../nodes/lib/poll/position-format";
import { parseContent, ResumeFile } from "../../nodes/lib/poll/resume-file";
import type { HubPosition } from "../../nodes/lib/poll/subscription-hub";

const HOST = "https://pbx.example.com:443";
const HOUR = 3_600_000;

const position = (seq: number, legs = 1): HubPosition => ({
  polls: [{ seq, extensions: ["400", "410"], fences: { "410": seq + 2 } }],
  legs: Array.from({ length: legs }, (_, i) => ({
    extension: "400",
    data: { uniqueCallId: `1.${i}`, status: "Ringing", callerId: "0400000000", inbound: true },
    callId: i + 1,
  })),
});

describe("ResumeFile", () => {
  let dir: string;
  let warnings: string[];
  const file = (name = "cfg.json") => path.join(dir, "noojee-resume", name);
  const make = (extra: Partial<ConstructorParameters<typeof ResumeFile>[0]> = {}) =>
    new ResumeFile({ file: file(), host: HOST, authMode: "apiKey", onWarning: (m) => warnings.push(m), ...extra });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-resume-test-"));
    warnings = [];
  });
  afterEach(() => {
    sinon.restore();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes the position with its host and sign-in mode (never a key) and reads it back", async () => {
    const store = make();
    store.save(() => position(42));
    await store.flush();
    const saved = JSON.parse(fs.readFileSync(file(), "utf8")) as Record<string, unknown>;
    assert.equal(saved.host, HOST);
    assert.equal(saved.authMode, "apiKey");
    assert.deepEqual(Object.keys(saved).sort(), ["authMode", "format", "host", "legs", "polls", "savedAt", "version"]);
    assert.equal(fs.statSync(file()).mode & 0o077, 0, "only the owner may read it");
    assert.equal(fs.existsSync(`${file()}.tmp`), false, "the temp file was renamed");
    const loaded = make().load(HOUR);
    assert.deepEqual(loaded.position, position(42));
    assert.deepEqual(warnings, []);
  });

  it("writes at most once per minIntervalMs under load, the latest position each time", async () => {
    const rename = sinon.spy(fs.promises, "rename");
    const store = make({ minIntervalMs: 200 });
    let seq = 1;
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      seq += 1;
      const now = seq;
      store.save(() => position(now));
      await new Promise((r) => setTimeout(r, 5));
    }
    await store.flush();
    assert.ok(rename.callCount >= 3 && rename.callCount <= 8, `${rename.callCount} writes in about 1 s`);
    assert.equal(make().load(HOUR).position?.polls[0].seq, seq, "the last write has the latest position");
  });

  it("keeps the last safe position while the capture has none, and writes the next one it has", async () => {
    const store = make({ minIntervalMs: 0 });
    store.save(() => position(5));
    await store.flush();
    store.save(() => undefined); // changes still on their way to a subscriber
    await store.flush();
    assert.equal(make().load(HOUR).position?.polls[0].seq, 5);
    store.save(() => position(9));
    await store.flush();
    assert.equal(make().load(HOUR).position?.polls[0].seq, 9);
  });

  it("a flush after a write in progress leaves no timer to write the same position again", async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    const started = sinon.spy(fs.promises, "mkdir"); // the first step of every write, taken at once
    const store = make({ now: () => Date.now() });
    store.save(() => position(1));
    await clock.tickAsync(0); // the first write starts
    store.save(() => position(2)); // arrives while it is in progress
    await store.flush();
    const writes = started.callCount;
    assert.equal(make().load(HOUR).position?.polls[0].seq, 2);
    await clock.tickAsync(1000);
    assert.equal(started.callCount, writes, "no second write of the same position");
    store.close();
  });

  it("keeps writing at its interval after the wall clock steps back an hour (intervals are monotonic)", async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000_000, toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    const started = sinon.spy(fs.promises, "mkdir"); // the first step of every write, taken at once
    const store = make({ minIntervalMs: 1000 });
    store.save(() => position(1));
    await store.flush();
    clock.setSystemTime(Date.now() - HOUR);
    store.save(() => position(2));
    const writes = started.callCount;
    await clock.tickAsync(1000);
    assert.equal(started.callCount, writes + 1, "the next write, one interval later");
    await store.flush();
    const saved = JSON.parse(fs.readFileSync(file(), "utf8")) as { savedAt: number };
    assert.equal(saved.savedAt, Date.now(), "savedAt is the wall clock, for the next process");
    assert.equal(make().load(HOUR).position?.polls[0].seq, 2);
    store.close();
  });

  it("loads a position at seq 0 (a PBX with no change yet), polls and fences, without a warning", async () => {
    const store = make();
    store.save(() => ({ polls: [{ seq: 0, extensions: ["410"], fences: { "410": 0 } }], legs: [] }));
    await store.flush();
    assert.deepEqual(make().load(HOUR).position?.polls, [{ seq: 0, extensions: ["410"], fences: { "410": 0 } }]);
    assert.deepEqual(warnings, []);
  });

  it("a position saved by a clock ahead of this one is used however far ahead (this clock may be behind), with its age", () => {
    const good = { format: "node-red-contrib-noojee/resume", version: 1, host: HOST, authMode: "apiKey", ...position(5) };
    fs.mkdirSync(path.dirname(file()), { recursive: true });
    const now = 2_000_000_000;
    for (const aheadMs of [30_000, 5 * 60_000, 50 * 60_000, 3 * HOUR]) {
      fs.writeFileSync(file(), JSON.stringify({ ...good, savedAt: now + aheadMs }));
      const loaded = make({ now: () => now }).load(HOUR);
      assert.deepEqual([loaded.position?.polls[0].seq, (loaded as { ageMs: number }).ageMs], [5, -aheadMs], `${aheadMs} ms ahead`);
    }
    // A sane clock still refuses a position older than the bound.
    fs.writeFileSync(file(), JSON.stringify({ ...good, savedAt: now - HOUR - 1 }));
    assert.equal((make({ now: () => now }).load(HOUR) as { reason: string }).reason, "tooOld");
  });

  it("stays within maxBytes by leaving out the oldest legs", async () => {
    const store = make({ maxBytes: 4000 });
    store.save(() => position(7, 200));
    await store.flush();
    assert.ok(fs.statSync(file()).size <= 4000);
    const legs = make().load(HOUR).position?.legs ?? [];
    assert.ok(legs.length > 0 && legs.length < 200);
    assert.equal(legs.at(-1)?.data.uniqueCallId, "1.199", "the newest leg is kept");
  });

  it("returns no position for a missing, corrupt, unreadable, foreign or old file, saying why", () => {
    assert.equal(make().load(HOUR).position, undefined);
    assert.equal((make().load(HOUR) as { reason: string }).reason, "missing");
    fs.mkdirSync(path.dirname(file()), { recursive: true });
    fs.writeFileSync(file(), '{"format":"node-red-contrib-noojee/resume","version":1,"host"');
    assert.equal((make().load(HOUR) as { reason: string }).reason, "corrupt");
    const good = { format: "node-red-contrib-noojee/resume", version: 1, host: HOST, authMode: "apiKey", savedAt: Date.now(), ...position(5) };
    fs.writeFileSync(file(), JSON.stringify({ ...good, polls: [{ seq: -1, extensions: ["400"], fences: {} }] }));
    assert.equal((make().load(HOUR) as { reason: string }).reason, "corrupt");
    fs.writeFileSync(file(), JSON.stringify({ ...good, host: "https://other:443" }));
    assert.equal((make().load(HOUR) as { reason: string }).reason, "otherHost");
    fs.writeFileSync(file(), JSON.stringify({ ...good, savedAt: Date.now() - 2 * HOUR }));
    assert.equal((make().load(HOUR) as { reason: string }).reason, "tooOld");
    fs.writeFileSync(file(), JSON.stringify(good));
    assert.equal(make().load(HOUR).position?.polls[0].seq, 5);
    fs.rmSync(file());
    fs.mkdirSync(file()); // a folder where the file should be: unreadable
    assert.equal((make().load(HOUR) as { reason: string }).reason, "unreadable");
  });

  it("rejects whatever it would not have written", () => {
    const good = { format: "node-red-contrib-noojee/resume", version: 1, host: HOST, authMode: "apiKey", savedAt: 1, ...position(5) };
    assert.doesNotThrow(() => parseContent(good));
    for (const bad of [
      null, [], { ...good, format: "x" }, { ...good, version: 2 }, { ...good, savedAt: "1" }, { ...good, polls: {} },
      { ...good, polls: [{ seq: 1.5, extensions: [], fences: {} }] }, { ...good, polls: [{ seq: 1, extensions: [3], fences: {} }] },
      { ...good, polls: [{ seq: 1, extensions: [], fences: { "400": -1 } }] }, { ...good, legs: [{ extension: "400", data: { status: 1 } }] },
      { ...good, legs: [{ extension: "400", data: { status: "Ringing", uniqueCallId: "1" }, callId: "9" }] },
      { ...good, awaiting: [] }, { ...good, awaiting: { "400": "a" } }, { ...good, awaiting: { "400": [1] } },
      { ...good, watching: [] }, { ...good, watching: { n1: "400" } }, { ...good, watching: { n1: [400] } },
      { ...good, polls: [{ seq: 1, extensions: [], fences: {}, life: -1 }] }, { ...good, polls: [{ seq: 1, extensions: [], fences: {}, life: "2" }] },
    ]) {
      assert.throws(() => parseContent(bad), /invalid/, JSON.stringify(bad));
    }
  });

  it("keeps the PBX life of each poll cursor; one saved without it (1.1.0) is of life 0", () => {
    const saved = { format: "node-red-contrib-noojee/resume", version: 1, host: HOST, authMode: "apiKey", savedAt: 1, legs: [] };
    const polls = [{ seq: 50, extensions: ["406"], fences: {} }, { seq: 2, extensions: ["403"], fences: {}, life: 1 }];
    assert.deepEqual(parseContent({ ...saved, polls }).polls, polls);
    assert.deepEqual(parseContent({ ...saved, polls: [{ seq: 2, extensions: [], fences: {}, life: 0 }] }).polls, [{ seq: 2, extensions: [], fences: {} }]);
  });

  it("keeps whom a resumed extension's calls in progress are still owed to (resumed-reads.ts)", async () => {
    const store = make();
    store.save(() => ({ ...position(42), awaiting: { "410": ["n1", "n2"] } }));
    await store.flush();
    assert.deepEqual(make().load(HOUR).position?.awaiting, { "410": ["n1", "n2"] });
  });

  it("keeps who watched what (resumed-reads.ts), left out only after the subscribers' state when too big", async () => {
    const store = make();
    store.save(() => ({ ...position(42), watching: { n1: ["410", "420"], n2: [] } }));
    await store.flush();
    assert.deepEqual(make().load(HOUR).position?.watching, { n1: ["410", "420"], n2: [] });
    const owner = { host: HOST, authMode: "apiKey" };
    const big = { ...position(42), subscribers: { n1: { summaries: "x".repeat(3000) } }, watching: { n1: ["410"] } };
    const fits = JSON.parse(serialisePosition(big, owner, 1, 2000)) as Record<string, unknown>;
    assert.deepEqual([fits.subscribers, fits.watching], [undefined, { n1: ["410"] }]);
    const tight = JSON.parse(serialisePosition({ ...big, watching: { n1: Array.from({ length: 400 }, (_, i) => String(i)) } }, owner, 1, 1000)) as Record<string, unknown>;
    assert.equal(tight.watching, undefined);
  });

  it("an unwritable file gives one warning and a slow retry, never a hot loop of writes", async () => {
    fs.writeFileSync(path.join(dir, "noojee-resume"), "a file where the folder should be");
    const open = sinon.spy(fs.promises, "mkdir");
    const store = make({ minIntervalMs: 10, retryMs: 60_000 });
    for (let i = 0; i < 50; i++) {
      store.save(() => position(i + 1));
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(open.callCount, 1, "one attempt, then the retry pause");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cannot save the position to the resume file .*(ENOTDIR|EEXIST)/);
    await store.flush(); // a close still tries once more, quietly
    assert.equal(warnings.length, 1);
    store.close();
  });

  it("remove() deletes the file and stops writing", async () => {
    const store = make();
    store.save(() => position(3));
    await store.flush();
    assert.ok(fs.existsSync(file()));
    await store.remove();
    assert.equal(fs.existsSync(file()), false);
    store.save(() => position(4));
    await store.flush();
    assert.equal(fs.existsSync(file()), false);
  });
});
