/**
 * The config dialog's "Resume after a restart" in a real browser (Chromium via playwright-core) against a real
 * Node-RED with the packed package: a config node saved before the option existed shows it ticked with 60 minutes,
 * the minutes hide with the box unticked, a bad value is marked, and Done saves what is shown. Skipped without
 * Chromium unless NOOJEE_REQUIRE_BROWSER=1 (as editor.test.ts).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { type NodeRedProcess, REPO_ROOT, startNodeRed, stopAllNodeRed } from "../harness/node-red-process";

const CHROMIUM = process.env.NOOJEE_CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"];
const CFG = "c0000000000000c1";
const SUB = "c0000000000000s1";

describe("editor: Resume after a restart on the config dialog", function () {
  this.timeout(180_000);
  let nr: NodeRedProcess | undefined;
  let browser: Browser | undefined;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.NOOJEE_REQUIRE_BROWSER === "1") throw new Error(`NOOJEE_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}`);
      this.skip();
    }
    [nr, browser] = await Promise.all([
      startNodeRed({ settings: { editorTheme: { tours: false, palette: { catalogues: [] }, codeEditor: { lib: "ace" } } } }),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS }),
    ]);
  });
  after(async () => {
    await Promise.allSettled([browser?.close(), stopAllNodeRed()]);
  });

  it("shows it on for a config node saved before it existed, and Done saves what the dialog shows", async () => {
    assert.ok(nr && browser);
    // A config node as flows saved by earlier releases have it: no resumeAfterRestart, no resumeMaxAge.
    await nr.deploy([
      { id: "c0000000000000a1", type: "tab", label: "Calls", disabled: false, info: "" },
      { id: CFG, type: "noojee-config", name: "Office PBX", host: "http://127.0.0.1:9", verifyTls: true, authMode: "apiKey" },
      { id: SUB, type: "noojee-subscribe", z: "c0000000000000a1", name: "", server: CFG, extensions: "400", timeout: 30, x: 200, y: 100, wires: [[]] },
    ], { [CFG]: { apiKey: "resume-browser-key" } });
    const page: Page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(nr.url);
    await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${SUB}"] rect.red-ui-flow-node`).dblclick();
    await page.locator("#node-dialog-ok").click({ trial: true });
    await page.locator("#node-input-btn-server-edit").click();
    await page.locator("#node-config-dialog-ok").click({ trial: true });

    const box = page.locator("#node-config-input-resumeAfterRestart");
    const minutes = page.locator("#node-config-input-resumeMaxAge");
    const catalogue = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "nodes", "locales", "en-US", "noojee-config.json"), "utf8")) as {
      "noojee-config": { label: Record<string, string> };
    };
    assert.equal((await page.locator('label[for="node-config-input-resumeAfterRestart"]').innerText()).trim(),
      catalogue["noojee-config"].label.resumeAfterRestart);
    assert.equal(await box.isChecked(), true, "on for a flow saved without the property");
    assert.equal(await minutes.inputValue(), "60");
    await minutes.fill("0");
    await minutes.blur();
    assert.match((await minutes.getAttribute("class")) ?? "", /input-error/, "0 minutes is refused");
    await minutes.fill("15");
    await minutes.blur();
    assert.doesNotMatch((await minutes.getAttribute("class")) ?? "", /input-error/);
    await box.uncheck();
    assert.equal(await minutes.isVisible(), false, "the minutes hide with the box unticked");

    await page.locator("#node-config-dialog-ok").click();
    await page.locator("#node-dialog-ok").click();
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
    const saved = await page.evaluate((id) => {
      const node = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> | null } } }).RED.nodes.node(id);
      return [node?.resumeAfterRestart, node?.resumeMaxAge];
    }, CFG);
    assert.deepEqual(saved, [false, "15"]);
    assert.deepEqual(errors, []);
  });
});
