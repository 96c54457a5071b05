/**
 * Installing the way most users do: a real Node-RED process started WITHOUT the package, and Chromium (via
 * playwright-core) driving the editor: Menu → Manage palette → Install → upload the packed tarball; the node types
 * appear under "noojee" with no restart; a subscribe flow imported and deployed from the editor shows a call from the
 * fake PBX in the Debug sidebar; the flow is deleted and deployed; Manage palette → Nodes → remove takes the module
 * out. Afterwards no request reaches the PBX and Node-RED's log holds no error.
 *
 * Screenshots of the steps (palette-install, palette-installed, palette-debug, palette-remove) are kept
 * only with NOOJEE_SCREENSHOTS=<dir> (test/browser/chromium.ts). Without Chromium the suite is skipped, or fails under
 * NOOJEE_REQUIRE_BROWSER=1. The tests run in order and share one page: each step needs the one before it.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { API_BASE, FakePbx } from "../fake-pbx";
import { type NodeRedProcess, packPackage, REPO_ROOT, startNodeRed, stopAllNodeRed } from "../harness/node-red-process";
import { launchChromium, openEditorPage, requireChromium, screenshotDir, VIEWPORT } from "./chromium";
import { showSidebar } from "./support/editor-page";

const MODULE = "node-red-contrib-noojee";
const API_KEY = "palette-secret-3e0b1c7d-51aa-4f0e-9d6c-8b2f4a1e7c90";
const PKG = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
  "node-red": { nodes: Record<string, string> };
};
const TYPES = Object.keys(PKG["node-red"].nodes);
const PALETTE_TYPES = TYPES.filter((t) => t !== "noojee-config");
/** How long the PBX is watched for stray requests after the module is removed. */
const QUIET_WINDOW_MS = 5_000;

const TAB = "pa1e77e000000ta1";
const CFG = "pa1e77e000000cf1";
const SUB = "pa1e77e000000sb1";
const DBG = "pa1e77e000000db1";

/** What a user pastes into Import: subscribe → debug, with its PBX scoped to the flow (deleted with it). */
function subscribeFlow(host: string): object[] {
  return [
    { id: TAB, type: "tab", label: "Calls from the palette", disabled: false, info: "" },
    { id: CFG, type: "noojee-config", z: TAB, name: "Fake PBX", host, verifyTls: true, authMode: "apiKey", credentials: { apiKey: API_KEY } },
    { id: SUB, type: "noojee-subscribe", z: TAB, name: "", server: CFG, extensions: "410", timeout: 30, outputMode: "events", persistChanges: false, outputs: 1, x: 160, y: 100, wires: [[DBG]] },
    { id: DBG, type: "debug", z: TAB, name: "calls", active: true, tosidebar: true, console: false, tostatus: false, complete: "payload", targetType: "msg", statusVal: "", statusType: "auto", x: 380, y: 100, wires: [] },
  ];
}

/** Error lines in Node-RED's output. */
function errorLines(log: string): string[] {
  return log.split("\n").filter((l) => /\[error\]/.test(l));
}

describe("install and remove through the palette manager (Chromium)", function () {
  this.timeout(120_000);

  let pbx: FakePbx | undefined;
  let nr: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let tarball = "";
  let pid: number | undefined;
  let shots: ReturnType<typeof screenshotDir> | undefined;
  const pageErrors: string[] = [];

  const nrLog = (): string => `--- Node-RED output ---\n${nr?.log() ?? "(not started)"}`;

  before(async function () {
    this.timeout(180_000);
    requireChromium(this);
    shots = screenshotDir();
    pbx = new FakePbx({ apiKey: API_KEY });
    await pbx.start();
    tarball = await packPackage();
    const [started, launched] = await Promise.allSettled([
      startNodeRed({
        installPackage: false,
        settings: { editorTheme: { tours: false, palette: { catalogues: [] }, codeEditor: { lib: "ace" } } },
        // The palette manager runs `npm install` of the upload: take its dependencies from the local cache.
        env: { npm_config_prefer_offline: "true", npm_config_update_notifier: "false" },
      }),
      launchChromium(),
    ]);
    if (started.status === "fulfilled") nr = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    if (started.status === "rejected") throw started.reason;
    if (launched.status === "rejected") throw launched.reason;
    pid = nr!.pid;
    page = await openEditorPage(browser!, nr!.url);
    page.on("pageerror", (err) => pageErrors.push(String(err)));
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "noojee-palette-failure-")), "page.png");
      await page.screenshot({ path: file }).catch(() => undefined);
      console.log(`      failure screenshot: ${file}`);
    }
  });

  after(async () => {
    const results = await Promise.allSettled([browser?.close(), stopAllNodeRed()]);
    await pbx?.stop();
    shots?.done();
    for (const r of results) if (r.status === "rejected") throw r.reason;
  });

  async function screenshot(name: string): Promise<void> {
    const file = path.join(shots!.dir, `${name}.png`);
    await page.mouse.move(VIEWPORT.width / 2, 20); // no hover tooltip in the picture
    await page.screenshot({ path: file, animations: "disabled" });
    const png = fs.readFileSync(file);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${file} is a PNG`);
  }

  /** Waits until the editor's notifications (e.g. "Successfully deployed") have closed themselves. */
  async function noNotifications(): Promise<void> {
    await page.locator(".red-ui-notification").first().waitFor({ state: "detached" });
  }

  async function menu(itemId: string): Promise<void> {
    await page.locator("#red-ui-header-button-sidemenu").click();
    await page.locator(`#${itemId}`).click();
  }

  async function openPaletteManager(tab: "install" | "nodes"): Promise<void> {
    await menu("menu-item-edit-palette");
    await page.locator(`#red-ui-tab-${tab}`).click();
  }

  async function closeTray(): Promise<void> {
    await page.locator("#node-dialog-ok").click();
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
  }

  function paletteEntry(type: string): ReturnType<Page["locator"]> {
    return page.locator(`#red-ui-palette-container-noojee .red-ui-palette-node[data-palette-type="${type}"]`);
  }

  async function registeredTypes(): Promise<string[]> {
    return page.evaluate((types) => {
      const RED = (window as unknown as { RED: { nodes: { getType(t: string): unknown } } }).RED;
      return types.filter((t) => RED.nodes.getType(t) != null);
    }, TYPES);
  }

  it("starts without the package: no noojee type in Node-RED or in the palette", async () => {
    const sets = await nr!.getNodes();
    assert.deepEqual(sets.filter((s) => s.module === MODULE), []);
    assert.equal(await page.locator(".red-ui-palette-node[data-palette-type^='noojee-']").count(), 0);
    assert.deepEqual(await registeredTypes(), []);
  });

  it("installs the uploaded tarball from Manage palette → Install, without a restart", async () => {
    await openPaletteManager("install");
    await page.locator("#red-ui-palette-editor-upload-form input[type=file]").setInputFiles(tarball);
    const bar = page.locator(".red-ui-palette-editor-upload");
    await bar.getByText(path.basename(tarball)).waitFor();
    await screenshot("palette-install");

    await bar.locator(".red-ui-palette-editor-upload-buttons button.primary").click();
    // The editor adds the module's types to the palette when the runtime reports them loaded.
    for (const type of PALETTE_TYPES) await paletteEntry(type).waitFor({ timeout: 90_000 });
    assert.deepEqual((await registeredTypes()).sort(), [...TYPES].sort(), "every type, the config node too");

    const ours = (await nr!.getNodes()).filter((s) => s.module === MODULE);
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...TYPES].sort());
    for (const set of ours) {
      assert.equal(set.enabled, true, `${set.id} enabled`);
      assert.equal(set.err, undefined, `${set.id}: ${JSON.stringify(set.err)}`);
      assert.equal(set.version, PKG.version);
    }
    assert.equal(nr!.pid, pid, "the same Node-RED process");
    assert.ok(nr!.running);
    assert.deepEqual(errorLines(nr!.log()), [], nrLog());

    await closeTray();
    // The palette filtered to our category, for the picture (with the editor's "Nodes added to palette" note).
    const search = page.locator("#red-ui-palette-search input");
    await search.pressSequentially("noojee"); // the filter follows key presses
    await page.locator('.red-ui-palette-node[data-palette-type="inject"]').waitFor({ state: "hidden" });
    for (const type of PALETTE_TYPES) assert.ok(await paletteEntry(type).isVisible(), `${type} shown under noojee`);
    await screenshot("palette-installed");
    await search.fill("");
    await search.press("End");
  });

  it("deploys an imported subscribe flow and shows a call from the PBX in the Debug sidebar", async () => {
    assert.ok(pbx && nr);
    await menu("menu-item-import");
    const text = page.locator("#red-ui-clipboard-dialog-import-text");
    await text.fill(JSON.stringify(subscribeFlow(pbx.url)));
    await text.press("End"); // the dialog checks the JSON on keyup, then enables Import
    await page.locator("#red-ui-clipboard-dialog-ok").click();
    await page.locator(`#red-ui-tab-${TAB}`).click(); // the imported flow opens in a tab of its own
    const node = page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${SUB}"]`);
    await node.waitFor();

    await page.locator("#red-ui-header-button-deploy").click();
    await pbx
      .waitForRequest((r) => r.path === `${API_BASE}subscribe` && r.query.lastSequenceNumber !== "0", 30_000)
      .catch((err: Error) => assert.fail(`${err.message}\n${nrLog()}`));
    await node.locator("rect.red-ui-flow-node-status-dot-green").waitFor();

    await showSidebar(page, "debug");
    await page.locator("#red-ui-workspace-chart").click({ position: { x: 500, y: 450 } }); // nothing selected in the picture
    const id = pbx.startCall("410", { callerId: "0412345678" });
    const message = page.locator(".red-ui-debug-msg", { hasText: "0412345678" }).first();
    await message.waitFor();
    await message.locator(".red-ui-debug-msg-expandable").first().click();
    await message.locator(".red-ui-debug-msg-object-key:visible", { hasText: "uniqueCallId" }).waitFor();
    const shown = await message.innerText();
    assert.match(shown, /Ringing/, shown);
    assert.ok(shown.includes(id), `the call's uniqueCallId in ${shown}`);
    await screenshot("palette-debug");
  });

  it("deletes the flow, deploys, and removes the module in Manage palette → Nodes: no request reaches the PBX, no error", async () => {
    assert.ok(pbx && nr);
    // Delete the flow (its PBX config node goes with it) from the flow's properties, then deploy.
    await page.locator(`#red-ui-tab-${TAB}`).dblclick();
    await page.locator("#node-dialog-delete").click();
    await page.locator(`#red-ui-tab-${TAB}`).waitFor({ state: "detached" });
    await page.locator("#red-ui-header-button-deploy").click();
    await pbx.waitForPolls(0, 15_000).catch((err: Error) => assert.fail(`${err.message}\n${nrLog()}`));
    const { flows } = await nr.getFlows();
    assert.deepEqual(flows.filter((n) => n.type.startsWith("noojee-")), [], "no noojee node deployed");

    await noNotifications();
    await openPaletteManager("nodes");
    const entry = page.locator("#red-ui-palette-module-list li", { has: page.locator(".red-ui-palette-module-name", { hasText: MODULE }) });
    await entry.locator(".red-ui-palette-module-button-group a", { hasText: /^remove$/ }).click();
    const confirm = page.locator(".red-ui-palette-module-install-confirm-button-remove");
    await confirm.click({ trial: true }); // shown and no longer moving
    await screenshot("palette-remove");
    await confirm.click();
    await entry.waitFor({ state: "detached", timeout: 60_000 });
    for (const type of PALETTE_TYPES) await paletteEntry(type).waitFor({ state: "detached" });
    assert.equal(await page.locator(".red-ui-palette-node[data-palette-type^='noojee-']").count(), 0, "no noojee entry left in the palette");
    assert.deepEqual((await nr.getNodes()).filter((s) => s.module === MODULE), [], "Node-RED unloaded the module");
    assert.ok(!fs.existsSync(path.join(nr.userDir, "node_modules", MODULE)), "npm removed it from the user dir");

    // Nothing is left to talk to the PBX: no poll open, and none arrives over a window after the removal.
    const seen = pbx.requests.length;
    assert.equal(pbx.openPolls(), 0);
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
    assert.deepEqual(pbx.requests.slice(seen).map((r) => r.path), [], "no request after the removal");
    assert.equal(nr.pid, pid, "still the same Node-RED process");
    assert.deepEqual(errorLines(nr.log()), [], nrLog());
    assert.deepEqual(pageErrors, [], "no script error in the editor");
  });
});
