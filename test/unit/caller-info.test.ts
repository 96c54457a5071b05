/** CallerInfoService (nodes/lib/numbers/caller-info.ts): its sources, reloads and warnings, driven by check(). */
import assert from "node:assert/strict";
import { CallerInfoService, CallerInfoOptions } from "../../nodes/lib/numbers/caller-info";

describe("caller info service", () => {
  let service: CallerInfoService | undefined;
  afterEach(() => service?.close());

  function make(options: Partial<CallerInfoOptions>) {
    const warnings: string[] = [];
    const loads: string[] = [];
    service = new CallerInfoService({
      country: "AU",
      pollMs: 3_600_000,
      warn: (line) => warnings.push(line),
      describe: (source, problem, count) => `${source} ${problem.kind} ${problem.where} x${count}`,
      onLoaded: (source, entries) => loads.push(`${source} ${entries}`),
      ...options,
    });
    return { service, warnings, loads };
  }

  it("a context value is indexed once per new value; in-place reads of the same value cost nothing", async () => {
    let value: unknown = { "0355501234": "Ann" };
    const { service, loads } = make({ readContext: () => Promise.resolve(value) });
    await service.start();
    await service.check();
    assert.deepEqual(loads, ["context 1"]);
    assert.deepEqual(service.callerInfo("+61 3 5550 1234"), {
      callerIdE164: "+61355501234", callerIdKind: "fixed_line", callerName: "Ann", contact: { number: "0355501234", name: "Ann" },
    });
    value = [{ number: "0412345678", name: "Bob" }];
    await service.check();
    assert.deepEqual(loads, ["context 1", "context 1"]);
    assert.equal(service.callerInfo("0355501234").callerName, undefined);
    assert.equal(service.callerInfo("+61412345678").callerName, "Bob");
  });

  it("each msg gets its own copy of the contact", async () => {
    const { service } = make({ readContext: () => Promise.resolve([{ number: "0355501234", name: "Ann", tags: "x" }]) });
    await service.start();
    const first = service.callerInfo("0355501234").contact!;
    first.name = "changed by a flow";
    assert.equal(service.callerInfo("0355501234").contact?.name, "Ann");
  });

  it("a failing context read is one warning and keeps the last good phonebook; repeats are held back", async () => {
    let fail = false;
    const { service, warnings } = make({ readContext: () => (fail ? Promise.reject(new Error("store down")) : Promise.resolve({ "0355501234": "Ann" })) });
    await service.start();
    fail = true;
    await service.check();
    await service.check();
    assert.deepEqual(warnings, ["context badFile context x1"]);
    assert.equal(service.callerInfo("0355501234").callerName, "Ann");
  });

  it("one warning per kind of problem, with the count; a missing file is said once", async () => {
    const { service, warnings } = make({
      readContext: () => Promise.resolve([{ name: "a" }, { name: "b" }, { number: "x", name: "c" }]),
      file: "/nonexistent/noojee-phonebook.csv",
    });
    await service.start();
    await service.check();
    assert.deepEqual(warnings.sort(), ["context badNumber record 2 x1", "context noNumber record 0 x2", "file missingFile /nonexistent/noojee-phonebook.csv x1"]);
  });

  it("without a country: names by digits only, no E.164 or kind; the extension an event is for is learned", () => {
    const { service } = make({ country: "" });
    assert.deepEqual(service.callerInfo("0355501234"), {});
    const tagged = make({}).service;
    assert.equal(tagged.callerInfo("5550123456", "5550123456").callerIdKind, "extension");
    assert.equal(tagged.active, true);
    assert.equal(new CallerInfoService({ country: "", warn: () => undefined, describe: () => "" }).active, false);
  });
});
