/**
 * A phonebook file that is not there: the config node says so plainly (not "keeping the last good phonebook" when none
 * was ever loaded), and the nodes using it show a note on their status until the file is there (issue 25, item 5).
 * The texts are the catalogue's, as a user reads them.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NodeStatus } from "node-red";
import { FakePbx } from "../fake-pbx";
import { translatedNodes } from "./catalogue";
import { configFlowNode, credentials, heldLongPoll, helper, Logged, startFakePbx, Statuses, unloadAndStop } from "./support";

describe("a missing phonebook file", function () {
  let pbx: FakePbx;
  let userDir: string;

  beforeEach(async () => {
    pbx = await startFakePbx();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-missing-book-"));
    helper.settings({ userDir, noojeePhonebookPollMs: 20 } as Parameters<typeof helper.settings>[0]);
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("is said plainly, noted on the statuses of subscribe and presence, and the note goes once the file is there", async () => {
    const file = path.join(userDir, "book.json");
    await helper.load(translatedNodes, [
      configFlowNode(pbx.url, { phonebookFile: "book.json" }),
      { id: "sub", type: "noojee-subscribe", server: "cfg", extensions: "410", timeout: 30, wires: [[]] },
      { id: "pres", type: "noojee-presence", server: "cfg", extensions: "410", wires: [[]] },
    ], credentials());
    const warnings = new Logged(helper.getNode("cfg"), "warn");
    const missing = String(await warnings.waitFor((l) => String(l).includes("not found")));
    assert.equal(missing, `phonebook file ${file} not found: no caller names from it until it exists (it is looked for again every few seconds)`);
    await heldLongPoll(pbx);

    const sub = new Statuses(helper.getNode("sub"));
    const pres = new Statuses(helper.getNode("pres"));
    const noted = (s: NodeStatus): boolean => s.fill === "yellow" && String(s.text).endsWith(" · phonebook not found");
    assert.deepEqual(await sub.waitFor(noted), { fill: "yellow", shape: "dot", text: "listening · phonebook not found" });
    assert.deepEqual(await pres.waitFor(noted), { fill: "yellow", shape: "dot", text: "410 idle · phonebook not found" });

    // The file appears: names from it, and the statuses are green again.
    const logs = new Logged(helper.getNode("cfg"), "log");
    fs.writeFileSync(file, JSON.stringify({ "0355501234": "Ann Smith" }));
    await logs.waitFor((l) => String(l).includes("entries loaded"));
    const greenAt = (statuses: Statuses): number => statuses.all.findIndex(noted) + 1;
    assert.deepEqual(await sub.waitFor((s) => s.fill === "green", 5000, greenAt(sub)), { fill: "green", shape: "dot", text: "listening" });
    await pres.waitFor((s) => s.fill === "green", 5000, greenAt(pres));

    // Gone again after a load: its names stay, and it says so (not "no names").
    fs.rmSync(file);
    const gone = String(await warnings.waitFor((l) => String(l).includes("is gone")));
    assert.equal(gone, `phonebook file ${file} is gone: the names last loaded from it stay until it is back`);
    await sub.waitFor(noted, 5000, sub.all.findIndex((s, i) => i >= greenAt(sub) && s.fill === "green") + 1);
    assert.ok(!warnings.all.some((l) => String(l).includes("keeping the last good phonebook")), "no phonebook was kept before one loaded");
  });

  it("a file that is there but not a phonebook, before any loaded: no names until it can be read, not 'keeping'", async () => {
    fs.writeFileSync(path.join(userDir, "book.csv"), "");
    await helper.load(translatedNodes, [
      configFlowNode(pbx.url, { phonebookFile: "book.csv" }),
      { id: "sub", type: "noojee-subscribe", server: "cfg", extensions: "410", timeout: 30, wires: [[]] },
    ], credentials());
    const warning = String(await new Logged(helper.getNode("cfg"), "warn").waitFor((l) => String(l).includes("no header row")));
    assert.match(warning, /\(the file may be empty or being written\): no caller names from it until it can be read$/);
    assert.deepEqual(await new Statuses(helper.getNode("sub")).waitFor((s) => s.fill === "yellow" && s.shape === "dot"),
      { fill: "yellow", shape: "dot", text: "listening · phonebook unreadable" });
  });

  async function unreadableWarning(name: string): Promise<string> {
    await helper.load(translatedNodes, [
      configFlowNode(pbx.url, { phonebookFile: name }),
      { id: "sub", type: "noojee-subscribe", server: "cfg", extensions: "410", timeout: 30, wires: [[]] },
    ], credentials());
    const warning = String(await new Logged(helper.getNode("cfg"), "warn").waitFor((l) => String(l).startsWith("phonebook file")));
    assert.deepEqual(await new Statuses(helper.getNode("sub")).waitFor((s) => s.fill === "yellow" && s.shape === "dot"),
      { fill: "yellow", shape: "dot", text: "listening · phonebook unreadable" });
    return warning;
  }

  it("a path that is a directory: said plainly, the path once, no raw EISDIR", async () => {
    fs.mkdirSync(path.join(userDir, "book.json"));
    const warning = await unreadableWarning("book.json");
    assert.equal(warning, `phonebook file ${path.join(userDir, "book.json")} is a directory, not a file (write the path of the phonebook file itself): no caller names from it until it can be read`);
  });

  it("a file Node-RED may not read: permission denied, said plainly", async function () {
    // root reads any file: the permission cannot be refused to it.
    if (process.getuid?.() === 0) this.skip();
    const file = path.join(userDir, "book.json");
    fs.writeFileSync(file, "{}", { mode: 0o000 });
    const warning = await unreadableWarning("book.json");
    assert.equal(warning, `phonebook file ${file}: Node-RED may not read it (permission denied): no caller names from it until it can be read`);
  });
});
