/**
 * A phonebook file being written is told by its size and mtime still changing, not by its content (outside review D,
 * issue 24 item 8): a CSV cut inside the last line's name must not replace a good phonebook, and a finished CSV
 * saved without a final line break whose last line is bad must not hold back the edit. The wall clock is injected
 * (mtimes are set relative to it); the settle timer runs on sinon's fake timers.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sinon from "sinon";
import { CallerInfoService, CallerInfoOptions } from "../../nodes/lib/numbers/caller-info";

const SETTLE_MS = 2000;
const rows = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `04${10_000_000 + from + i},Person ${from + i} Longname`);

describe("caller info service: a phonebook file still being written", () => {
  let service: CallerInfoService | undefined;
  let dir: string;
  let file: string;
  /** The injected wall clock. */
  let now: number;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-settling-"));
    file = path.join(dir, "book.csv");
    now = Date.now();
  });
  afterEach(() => {
    service?.close();
    service = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `text` as a writer would have `agoMs` before the injected now. */
  function write(text: string, agoMs: number): void {
    fs.writeFileSync(file, text);
    const at = new Date(now - agoMs);
    fs.utimesSync(file, at, at);
  }

  function make(options: Partial<CallerInfoOptions> = {}) {
    const warnings: string[] = [];
    const loads: string[] = [];
    service = new CallerInfoService({
      country: "AU",
      file,
      pollMs: 3_600_000,
      settleMs: SETTLE_MS,
      now: () => now,
      warn: (line) => warnings.push(line),
      describe: (_source, problem) => `${problem.kind} ${problem.where}`,
      onLoaded: (source, entries) => loads.push(`${source} ${entries}`),
      ...options,
    });
    return { service, warnings, loads };
  }

  it("a CSV cut inside the last line's name keeps the good phonebook until the file stops changing", async () => {
    const full = `number,name\n${rows(0, 1000).join("\n")}\n`;
    write(full, 60_000);
    const { service, warnings, loads } = make();
    await service.start();
    assert.deepEqual(loads, ["file 1000"], "an old file is taken at once at start");
    // A tool rewriting the file (one more entry) is caught half way, inside the name of 0410000503.
    const next = `number,name\n${rows(0, 1001).join("\n")}\n`;
    write(next.slice(0, next.indexOf("Person 503 Longname") + "Person 503 Lo".length), 0);
    await service.check();
    assert.deepEqual([service.size.file, service.callerInfo("0410000503").callerName], [1000, "Person 503 Longname"]);
    // The writer finishes 300 ms later: that version is read once it has stayed the same for the settle time.
    now += 300;
    write(next, 0);
    await service.check();
    now += SETTLE_MS - 1;
    await service.check();
    assert.deepEqual([service.size.file, loads], [1000, ["file 1000"]], "still changing 1999 ms ago");
    now += 1;
    await service.check();
    assert.deepEqual([service.size.file, loads, warnings], [1001, ["file 1000", "file 1001"], []]);
    assert.equal(service.callerInfo("0410001000").callerName, "Person 1000 Longname");
  });

  it("a file left cut for good is taken as it is once it has settled, its bad line named", async () => {
    write(`number,name\n${rows(0, 10).join("\n")}\n`, 60_000);
    const { service, warnings, loads } = make();
    await service.start();
    write(`number,name\n${rows(0, 10).join("\n")}\n${rows(10, 11)[0].slice(0, 6)}`, 0);
    await service.check();
    assert.deepEqual([loads, warnings], [["file 10"], []]);
    now += SETTLE_MS;
    await service.check();
    assert.deepEqual([loads, warnings], [["file 10", "file 10"], ["noName line 12"]]);
  });

  for (const last of ["0355508888,", "abc,Dave Typo"]) {
    it(`a finished edit without a final line break, last line ${JSON.stringify(last)}: the good lines load, the bad one is named`, async () => {
      write("number,name\n0355501234,Ann\n0398765432,Ben\n", 60_000);
      const { service, warnings } = make();
      await service.start();
      write(`number,name\n0355501234,Ann\n0398765432,Ben\n0355509999,Carol New\n${last}`, 0);
      await service.check();
      now += SETTLE_MS;
      await service.check();
      assert.equal(service.callerInfo("0355509999").callerName, "Carol New");
      assert.deepEqual(warnings, [`${last.startsWith("abc") ? "badNumber" : "noName"} line 5`]);
      // Saved by a tool that had finished a while before the check: taken at once.
      now += 60_000;
      write(`number,name\n0355501234,Ann\n0355509999,Carol Newer\n${last}`, 30_000);
      await service.check();
      assert.equal(service.callerInfo("0355509999").callerName, "Carol Newer");
    });
  }

  it("a changed file is looked at again after the settle time on its own, however slow the poll", async () => {
    const clock = sinon.useFakeTimers({ now, toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    try {
      write("number,name\n0355501234,Ann\n", 60_000);
      let loaded: () => void = () => undefined;
      const { service } = make({ now: undefined, onLoaded: () => loaded() });
      await service.start();
      write("number,name\n0355501234,Ann Smith\n", 0);
      await service.check();
      assert.equal(service.callerInfo("0355501234").callerName, "Ann");
      const reloaded = new Promise<void>((resolve) => (loaded = resolve));
      await clock.tickAsync(SETTLE_MS);
      await reloaded;
      assert.equal(service.callerInfo("0355501234").callerName, "Ann Smith");
    } finally {
      clock.restore();
    }
  });
});
