/**
 * Who is calling, inside Node-RED's test helper over real HTTP to the fake PBX: the config node's country and
 * phonebook (context object and array, JSON and CSV files, reloads, bad input) as subscribe's msgs show them, and
 * the number dial sends.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Node } from "node-red";
import { API_BASE, FakePbx } from "../fake-pbx";
import {
  configFlowNode, credentials, heldLongPoll, helper, Logged, nodes, Sent, startFakePbx, subscribeFlowNodes,
  unloadAndStop,
} from "./support";

type Payload = Record<string, unknown>;

describe("who is calling: caller IDs and phonebook", function () {
  let pbx: FakePbx;
  let userDir: string;

  beforeEach(async () => {
    pbx = await startFakePbx();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-callers-"));
    helper.settings({ userDir, noojeePhonebookPollMs: 20 } as Parameters<typeof helper.settings>[0]);
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function load(config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    await helper.load(nodes, [configFlowNode(pbx.url, config), ...subscribeFlowNodes("sub", "410", extra)], credentials());
    const cfg = helper.getNode("cfg");
    return {
      cfg,
      received: new Sent(helper.getNode("sub")),
      logs: new Logged(cfg, "log"),
      warnings: new Logged(cfg, "warn"),
    };
  }

  /** A call on 410 from `callerId`, and its first msg's payload. */
  async function ring(received: Sent, callerId: string): Promise<Payload> {
    const before = received.all.length;
    pbx.startCall("410", { callerId });
    return (await received.waitFor(() => received.all.length > before, 5000, before)).payload as Payload;
  }

  const loaded = (logs: Logged, n: number) => logs.waitFor(() => logs.all.filter((l) => String(l).includes("phonebook.loaded")).length >= n);

  it("a global context object: every written form finds the name; E.164 and kind added, withheld said so", async () => {
    const { cfg, received, logs } = await load({ country: "AU", phonebookContext: "phonebook", phonebookContextType: "global" });
    cfg.context().global.set("phonebook", { "03 5550 1234": "Ann Smith", "0412345678": { name: "Bob", company: "Acme" } });
    await loaded(logs, 1);
    await heldLongPoll(pbx);
    for (const form of ["+61 3 5550 1234", "0355501234", "61355501234"]) {
      const p = await ring(received, form);
      assert.deepEqual(
        { e164: p.callerIdE164, kind: p.callerIdKind, name: p.callerName, contact: p.contact, callerId: p.callerId },
        { e164: "+61355501234", kind: "fixed_line", name: "Ann Smith", contact: { number: "03 5550 1234", name: "Ann Smith" }, callerId: form },
      );
    }
    const bob = await ring(received, "+61412345678");
    assert.deepEqual([bob.callerIdKind, bob.callerName, bob.contact], ["mobile", "Bob", { number: "0412345678", name: "Bob", company: "Acme" }]);
    const hidden = await ring(received, "anonymous");
    assert.deepEqual([hidden.callerIdKind, "callerIdE164" in hidden, "callerName" in hidden], ["withheld", false, false]);
    const internal = await ring(received, "400");
    assert.equal(internal.callerIdKind, "extension");
  });

  it("a context array, replaced by a flow: the new names apply; summaries carry them too", async () => {
    const { cfg, received, logs } = await load({ country: "AU", phonebookContext: "people", phonebookContextType: "global" }, { outputMode: "summaries" });
    cfg.context().global.set("people", [{ number: "0355501234", name: "Ann", team: "sales" }]);
    await loaded(logs, 1);
    await heldLongPoll(pbx);
    const call = pbx.startCall("410", { callerId: "+61355501234" });
    pbx.update("410", call, { status: "Hungup" });
    const [summary] = await received.count(1);
    const p = summary.payload as Payload;
    assert.deepEqual([p.callerIdE164, p.callerIdKind, p.callerName, p.contact], ["+61355501234", "fixed_line", "Ann", { number: "0355501234", name: "Ann", team: "sales" }]);
    cfg.context().global.set("people", [{ number: "0355501234", name: "Ann Jones" }]);
    await loaded(logs, 2);
    const again = pbx.startCall("410", { callerId: "0355501234" });
    pbx.update("410", again, { status: "Hungup" });
    const [, second] = await received.count(2);
    assert.equal((second.payload as Payload).callerName, "Ann Jones");
  });

  it("flow context: read from the flow the configuration node is on; without a flow tab, a warning", async () => {
    const flow = [
      { id: "f1", type: "tab" },
      configFlowNode(pbx.url, { z: "f1", country: "GB", phonebookContext: "book", phonebookContextType: "flow" }),
      ...subscribeFlowNodes("sub", "410").map((n) => ({ ...n, z: "f1" })),
    ];
    await helper.load(nodes, flow, credentials());
    const received = new Sent(helper.getNode("sub"));
    const logs = new Logged(helper.getNode("cfg"), "log");
    helper.getNode("sub").context().flow.set("book", [{ number: "+44 20 7946 0018", name: "London office" }]);
    await loaded(logs, 1);
    await heldLongPoll(pbx);
    const p = await ring(received, "020 7946 0018");
    assert.deepEqual([p.callerIdE164, p.callerIdKind, p.callerName], ["+442079460018", "fixed_line", "London office"]);
    await helper.unload();
    const global = await load({ phonebookContext: "book", phonebookContextType: "flow" });
    const warned = await global.warnings.waitFor((l) => String(l).includes("phonebook.noFlowContext")).catch(() => undefined);
    // Node-RED versions that give a config node on no tab a flow context read it instead: either way, no crash.
    if (!warned) assert.equal(global.warnings.all.length, 0);
  });

  it("a JSON file (relative to the user dir) and a CSV file, re-read when they change", async () => {
    fs.writeFileSync(path.join(userDir, "book.csv"), "number,name,company\n0355501234,Ann,Acme\n");
    const { received, logs } = await load({ country: "AU", phonebookFile: "book.csv" });
    await loaded(logs, 1);
    await heldLongPoll(pbx);
    assert.deepEqual((await ring(received, "+61 3 5550 1234")).contact, { number: "0355501234", name: "Ann", company: "Acme" });
    fs.writeFileSync(path.join(userDir, "book.csv"), "number,name\n0355501234,Ann Smith (new)\n0412345678,Bob\n");
    await loaded(logs, 2);
    assert.equal((await ring(received, "0355501234")).callerName, "Ann Smith (new)");
    assert.equal((await ring(received, "0412 345 678")).callerName, "Bob");
    await helper.unload();

    fs.writeFileSync(path.join(userDir, "book.json"), JSON.stringify({ "+61355501234": "Ann (JSON)" }));
    const json = await load({ country: "AU", phonebookFile: path.join(userDir, "book.json") });
    await loaded(json.logs, 1);
    await heldLongPoll(pbx);
    assert.equal((await ring(json.received, "03 5550 1234")).callerName, "Ann (JSON)");
  });

  it("bad input: one warning naming the line or key, events keep flowing, a broken file keeps the last good book", async () => {
    const file = path.join(userDir, "book.csv");
    fs.writeFileSync(file, "number,name\n0355501234,Ann\n,Nobody\n0355501234,Other\nnot a number,X\n");
    const { received, logs, warnings } = await load({ country: "AU", phonebookFile: file });
    await loaded(logs, 1);
    const lines = await warnings.count(3);
    assert.match(String(lines.find((l) => String(l).includes("noNumber"))), /"where":"line 3"/);
    assert.match(String(lines.find((l) => String(l).includes("duplicate"))), /"where":"line 4".*"value":"0355501234"/);
    assert.match(String(lines.find((l) => String(l).includes("badNumber"))), /"where":"line 5".*"value":"not a number"/);
    await heldLongPoll(pbx);
    assert.equal((await ring(received, "0355501234")).callerName, "Ann");
    // Caught while a tool rewrites it: no header yet.
    fs.writeFileSync(file, '0412345678,"Bob\n');
    await warnings.waitFor((l) => String(l).includes("phonebook.noHeader"));
    assert.equal((await ring(received, "+61355501234")).callerName, "Ann", "the last good phonebook stays");
  });

  it("no country: numbers as they are (no E.164, no kind), names still found by their digits", async () => {
    const { cfg, received, logs } = await load({ phonebookContext: "phonebook" });
    cfg.context().global.set("phonebook", { "03 5550 1234": "Ann" });
    await loaded(logs, 1);
    await heldLongPoll(pbx);
    const p = await ring(received, "0355501234");
    assert.deepEqual([p.callerName, "callerIdE164" in p, "callerIdKind" in p], ["Ann", false, false]);
    const other = await ring(received, "+61355501234");
    assert.equal("callerName" in other, false);
  });

  it("dial: with a country every written form dials the national number; without one, digits as given", async () => {
    const flow = (country: string) => [
      { id: "f1", type: "tab" },
      configFlowNode(pbx.url, { country }),
      { id: "n", z: "f1", type: "noojee-dial", server: "cfg", extension: "100", tech: "SIP", number: "", autoAnswer: "", wires: [["out"]] },
      { id: "out", z: "f1", type: "helper" },
    ];
    const dialled = () => pbx.requests.filter((r) => r.path === `${API_BASE}dial`).map((r) => r.query.number);
    await helper.load(nodes, flow("AU"), credentials());
    let node: Node = helper.getNode("n");
    let sent = new Sent(node);
    for (const number of ["+61 3 5550 1234", "0355501234", "61355501234", "+44 20 7946 0018", "400"]) node.receive({ number });
    await sent.count(5);
    // Five requests in flight at once: the PBX may see them in any order.
    assert.deepEqual(dialled().sort(), ["+442079460018", "0355501234", "0355501234", "0355501234", "400"]);
    await helper.unload();
    await helper.load(nodes, flow(""), credentials());
    node = helper.getNode("n");
    sent = new Sent(node);
    node.receive({ number: "+61 3 5550 1234" });
    await sent.count(1);
    assert.equal(dialled().at(-1), "+61355501234");
  });
});
