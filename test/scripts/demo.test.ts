/** The pure parts of `npm start` (scripts/demo.ts): which extensions the simulator gets, and the flows it deploys. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { demoExtensions, demoFlows, formatExtensionRanges, writeEditorSettings } from "../../scripts/demo";
import { parseExtensionSpec } from "../../sim/options";

const ROOT = path.join(__dirname, "..", "..", "..");
const EXAMPLES = path.join(ROOT, "examples");

describe("npm start: demo set-up", function () {
  it("says what it does before the silent build (about 40 s on a first run)", function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    const steps = pkg.scripts.start.split("&&").map((c) => c.trim());
    const build = steps.indexOf("npm run build");
    assert.ok(build > 0, `a step before the build: ${pkg.scripts.start}`);
    // The steps before it, run as npm runs them (a shell in the package folder): one line naming the build.
    const before = spawnSync(steps.slice(0, build).join(" && "), { cwd: ROOT, shell: true, encoding: "utf8", timeout: 10_000 });
    assert.equal(before.status, 0, before.stderr);
    assert.match(before.stdout, /^npm start: building the package .*\.\.\.\n$/);
  });

  it("sets the Debug sidebar to the tab in view, where Node-RED reads the editor's user settings", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-demo-settings-"));
    try {
      writeEditorSettings(dir);
      const users = JSON.parse(fs.readFileSync(path.join(dir, ".config.users.json"), "utf8")) as Record<string, { debug?: { filter?: string } }>;
      // "_" is the user without adminAuth, as the demo runs; filterCurrent is the sidebar's "current flow".
      assert.equal(users._?.debug?.filter, "filterCurrent");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("formats extension lists as ranges the simulator's --extensions reads back", function () {
    assert.equal(formatExtensionRanges(["410", "400", "401", "402", "100"]), "100,400-402,410");
    assert.equal(formatExtensionRanges(["400", "401"]), "400,401");
    assert.equal(formatExtensionRanges(["099", "100", "101", "102"]), "099-102");
    assert.equal(formatExtensionRanges(["98", "99", "100", "101", "102"]), "98,99,100-102", "a range keeps one width");
    assert.equal(formatExtensionRanges(["7"]), "7");
    for (const list of [["100", "400", "401", "402", "403", "410", "411"], ["099", "100", "101", "102"], ["98", "99", "100", "101", "102"]]) {
      assert.deepEqual(parseExtensionSpec(formatExtensionRanges(list)), list);
    }
  });

  it("gives the simulator 400-410 and every extension the examples name, and focuses on those they watch", function () {
    const { extensions, focus } = demoExtensions(EXAMPLES);
    for (const e of ["100", "400", "405", "410"]) assert.ok(extensions.includes(e), e);
    assert.ok(focus.includes("400") && focus.includes("410"));
    assert.ok(!focus.includes("405"), "the live board's extensions are not all focused");
    assert.ok(focus.every((e) => extensions.includes(e)));
  });

  it("deploys every example with their one PBX pointed at the simulator and the key as a credential", function () {
    const flows = demoFlows(EXAMPLES, "http://127.0.0.1:8089", "demo", true);
    const tabs = flows.filter((n) => n.type === "tab").map((n) => n.label);
    assert.deepEqual(tabs.slice(0, 3), ["Noojee: incoming calls", "Noojee: answer ringing calls", "Noojee: live board"]);
    const configs = flows.filter((n) => n.type === "noojee-config");
    assert.equal(configs.length, 1, "the examples share one PBX");
    const used = new Set(flows.map((n) => n.server).filter((s) => s !== undefined));
    assert.deepEqual([...used], [configs[0].id], "every node uses that PBX");
    for (const c of configs) {
      assert.equal(c.host, "http://127.0.0.1:8089");
      assert.deepEqual(c.credentials, { apiKey: "demo" });
      assert.match(String(c.name), /\(simulator\)$/);
    }
    assert.equal(new Set(flows.map((n) => n.id)).size, flows.length, "ids stay unique across examples");

    const withoutBoard = demoFlows(EXAMPLES, "http://127.0.0.1:8089", "demo", false);
    assert.ok(!withoutBoard.some((n) => n.type.startsWith("ui-")));
    assert.equal(withoutBoard.filter((n) => n.type === "tab").length, tabs.length - 1);
  });
});
