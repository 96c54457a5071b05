/**
 * CallerInfoService reloads (issue 24, items 5, 6, 8, 12): a context phonebook edited in place, a store that gives a
 * new object at each read, a file caught empty or changing while it is read, contacts shared between msgs.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import promises from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sinon from "sinon";
import { CallerInfoService, CallerInfoOptions } from "../../nodes/lib/numbers/caller-info";

describe("caller info service: reloads", () => {
  let service: CallerInfoService | undefined;
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-reloads-"))));
  afterEach(() => {
    service?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function make(options: Partial<CallerInfoOptions>) {
    const warnings: string[] = [];
    const loads: string[] = [];
    service = new CallerInfoService({
      country: "AU",
      pollMs: 3_600_000,
      warn: (line) => warnings.push(line),
      describe: (source, problem, count, others) => `${source} ${problem.kind} ${problem.where} x${count}${others ? ` (${others})` : ""}`,
      onLoaded: (source, entries) => loads.push(`${source} ${entries}`),
      ...options,
    });
    return { service, warnings, loads };
  }

  it("a context object edited in place (a change node setting one key) is re-indexed", async () => {
    const book: Record<string, unknown> = { "0399990000": "Zed" };
    const { service, loads } = make({ readContext: () => Promise.resolve(book) });
    await service.start();
    book["0355501234"] = "Ann Smith";
    await service.check();
    assert.equal(service.callerInfo("0355501234").callerName, "Ann Smith");
    book["0355501234"] = { name: "Ann Jones", address: { city: "Geelong" } };
    await service.check();
    assert.deepEqual(service.callerInfo("0355501234").contact, { number: "0355501234", name: "Ann Jones", address: { city: "Geelong" } });
    (book["0355501234"] as { address: { city: string } }).address.city = "Ballarat";
    await service.check();
    assert.equal((service.callerInfo("0355501234").contact?.address as { city: string }).city, "Ballarat");
    assert.deepEqual(loads, ["context 1", "context 2", "context 2", "context 2"]);
  });

  it("a changed context object's keys are listed once per check (one 10 to 20 ms step for 100,000 keys, not two)", async () => {
    const book: Record<string, unknown> = { "0399990000": "Zed" };
    let listed = 0;
    const watched = new Proxy(book, { ownKeys: (target) => (listed++, Reflect.ownKeys(target)) });
    const { service, loads } = make({ readContext: () => Promise.resolve(watched) });
    await service.start();
    assert.deepEqual([listed, loads], [1, ["context 1"]]);
    book["0355501234"] = "Ann";
    await service.check();
    assert.deepEqual([listed, loads], [2, ["context 1", "context 2"]]);
    assert.equal(service.callerInfo("0355501234").callerName, "Ann");
  });

  it("an array edited in place is re-indexed; an entry's record is a copy until then", async () => {
    const book = [{ number: "0355501234", name: "Ann" }];
    const { service } = make({ readContext: () => Promise.resolve(book) });
    await service.start();
    book[0].name = "Ann (edited)";
    assert.equal(service.callerInfo("0355501234").contact?.name, "Ann", "the index keeps its own copy");
    await service.check();
    assert.equal(service.callerInfo("0355501234").callerName, "Ann (edited)");
  });

  it("a store that gives a new object at each read: the same content is indexed and logged once", async () => {
    const json = JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`04${10_000_000 + i}`, `Person ${i}`])));
    let text = json;
    const { service, loads } = make({ readContext: () => Promise.resolve(JSON.parse(text)) });
    await service.start();
    for (let i = 0; i < 5; i++) await service.check();
    assert.deepEqual(loads, ["context 2000"]);
    text = json.replace("Person 1999", "Person 1999 (new)");
    await service.check();
    await service.check();
    assert.deepEqual(loads, ["context 2000", "context 2000"]);
    assert.equal(service.callerInfo("0410001999").callerName, "Person 1999 (new)");
  });

  it("each msg gets its own deep copy of the contact", async () => {
    const { service } = make({ readContext: () => Promise.resolve([{ number: "0355501234", name: "Ann", address: { city: "Melbourne" }, tags: ["vip"] }]) });
    await service.start();
    const first = service.callerInfo("0355501234").contact as { address: { city: string }; tags: string[] };
    first.address.city = "changed by a function node";
    first.tags.push("oops");
    assert.deepEqual(service.callerInfo("0355501234").contact, { number: "0355501234", name: "Ann", address: { city: "Melbourne" }, tags: ["vip"] });
  });

  // Files below are given an mtime well in the past: a writer is done with them (phonebook-file-settling.test.ts
  // has files still being written).
  const written = (file: string, text: string, agoMs = 60_000) => {
    fs.writeFileSync(file, text);
    const at = new Date(Date.now() - agoMs);
    fs.utimesSync(file, at, at);
  };

  it("a CSV caught empty or without its header keeps the last good phonebook, said so; a complete one loads", async () => {
    const file = path.join(dir, "book.csv");
    const good = `number,name\n${Array.from({ length: 100 }, (_, i) => `04${10_000_000 + i},Person ${i}`).join("\n")}\n`;
    written(file, good, 90_000);
    const { service, warnings, loads } = make({ file });
    await service.start();
    const versions = ["", "0355501234,Ann\n"];
    for (const [i, text] of versions.entries()) {
      written(file, text, 80_000 - 1000 * i);
      await service.check();
      assert.equal(service.size.file, 100, JSON.stringify(text));
      assert.equal(service.callerInfo("0410000099").callerName, "Person 99");
      assert.match(warnings.at(-1) ?? "", /^file noHeader line/);
    }
    assert.deepEqual(loads, ["file 100"]);
    written(file, "number,name\n0355501234,Ann\n", 70_000);
    await service.check();
    assert.deepEqual([service.size.file, loads.at(-1)], [1, "file 1"]);
  });

  it("a file that changes while it is read is not taken; the next check reads it whole", async () => {
    const file = path.join(dir, "book.csv");
    const rows = (n: number) => `number,name\n${Array.from({ length: n }, (_, i) => `04${10_000_000 + i},Person ${i}`).join("\n")}\n`;
    written(file, rows(10), 90_000);
    const { service, warnings, loads } = make({ file });
    await service.start();
    // The writer is still at it: what is read holds 5 rows, and the file grows to 20 before the read is checked.
    written(file, rows(5), 80_000);
    const readFile = promises.readFile;
    const stub = sinon.stub(promises, "readFile").callsFake(async (...args: Parameters<typeof readFile>) => {
      const text = await readFile(...args);
      written(file, rows(20), 70_000);
      return text;
    });
    try {
      await service.check();
    } finally {
      stub.restore();
    }
    assert.deepEqual([service.size.file, loads, warnings], [10, ["file 10"], []]);
    await service.check();
    assert.deepEqual([service.size.file, loads], [20, ["file 10", "file 20"]]);
  });

  it("the first load takes the file at once, even one just written; bad lines are each named in the warning", async () => {
    const file = path.join(dir, "book.csv");
    fs.writeFileSync(file, "number,name\n0355501234,Ann\n,a\n,b\n,c\n0412345678");
    const { service, warnings, loads } = make({ file });
    await service.start();
    assert.deepEqual(loads, ["file 1"]);
    assert.equal(service.callerInfo("0355501234").callerName, "Ann");
    assert.deepEqual(warnings.sort(), ["file noName line 6 x1", "file noNumber line 3 x3 (line 4, line 5)"]);
  });
});
