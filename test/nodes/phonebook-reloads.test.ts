/**
 * The config node's phonebook reloads inside Node-RED's test helper, over HTTP to the fake PBX (issue 24, items 5-9):
 * a change node editing the context phonebook in place, a context store without a cache, files with a BOM, a stray
 * quote, a bad line, a file caught empty.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakePbx } from "../fake-pbx";
import { requireFromNodeRed } from "../harness/node-red-under-test";
import durableStore from "../resume/durable-store";
import { API_KEY, configFlowNode, credentials, heldLongPoll, helper, Logged, nodes, Sent, startFakePbx, subscribeFlowNodes, unloadAndStop } from "./support";

type Payload = Record<string, unknown>;
const changeNode = requireFromNodeRed("@node-red/nodes/core/function/15-change.js") as (typeof nodes)[number];

describe("who is calling: phonebook reloads", function () {
  let pbx: FakePbx;
  let userDir: string;

  beforeEach(async () => {
    pbx = await startFakePbx();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-reloads-"));
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function ring(received: Sent, callerId: string): Promise<Payload> {
    const before = received.all.length;
    pbx.startCall("410", { callerId });
    return (await received.waitFor(() => received.all.length > before, 5000, before)).payload as Payload;
  }
  const loadedLines = (logs: Logged): unknown[] => logs.all.filter((l) => String(l).includes("phonebook.loaded"));

  it("a change node setting global.phonebook[\"0355501234\"] in place: the name is found", async () => {
    helper.settings({ userDir, noojeePhonebookPollMs: 20 } as Parameters<typeof helper.settings>[0]);
    const flow = [
      configFlowNode(pbx.url, { country: "AU", phonebookContext: "phonebook", phonebookContextType: "global" }),
      ...subscribeFlowNodes("sub", "410"),
      { id: "chg", type: "change", rules: [{ t: "set", p: 'phonebook["0355501234"]', pt: "global", to: "Ann Smith", tot: "str" }], wires: [[]] },
    ];
    await helper.load([...nodes, changeNode], flow, credentials());
    const cfg = helper.getNode("cfg");
    const logs = new Logged(cfg, "log");
    const received = new Sent(helper.getNode("sub"));
    cfg.context().global.set("phonebook", { "0399990000": "Zed" });
    await logs.waitFor(() => loadedLines(logs).length >= 1);
    await heldLongPoll(pbx);
    helper.getNode("chg").receive({ payload: "go" });
    await logs.waitFor(() => loadedLines(logs).length >= 2);
    assert.match(String(loadedLines(logs)[1]), /"entries":2/);
    assert.equal((await ring(received, "+61 3 5550 1234")).callerName, "Ann Smith");
  });

  it("a store that gives a new object at every read (no cache): an unchanged phonebook is loaded once", async () => {
    // The tests' durable store reads its file at every get, as localfilesystem with cache: false and Redis do.
    let reads = 0;
    let readsWanted = Infinity;
    let enough: () => void = () => undefined;
    const countingStore = (config: { dir: string }) => {
      const store = durableStore(config);
      return {
        ...store,
        get(scope: string, key: string | string[], callback?: (err: Error | null, ...values: unknown[]) => void): void {
          if (++reads >= readsWanted) enough();
          store.get(scope, key, callback);
        },
      };
    };
    helper.settings({
      userDir,
      noojeePhonebookPollMs: 20,
      contextStorage: { default: { module: countingStore, config: { dir: path.join(userDir, "ctx") } } },
    } as unknown as Parameters<typeof helper.settings>[0]);
    await helper.load(nodes, [configFlowNode(pbx.url, { country: "AU", phonebookContext: "phonebook", phonebookContextType: "global" }), ...subscribeFlowNodes("sub", "410")], credentials());
    await (helper as unknown as { _context: { load(): Promise<void> } })._context.load();
    const cfg = helper.getNode("cfg");
    const logs = new Logged(cfg, "log");
    const received = new Sent(helper.getNode("sub"));
    const set = (value: unknown) => new Promise<void>((done, fail) => cfg.context().global.set("phonebook", value, (err?: Error) => (err ? fail(err) : done())));
    const book: Record<string, string> = {};
    for (let i = 0; i < 500; i++) book[`04${10_000_000 + i}`] = `Person ${i}`;
    await set(book);
    await logs.waitFor(() => loadedLines(logs).length >= 1);
    // Twenty more checks of the unchanged phonebook, each reading a new object.
    await new Promise<void>((resolve) => {
      enough = resolve;
      readsWanted = reads + 20;
    });
    assert.equal(loadedLines(logs).length, 1);
    await set({ ...book, "0355501234": "Ann" });
    await logs.waitFor(() => loadedLines(logs).length >= 2);
    await heldLongPoll(pbx);
    assert.equal((await ring(received, "0355501234")).callerName, "Ann");
    assert.equal(loadedLines(logs).length, 2);
  });

  it("files: a JSON with a BOM loads; a CSV with a stray quote and a bad line keeps its good lines, names the bad one", async () => {
    helper.settings({ userDir, noojeePhonebookPollMs: 20 } as Parameters<typeof helper.settings>[0]);
    fs.writeFileSync(path.join(userDir, "book.json"), `\uFEFF${JSON.stringify({ "0355501234": "Ann (JSON)" })}`);
    const csv = path.join(userDir, "book.csv");
    fs.writeFileSync(csv, 'number,name\n0412345678,Bob "Bobby" Smith\n0398765432,"Carl\n0411111111,Dan\n');
    const flow = [
      configFlowNode(pbx.url, { country: "AU", phonebookFile: "book.json" }),
      configFlowNode(pbx.url, { id: "cfg2", country: "AU", phonebookFile: "book.csv" }),
      ...subscribeFlowNodes("sub", "410"),
    ];
    await helper.load(nodes, flow, { ...credentials(), cfg2: { apiKey: API_KEY } });
    const logs = new Logged(helper.getNode("cfg"), "log");
    const csvLogs = new Logged(helper.getNode("cfg2"), "log");
    const warnings = new Logged(helper.getNode("cfg2"), "warn");
    await logs.waitFor(() => loadedLines(logs).length >= 1);
    await csvLogs.waitFor(() => loadedLines(csvLogs).length >= 1);
    assert.match(String(loadedLines(csvLogs)[0]), /"entries":2/);
    assert.match(String(await warnings.waitFor((l) => String(l).includes("phonebook.unclosedQuote"))), /"where":"line 3"/);
    const received = new Sent(helper.getNode("sub"));
    await heldLongPoll(pbx);
    assert.equal((await ring(received, "03 5550 1234")).callerName, "Ann (JSON)");
    // Emptied while a tool rewrites it: the last good phonebook stays, said so.
    fs.writeFileSync(path.join(userDir, "book.json"), "");
    fs.writeFileSync(csv, "");
    await warnings.waitFor((l) => String(l).includes("phonebook.noHeader"));
    assert.equal(loadedLines(csvLogs).length, 1);
  });
});
