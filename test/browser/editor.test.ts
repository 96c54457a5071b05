/**
 * The editor side of the package in a real browser: Chromium (Debian's /usr/bin/chromium, or NOOJEE_CHROMIUM) driven
 * by playwright-core, against a real Node-RED process with the packed package installed (test/harness) and the fake
 * PBX (test/fake-pbx). Checks what a user sees: the palette entries and icon, the edit dialogs and their validation
 * messages, the API key kept out of the browser, the help sidebar, a live flow's status and debug output, the
 * example flows, and the config node's "Test connection" button.
 *
 * Without Chromium the suite is skipped with a message, unless NOOJEE_REQUIRE_BROWSER=1, which makes that a failure.
 * Screenshots for the README are written to docs/screenshots/ only when NOOJEE_SCREENSHOTS=1 (otherwise to a temp dir
 * that is removed afterwards). When a test fails, a screenshot of its page is kept in a temp dir named in the output.
 *
 * One Node-RED and one browser serve the whole file; each test deploys the flow it needs (a full deployment replaces
 * the previous one) and opens its own browser context, so tests do not depend on each other.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { API_BASE, FakePbx } from "../fake-pbx";
import { type FlowNode, type NodeRedProcess, REPO_ROOT, startNodeRed, stopAllNodeRed } from "../harness/node-red-process";

const CHROMIUM = process.env.NOOJEE_CHROMIUM || "/usr/bin/chromium";
const REQUIRE_BROWSER = process.env.NOOJEE_REQUIRE_BROWSER === "1";
const WRITE_DOC_SCREENSHOTS = process.env.NOOJEE_SCREENSHOTS === "1";
const MODULE = "node-red-contrib-noojee";
const VIEWPORT = { width: 1280, height: 800 };
const API_KEY = "browser-secret-5c1f0e9a-7d2b-4f63-9a84-1e2d3c4b5a69";
/** Node-RED's stand-in for a stored password credential (what the editor gets instead of the value). */
const PASSWORD_PLACEHOLDER = "__PWRD__";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Our node types, from package.json; all but the config node are in the palette. */
const TYPES = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } })[
    "node-red"
  ].nodes,
);
const PALETTE_TYPES = TYPES.filter((t) => t !== "noojee-config");

// ------------------------------------------------------------------ message catalogues

type Catalogue = Record<string, unknown>;
const catalogues = new Map<string, Catalogue>();

/** A message from nodes/locales/en-US/<type>.json, with Node-RED's `__name__` substitutions applied. */
function msg(type: string, key: string, subs: Record<string, string | number> = {}): string {
  let cat = catalogues.get(type);
  if (!cat) {
    cat = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "nodes", "locales", "en-US", `${type}.json`), "utf8")) as Catalogue;
    catalogues.set(type, cat);
  }
  let value: unknown = cat[type];
  for (const part of key.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
  if (typeof value !== "string") throw new Error(`no message ${type}:${type}.${key} in the catalogue`);
  return value.replace(/__(\w+)__/g, (whole, name: string) => (name in subs ? String(subs[name]) : whole));
}

// ------------------------------------------------------------------ flows

const TAB = "b0000000000000a1";
const CFG = "b0000000000000c1";
const SUB = "b0000000000000s1";
const ANS = "b0000000000000n1";
const SWITCH = "b0000000000000w1";
const DEBUG = "b0000000000000d1";

function demoFlow(host: string): FlowNode[] {
  return [
    { id: TAB, type: "tab", label: "Calls", disabled: false, info: "" },
    { id: CFG, type: "noojee-config", name: "Office PBX", host, verifyTls: true, authMode: "apiKey" },
    {
      id: SUB,
      type: "noojee-subscribe",
      z: TAB,
      name: "",
      server: CFG,
      extensions: "410",
      timeout: 30,
      outputMode: "events",
      persistChanges: false,
      outputs: 1,
      x: 140,
      y: 100,
      wires: [[DEBUG, SWITCH]],
    },
    {
      id: DEBUG,
      type: "debug",
      z: TAB,
      name: "calls",
      active: true,
      tosidebar: true,
      console: false,
      tostatus: false,
      complete: "payload",
      targetType: "msg",
      statusVal: "",
      statusType: "auto",
      x: 370,
      y: 100,
      wires: [],
    },
    {
      id: SWITCH,
      type: "switch",
      z: TAB,
      name: "answerable",
      property: "payload.canAnswer",
      propertyType: "msg",
      rules: [{ t: "true" }],
      checkall: "true",
      repair: false,
      outputs: 1,
      x: 370,
      y: 180,
      wires: [[ANS]],
    },
    // Answerable calls go on to the answer node, as in the answer example (the fake PBX accepts the answer).
    {
      id: ANS,
      type: "noojee-answer",
      z: TAB,
      name: "",
      server: CFG,
      extension: "",
      answerString: "Call-info:answer-after=0",
      x: 580,
      y: 180,
      wires: [[]],
    },
  ];
}

/** Just subscribe → debug: what the debug sidebar test and its screenshot need (nothing answers the call). */
function liveFlow(host: string): FlowNode[] {
  const keep = new Set([TAB, CFG, SUB, DEBUG]);
  return demoFlow(host)
    .filter((n) => keep.has(n.id))
    .map((n) => (n.id === SUB ? { ...n, wires: [[DEBUG]] } : n));
}

// ------------------------------------------------------------------ suite

describe("editor in a real browser (Chromium via playwright-core)", function () {
  this.timeout(60_000);

  let pbx: FakePbx | undefined;
  let nr: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  let shotDir = "";
  let failureDir: string | undefined;
  let contexts: BrowserContext[] = [];
  let pages: Array<{ page: Page; errors: string[] }> = [];

  const nrLog = (): string => `--- Node-RED output ---\n${nr?.log() ?? "(not started)"}`;

  before(async function () {
    this.timeout(180_000);
    if (!fs.existsSync(CHROMIUM)) {
      const why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set NOOJEE_CHROMIUM to its path)`;
      if (REQUIRE_BROWSER) throw new Error(`NOOJEE_REQUIRE_BROWSER=1 but there is ${why}`);
      console.log(`      skipping the browser tests: ${why}; set NOOJEE_REQUIRE_BROWSER=1 to make this a failure`);
      this.skip();
    }
    shotDir = WRITE_DOC_SCREENSHOTS
      ? path.join(REPO_ROOT, "docs", "screenshots")
      : fs.mkdtempSync(path.join(os.tmpdir(), "noojee-screenshots-"));
    fs.mkdirSync(shotDir, { recursive: true });
    pbx = new FakePbx({ apiKey: API_KEY });
    await pbx.start();
    const [started, launched] = await Promise.allSettled([
      // The Monaco code editor (the default) costs seconds of script parsing per page load on a busy machine; none
      // of our dialogs has a code editor, so the tests use the other built-in one.
      startNodeRed({ settings: { editorTheme: { tours: false, palette: { catalogues: [] }, codeEditor: { lib: "ace" } } } }),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }),
    ]);
    // Keep whichever started, so the after hook stops it even when the other failed.
    if (started.status === "fulfilled") nr = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    if (started.status === "rejected") throw started.reason;
    if (launched.status === "rejected") throw launched.reason;
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") {
      failureDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "noojee-browser-failures-"));
      const base = (this.currentTest.title.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 60) || "test").toLowerCase();
      for (const [i, { page, errors }] of pages.entries()) {
        const file = path.join(failureDir, `${base}-${i}.png`);
        await page.screenshot({ path: file }).catch(() => undefined);
        console.log(`      failure screenshot: ${file}${errors.length ? `; page errors: ${errors.join(" | ")}` : ""}`);
      }
    }
    await Promise.allSettled(contexts.map((c) => c.close()));
    contexts = [];
    pages = [];
  });

  after(async () => {
    const results = await Promise.allSettled([browser?.close(), stopAllNodeRed()]);
    await pbx?.stop();
    if (!WRITE_DOC_SCREENSHOTS && shotDir) fs.rmSync(shotDir, { recursive: true, force: true });
    for (const r of results) if (r.status === "rejected") throw r.reason;
  });

  // ---------------------------------------------------------------- helpers

  /** A new browser context and page on the editor, loaded (palette and, when given, workspace node `waitForNode`). */
  async function openEditor(waitForNode?: string): Promise<Page> {
    assert.ok(browser && nr);
    const context = await browser.newContext({ viewport: VIEWPORT });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    pages.push({ page, errors });
    await page.goto(nr.url);
    await page.locator('.red-ui-palette-node[data-palette-type="noojee-subscribe"]').waitFor();
    if (waitForNode) await workspaceNode(page, waitForNode).waitFor();
    // The rotating tips at the bottom of the info sidebar: off, so screenshots do not depend on a random tip.
    await page.evaluate(() => (window as unknown as { RED: { actions: { invoke(a: string, v: boolean): void } } }).RED.actions.invoke("core:toggle-show-tips", false));
    return page;
  }

  function pageErrors(page: Page): string[] {
    return pages.find((p) => p.page === page)?.errors ?? [];
  }

  function workspaceNode(page: Page, id: string): Locator {
    return page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`);
  }

  /** Waits until `selector` (a tray button) is visible and has stopped moving: the tray has slid in. */
  async function trayOpen(page: Page, buttonSelector: string): Promise<void> {
    await page.locator(buttonSelector).click({ trial: true });
  }

  async function openNodeDialog(page: Page, id: string): Promise<void> {
    await workspaceNode(page, id).dblclick();
    await trayOpen(page, "#node-dialog-ok");
  }

  /** From an open subscribe/answer dialog, the pencil next to PBX (edits the selected config node) or the + (a new one). */
  async function openConfigDialog(page: Page, button: "edit" | "add" = "edit"): Promise<void> {
    await page.locator(`#node-input-btn-server-${button}`).click();
    await trayOpen(page, "#node-config-dialog-ok");
  }

  async function hasClass(locator: Locator, cls: string): Promise<boolean> {
    return locator.evaluate((el, c) => el.classList.contains(c), cls);
  }

  /** Types a value the way the editor sees an edit: fill, then the change event its validation listens to. */
  async function setField(page: Page, selector: string, value: string): Promise<void> {
    const input = page.locator(selector);
    await input.fill(value);
    await input.dispatchEvent("change");
  }

  /** Moves the pointer off every input (to the middle of the header bar) and waits until no tooltip is shown. */
  async function clearTooltips(page: Page): Promise<void> {
    await page.mouse.move(VIEWPORT.width / 2, 20);
    await page.waitForFunction(() => document.querySelectorAll(".red-ui-popover").length === 0);
  }

  /**
   * `value` in `selector` is marked invalid (class input-error) and explained: Node-RED 3.1+ attaches the string a
   * validator returns as a hover tooltip on the input (RED.popover.tooltip, a div.red-ui-popover shown after 750 ms).
   */
  async function expectInvalid(page: Page, selector: string, value: string, explanation: string): Promise<void> {
    await setField(page, selector, value);
    const input = page.locator(selector);
    assert.equal(await hasClass(input, "input-error"), true, `${selector} = ${JSON.stringify(value)} is marked invalid`);
    await input.hover();
    const tooltip = page.locator(".red-ui-popover");
    await tooltip.waitFor({ state: "visible" });
    assert.equal((await tooltip.innerText()).trim(), explanation, `tooltip of ${selector} = ${JSON.stringify(value)}`);
    await clearTooltips(page);
  }

  async function expectValid(page: Page, selector: string, value: string): Promise<void> {
    await setField(page, selector, value);
    assert.equal(await hasClass(page.locator(selector), "input-error"), false, `${selector} = ${JSON.stringify(value)} is not marked`);
  }

  /** The label text of a form row, as the catalogue gave it. */
  async function labelOf(page: Page, inputId: string): Promise<string> {
    return (await page.locator(`label[for="${inputId}"]`).first().innerText()).trim();
  }

  async function expectFields(page: Page, fields: Array<[string, string]>): Promise<void> {
    for (const [id, label] of fields) {
      assert.equal(await page.locator(`#${id}`).isVisible(), true, `#${id} is shown`);
      assert.equal(await labelOf(page, id), label, `label of #${id}`);
    }
  }

  /**
   * Every element of `type`'s form that takes its text from the catalogue (data-i18n, which Node-RED rewrites to
   * "<module>/<type>:<key>") shows that catalogue message, not a missing key.
   */
  async function expectTranslated(page: Page, type: string): Promise<void> {
    const rendered = await page.locator(`[data-i18n*="/${type}:"]`).evaluateAll((els) =>
      els.map((e) => ({
        spec: e.getAttribute("data-i18n") ?? "",
        text: (e.textContent ?? "").trim(),
        placeholder: e.getAttribute("placeholder"),
        html: e.innerHTML,
      })),
    );
    assert.ok(rendered.length > 0, `${type}'s form has translated elements`);
    for (const el of rendered) {
      const [, target, key] = /^(?:\[(\w+)\])?[^:]*:(.*)$/.exec(el.spec) ?? [];
      assert.ok(key?.startsWith(`${type}.`), `data-i18n ${el.spec}`);
      const expected = msg(type, key.slice(type.length + 1)); // throws when the catalogue lacks the key
      if (target === "placeholder") assert.equal(el.placeholder, expected, el.spec);
      else if (target === "html") assert.ok(el.html.length > 0 && !el.html.includes(key), `${el.spec} is filled`);
      else assert.equal(el.text, expected, el.spec);
    }
  }

  /**
   * Clicks a tab (workspace tab, import dialog tab). Node-RED's tab bars share one double-click timer, so a click on
   * any tab within 400 ms of a click on another tab counts as a double click and does not switch; when the tab did
   * not become active, the second click does (the timer is reset by then).
   */
  async function clickTab(tab: Locator): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      await tab.click();
      if (await hasClass(tab, "active")) return;
    }
    assert.fail(`tab ${await tab.innerText()} did not become active`);
  }

  /** A 1280x800 PNG of the whole window, into docs/screenshots (NOOJEE_SCREENSHOTS=1) or the temp dir. */
  async function screenshot(page: Page, name: string): Promise<void> {
    const file = path.join(shotDir, `${name}.png`);
    await page.screenshot({ path: file, animations: "disabled" });
    const png = fs.readFileSync(file);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${file} is a PNG`);
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [VIEWPORT.width, VIEWPORT.height], `${file} is 1280x800`);
  }

  /** Every response body and websocket frame the page receives, for leak checks. */
  function recordTraffic(page: Page): { texts(): Promise<Array<{ from: string; text: string }>> } {
    const bodies: Array<Promise<{ from: string; text: string } | undefined>> = [];
    const frames: Array<{ from: string; text: string }> = [];
    page.on("response", (res) => {
      bodies.push(
        res.body().then(
          (b) => ({ from: `${res.status()} ${res.url()}`, text: b.toString("utf8") }),
          () => undefined, // redirects and aborted loads have no body
        ),
      );
    });
    page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push({ from: `ws ${ws.url()}`, text: String(f.payload) })));
    return {
      async texts() {
        const got = (await Promise.all(bodies)).filter((b): b is { from: string; text: string } => b !== undefined);
        return [...got, ...frames];
      },
    };
  }

  async function deploy(flows: FlowNode[], credentials: Record<string, Record<string, string>> = {}): Promise<void> {
    assert.ok(nr);
    await nr.deploy(flows, credentials);
  }

  // ---------------------------------------------------------------- 1. palette

  it("shows subscribe, answer and the other nodes under the noojee palette category, with their labels and our icon", async () => {
    assert.ok(PALETTE_TYPES.includes("noojee-subscribe") && PALETTE_TYPES.includes("noojee-answer"), JSON.stringify(TYPES));
    assert.ok(pbx && nr);
    await deploy(demoFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(SUB);
    const category = page.locator("#red-ui-palette-container-noojee");
    assert.equal(await category.isVisible(), true, "the palette has a noojee category");
    assert.equal((await page.locator("#red-ui-palette-header-noojee").innerText()).trim(), "noojee");

    for (const type of PALETTE_TYPES) {
      const entries = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      assert.equal(await entries.count(), 1, `${type} appears once in the palette`);
      const entry = category.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      assert.equal(await entry.count(), 1, `${type} is in the noojee category`);
      assert.equal((await entry.locator(".red-ui-palette-label").innerText()).trim(), msg(type, "paletteLabel"));

      const icon = entry.locator(".red-ui-palette-icon");
      const background = await icon.evaluate((el) => getComputedStyle(el).backgroundImage);
      const url = /^url\("(.*)"\)$/.exec(background)?.[1];
      assert.ok(url, `${type}: the palette icon has a background image (${background})`);
      assert.ok(url.endsWith(`icons/${MODULE}/noojee.svg`), `${type}: icon ${url} is ours, not the default arrow`);
      const served = await page.evaluate(async (u) => {
        const res = await fetch(u);
        return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
      }, url);
      const loaded = await page.evaluate((u) => performance.getEntriesByName(u).length, url);
      assert.ok(loaded > 0, `the browser loaded ${url} to draw the palette`);
      assert.equal(served.status, 200);
      assert.match(served.type, /^image\/svg\+xml/);
      assert.equal(served.text, fs.readFileSync(path.join(REPO_ROOT, "icons", "noojee.svg"), "utf8"), "the URL serves our SVG");
    }
    assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="noojee-config"]').count(), 0, "the config node is not in the palette");
    const inCategory = await category.locator(".red-ui-palette-node").evaluateAll((els) => els.map((e) => e.getAttribute("data-palette-type")));
    assert.deepEqual(inCategory.sort(), [...PALETTE_TYPES].sort(), "the noojee category holds exactly our nodes");

    // The workspace nodes use the same icon.
    const workspaceIcon = await page
      .locator(`#red-ui-workspace-chart g[id="${SUB}"] image.red-ui-flow-node-icon`)
      .evaluate((el) => (el as SVGImageElement).href.baseVal);
    assert.equal(workspaceIcon, `icons/${MODULE}/noojee.svg`);

    await page.locator("#red-ui-palette-header-noojee").evaluate((el) => el.scrollIntoView({ block: "center" }));
    await clearTooltips(page);
    await screenshot(page, "palette");
    assert.deepEqual(pageErrors(page), [], "no script error in the editor");
  });

  // ---------------------------------------------------------------- 2. edit dialogs

  it("subscribe dialog: shows every field; marks bad extensions and timeouts and explains them from the catalogue", async () => {
    assert.ok(pbx);
    await deploy(demoFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(SUB);
    await openNodeDialog(page, SUB);
    const S = "noojee-subscribe";
    await expectFields(page, [
      ["node-input-server", msg(S, "label.server")],
      ["node-input-extensions", msg(S, "label.extensions")],
      ["node-input-timeout", msg(S, "label.timeout")],
      ["node-input-outputMode", msg(S, "label.outputMode")],
      ["node-input-persistChanges", msg(S, "label.persistChanges")],
      ["node-input-name", msg(S, "label.name")],
    ]);
    await expectTranslated(page, S);
    assert.equal(await page.locator("#node-input-server").inputValue(), CFG, "the PBX field selects the config node");
    assert.equal((await page.locator("#node-input-server option:checked").innerText()).trim(), "Office PBX");
    assert.equal(await page.locator("#node-input-extensions").inputValue(), "410");
    assert.equal(await page.locator("#node-input-timeout").inputValue(), "30");
    assert.equal(await page.locator("#node-input-persistChanges").getAttribute("type"), "checkbox");
    const modes = ["events", "byKind", "summaries", "both"];
    assert.deepEqual(
      await page.locator("#node-input-outputMode option").evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent])),
      modes.map((m) => [m, msg(S, `outputMode.${m}`)]),
    );
    assert.equal(await page.locator("#node-input-outputMode").inputValue(), "events");

    await expectInvalid(page, "#node-input-extensions", "4a0,,", msg(S, "error.invalidExtensions", {
      reason: msg(S, "validation.badItem", { item: "4a0" }),
    }));
    await expectInvalid(page, "#node-input-extensions", "400,,410", msg(S, "error.invalidExtensions", {
      reason: msg(S, "validation.emptyItem"),
    }));
    await expectValid(page, "#node-input-extensions", "400, 410");
    const timeoutMessage = msg(S, "validation.timeout", { min: 1, max: 120 });
    await expectInvalid(page, "#node-input-timeout", "0", timeoutMessage);
    await expectInvalid(page, "#node-input-timeout", "500", timeoutMessage);
    await expectValid(page, "#node-input-timeout", "30");

    await setField(page, "#node-input-name", "Reception");
    await clearTooltips(page);
    await screenshot(page, "subscribe-dialog");

    // Closing the dialog with a bad value marks the node on the workspace (the red triangle); "one output per kind"
    // gives the node five outputs.
    const group = page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${SUB}"]`);
    assert.equal(await group.locator("g.red-ui-flow-node-error:not(.hide)").count(), 0, "valid before the edit");
    await page.locator("#node-input-outputMode").selectOption("byKind");
    await setField(page, "#node-input-extensions", "4a0");
    await page.locator("#node-dialog-ok").click();
    await group.locator("g.red-ui-flow-node-error:not(.hide)").waitFor();
    assert.equal(await group.locator("g.red-ui-flow-port-output").count(), 5, "five outputs in byKind mode");
    assert.deepEqual(pageErrors(page), []);
  });

  it("answer dialog: shows every field and the auto-answer presets; marks a bad extension", async () => {
    assert.ok(pbx);
    await deploy(demoFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(ANS);
    await openNodeDialog(page, ANS);
    const A = "noojee-answer";
    await expectFields(page, [
      ["node-input-server", msg(A, "label.server")],
      ["node-input-extension", msg(A, "label.extension")],
      ["node-input-answerString-preset", msg(A, "label.answerString")],
      ["node-input-name", msg(A, "label.name")],
    ]);
    await expectTranslated(page, A);

    // The presets, labelled from the catalogue; the stored header selects the Yealink preset and hides the text field.
    const preset = page.locator("#node-input-answerString-preset");
    const options = await preset.locator("option").evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent]));
    assert.deepEqual(options, [
      ["none", msg(A, "preset.none")],
      ["yealink", `${msg(A, "preset.yealink")} (Call-info:answer-after=0)`],
      ["grandstream", `${msg(A, "preset.grandstream")} (Call-Info:\\; answer-after=0)`],
      ["polycom", `${msg(A, "preset.polycom")} (Alert-Info: Ring Answer)`],
      ["custom", msg(A, "preset.custom")],
    ]);
    assert.equal(await preset.inputValue(), "yealink");
    const custom = page.locator("#node-input-answerString");
    assert.equal(await custom.isVisible(), false, "the header field is hidden while a preset is chosen");

    await preset.selectOption("custom");
    await custom.waitFor({ state: "visible" });
    assert.equal(await labelOf(page, "node-input-answerString"), msg(A, "label.header"));
    await expectInvalid(page, "#node-input-answerString", "X-Answer: " + "a".repeat(200), msg(A, "validation.answerStringLength", { max: 200 }));
    await expectValid(page, "#node-input-answerString", "X-Auto-Answer: yes");
    await preset.selectOption("polycom");
    await custom.waitFor({ state: "hidden" });
    assert.equal(await custom.inputValue(), "Alert-Info: Ring Answer", "a preset fills the header");

    await expectInvalid(page, "#node-input-extension", "4a0", msg(A, "validation.extension"));
    await expectValid(page, "#node-input-extension", "SIP/101");
    await expectValid(page, "#node-input-extension", "");

    await preset.selectOption("yealink");
    await setField(page, "#node-input-extension", "410");
    await clearTooltips(page);
    await screenshot(page, "answer-dialog");
    await page.locator("#node-dialog-cancel").click();
    assert.deepEqual(pageErrors(page), []);
  });

  it("config dialog: shows every field; marks a host with a path or a space", async () => {
    assert.ok(pbx);
    await deploy(demoFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(SUB);
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    const C = "noojee-config";
    await expectFields(page, [
      ["node-config-input-host", msg(C, "label.host")],
      ["node-config-input-authMode", msg(C, "label.authMode")],
      ["node-config-input-apiKey", msg(C, "label.apiKey")],
      ["node-config-input-name", msg(C, "label.name")],
    ]);
    await expectTranslated(page, C);
    assert.equal(await page.locator("#node-config-input-host").inputValue(), pbx.url);
    assert.equal(await page.locator("#node-config-input-apiKey").getAttribute("type"), "password");
    assert.deepEqual(
      await page.locator("#node-config-input-authMode option").evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent])),
      ["apiKey", "timestamp"].map((m) => [m, msg(C, `authMode.${m}`)]),
    );
    assert.equal(await page.locator("#node-config-input-authMode").inputValue(), "apiKey");
    const verify = page.locator("#node-config-input-verifyTls");
    assert.equal(await verify.isVisible(), true);
    assert.equal(await verify.getAttribute("type"), "checkbox");
    assert.equal(await verify.isChecked(), true);
    assert.equal((await page.locator('label[for="node-config-input-verifyTls"]').innerText()).trim(), msg(C, "label.verifyTls"));

    const invalidHost = (reason: string): string =>
      msg(C, "validation.invalidHost", { reason: msg(C, `validation.reason.${reason}`) });
    await expectInvalid(page, "#node-config-input-host", "pbx.example.com/x", invalidHost("path"));
    await expectInvalid(page, "#node-config-input-host", "pbx example.com", invalidHost("space"));
    await expectValid(page, "#node-config-input-host", "pbx.example.com:8443");
    await expectValid(page, "#node-config-input-host", "https://pbx.example.com");
    await expectInvalid(page, "#node-config-input-apiKey", "abc def", msg(C, "validation.apiKey"));
    await expectValid(page, "#node-config-input-apiKey", "a-new-key");

    await setField(page, "#node-config-input-host", "pbx.example.com:8443");
    await setField(page, "#node-config-input-apiKey", "example-key-for-the-screenshot");
    await setField(page, "#node-config-input-name", "Office PBX");
    await clearTooltips(page);
    await screenshot(page, "config-dialog");
    await page.locator("#node-config-dialog-cancel").click();
    assert.deepEqual(pageErrors(page), []);
  });

  it("opens nodes saved before the Send and Sign-in options existed with their defaults, and keeps them valid", async () => {
    assert.ok(pbx);
    // A flow as version 0.1.0 saved it: no outputMode/persistChanges/outputs on subscribe, no authMode on the config.
    const old = demoFlow(pbx.url).map((n) => {
      const copy: FlowNode = { ...n };
      for (const added of ["outputMode", "persistChanges", "outputs", "authMode"]) delete copy[added];
      return copy;
    });
    await deploy(old, { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(SUB);
    await openNodeDialog(page, SUB);
    assert.equal(await page.locator("#node-input-outputMode").inputValue(), "events", "Send shows its default");
    await openConfigDialog(page);
    assert.equal(await page.locator("#node-config-input-authMode").inputValue(), "apiKey", "Sign-in shows its default");
    await page.locator("#node-config-dialog-ok").click();
    await page.locator("#node-dialog-ok").click();
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
    const chart = page.locator("#red-ui-workspace-chart");
    const invalid = await chart.locator("g.red-ui-flow-node-group:has(> g.red-ui-flow-node-error:not(.hide))").evaluateAll((els) => els.map((e) => e.id));
    assert.deepEqual(invalid, [], "no node is marked invalid after Done");
    const saved = await page.evaluate(
      ([sub, cfg]) => {
        const RED = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> | null } } }).RED;
        return [RED.nodes.node(sub)?.outputMode, RED.nodes.node(cfg)?.authMode];
      },
      [SUB, CFG],
    );
    assert.deepEqual(saved, ["events", "apiKey"], "Done saves the defaults");
    assert.deepEqual(pageErrors(page), []);
  });

  it("opens the dial, hangup and record dialogs with every field labelled from the catalogue", async () => {
    assert.ok(pbx);
    const others = PALETTE_TYPES.filter((t) => t !== "noojee-subscribe" && t !== "noojee-answer");
    const flow: FlowNode[] = [
      ...demoFlow(pbx.url).filter((n) => n.id === TAB || n.id === CFG),
      ...others.map((type, i) => ({ id: `b00000000000000${i}`, type, z: TAB, name: "", server: CFG, x: 160, y: 80 + 60 * i, wires: [[]] })),
    ];
    await deploy(flow, { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(flow[flow.length - 1].id);
    for (const [i, type] of others.entries()) {
      await openNodeDialog(page, `b00000000000000${i}`);
      await expectTranslated(page, type);
      const labelled = await page.locator("#dialog-form label[for]").evaluateAll((els) => els.map((e) => e.getAttribute("for")));
      for (const id of labelled) {
        assert.equal(await page.locator(`#${id}`).count(), 1, `${type}: the field of label[for=${id}] exists`);
      }
      assert.equal(await page.locator("#node-input-server").inputValue(), CFG, `${type}: the PBX field selects the config node`);
      await page.locator("#node-dialog-cancel").click();
      await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    }
    assert.deepEqual(pageErrors(page), []);
  });

  // ---------------------------------------------------------------- 3. the API key stays on the server

  it("keeps the API key in a password field and never sends it to the browser", async () => {
    assert.ok(pbx);
    await deploy(demoFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    assert.ok(browser && nr);
    const context = await browser.newContext({ viewport: VIEWPORT });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    pages.push({ page, errors: [] });
    const traffic = recordTraffic(page); // before the first request
    await page.goto(nr.url);
    await workspaceNode(page, SUB).waitFor();
    await openNodeDialog(page, SUB);
    const credentialsLoaded = page.waitForResponse((r) => r.url().includes(`/credentials/noojee-config/${CFG}`));
    await openConfigDialog(page);
    await credentialsLoaded;

    const key = page.locator("#node-config-input-apiKey");
    assert.equal(await key.getAttribute("type"), "password", "the key is typed into a password field");
    await page.waitForFunction(() => (document.querySelector("#node-config-input-apiKey") as HTMLInputElement).value !== "");
    assert.equal(await key.inputValue(), PASSWORD_PLACEHOLDER, "the field holds Node-RED's placeholder, not the key");
    assert.equal(await hasClass(key, "input-error"), false, "the stored key counts as set");

    const inputValues = await page.locator("input, textarea").evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    assert.ok(!inputValues.some((v) => v.includes(API_KEY)), "no input holds the key");
    assert.ok(!(await page.content()).includes(API_KEY), "the page HTML does not contain the key");
    const texts = await traffic.texts();
    assert.ok(texts.some((t) => t.from.includes(`/credentials/noojee-config/${CFG}`)), "the credentials request was recorded");
    const leaks = texts.filter((t) => t.text.includes(API_KEY)).map((t) => t.from);
    assert.deepEqual(leaks, [], "no response or websocket frame carries the key");
    await page.locator("#node-config-dialog-cancel").click();
  });

  // ---------------------------------------------------------------- 4. help

  it("shows each node's help in the help sidebar with its sections", async () => {
    assert.ok(pbx);
    await deploy(demoFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(SUB);
    await page.locator("#red-ui-tab-help-link-button").click();
    // The help tab's content: a toolbar with a search box, then the topics tree and the help text.
    const sidebar = page.locator(".red-ui-sidebar-info", { has: page.locator(".red-ui-sidebar-help-stack") });
    const help = sidebar.locator(".red-ui-sidebar-help-stack");

    /** The sidebar shows the type's help: its title, and the h3 sections of nodes/locales/en-US/<type>.html. */
    const expectHelp = async (type: string, required: string[]): Promise<void> => {
      const title = msg(type, "paletteLabel");
      await help.locator("h1.red-ui-help-title", { hasText: new RegExp(`^${title}$`) }).waitFor();
      const source = fs.readFileSync(path.join(REPO_ROOT, "nodes", "locales", "en-US", `${type}.html`), "utf8");
      const sections = [...source.matchAll(/<h3>([^<]*)<\/h3>/g)].map((m) => m[1].trim());
      for (const r of required) assert.ok(sections.includes(r), `${type}'s help has a ${r} section: ${JSON.stringify(sections)}`);
      const shown = await help.locator("h3").evaluateAll((els) => els.map((e) => (e.textContent ?? "").trim()));
      assert.deepEqual(shown, sections, `the help sidebar shows ${type}'s sections`);
    };
    await workspaceNode(page, SUB).click();
    await expectHelp("noojee-subscribe", ["Inputs", "Outputs", "Details"]);
    await workspaceNode(page, ANS).click();
    await expectHelp("noojee-answer", ["Inputs", "Outputs", "Details"]);
    // The other types are not on the workspace: pick them from the help sidebar's topics. The config node has no
    // ports, so no Inputs/Outputs sections.
    await sidebar.locator(".red-ui-info-toolbar input").first().fill("noojee");
    for (const type of TYPES.filter((t) => t !== "noojee-subscribe" && t !== "noojee-answer")) {
      await help
        .locator(".red-ui-sidebar-help-toc .red-ui-treeList-label", { hasText: new RegExp(`^${msg(type, "paletteLabel")}$`) })
        .click();
      await expectHelp(type, type === "noojee-config" ? ["Details"] : ["Inputs", "Outputs", "Details"]);
    }
    assert.deepEqual(pageErrors(page), []);
  });

  // ---------------------------------------------------------------- 5. live flow

  it("turns the subscribe status green and shows a call in the debug sidebar", async () => {
    assert.ok(pbx && nr);
    const before = pbx.requests.length;
    await deploy(liveFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(SUB);
    const status = page.locator(`#red-ui-workspace-chart g[id="${SUB}"] .red-ui-flow-node-status-group`);
    await status.locator("rect.red-ui-flow-node-status.red-ui-flow-node-status-dot-green").waitFor();
    assert.equal((await status.locator(".red-ui-flow-node-status-label").textContent())?.trim(), msg("noojee-subscribe", "status.listening"));

    // Start the call once the long poll is held, so it arrives as a change.
    await pbx.waitForRequest(
      (r) => pbx!.requests.indexOf(r) >= before && r.path === `${API_BASE}subscribe` && r.query.lastSequenceNumber !== "0",
      15_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${nrLog()}`));
    await page.locator("#red-ui-tab-debug-link-button").click();
    pbx.startCall("410", { callerId: "0412345678" });

    const message = page.locator(".red-ui-debug-msg", { hasText: "0412345678" }).first();
    await message.waitFor();
    // The payload shows as a one-line preview; expand it so every property shows.
    await message.locator(".red-ui-debug-msg-expandable").first().click();
    await message.locator(".red-ui-debug-msg-object-key", { hasText: "status" }).first().waitFor();
    const text = await message.innerText();
    assert.match(text, /Ringing/, `the debug message shows the status: ${text}`);
    assert.match(text, /0412345678/);
    await status.locator(".red-ui-flow-node-status-label", { hasText: msg("noojee-subscribe", "status.event", { extension: "410", status: "Ringing" }) }).waitFor();
    await clearTooltips(page);
    await screenshot(page, "debug-sidebar");
    assert.deepEqual(pageErrors(page), []);
  });

  // ---------------------------------------------------------------- 6. examples

  const exampleNames = fs
    .readdirSync(path.join(REPO_ROOT, "examples"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();

  /** Menu → Import → Examples, then our module's folder, which it resolves with (its entries are loaded). */
  async function openExamples(page: Page): Promise<Locator> {
    await page.locator("#red-ui-header-button-sidemenu").click();
    await page.locator("#menu-item-import").click();
    // The dialog opens on its Clipboard tab and focuses the text box 100 ms later; switch tabs after that.
    await page.waitForFunction(() => document.activeElement?.id === "red-ui-clipboard-dialog-import-text");
    const tree = page.locator("#red-ui-clipboard-dialog-import-tab-examples");
    await clickTab(page.locator("#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples"));
    await tree.waitFor();
    const moduleLabel = page.locator(".red-ui-treeList-label-text", { hasText: new RegExp(`^${MODULE}$`) });
    await tree.locator(".red-ui-treeList-label-text", { hasText: new RegExp(`^${MODULE}$`) }).click();
    // A tree item holds its label and a list of its children; the module's item is the innermost holding its label.
    const folder = tree.locator(".red-ui-editableList-item-content", { has: moduleLabel }).last();
    // The entries load from the library API when the folder opens.
    await folder.locator(".red-ui-editableList .red-ui-treeList-label-text").first().waitFor();
    return folder;
  }

  it("lists our examples under Import → Examples", async () => {
    assert.ok(exampleNames.length >= 2, `the repo has example flows: ${JSON.stringify(exampleNames)}`);
    await deploy([]);
    const page = await openEditor();
    const folder = await openExamples(page);
    const listed = await folder.locator(".red-ui-editableList .red-ui-treeList-label-text").allInnerTexts();
    assert.deepEqual(listed.map((t) => t.trim()).sort(), exampleNames);
    await page.keyboard.press("Escape");
  });

  it("imports each example without invalid nodes; the example's config node then asks for a key", async function () {
    this.timeout(180_000);
    // One page for all examples (a page load costs seconds); each example comes on its own tab.
    await deploy([]);
    const page = await openEditor();
    for (const name of exampleNames) {
      const example = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "examples", `${name}.json`), "utf8")) as FlowNode[];
      const tab = example.find((n) => n.type === "tab");
      assert.ok(tab, `${name} has its own tab`);
      const onTab = example.filter((n) => n.z === tab.id);
      const ours = onTab.filter((n) => n.type.startsWith("noojee-"));
      assert.ok(ours.length > 0, `${name} uses our nodes`);
      assert.ok(example.every((n) => n.credentials === undefined), `${name} carries no credentials`);

      const folder = await openExamples(page);
      await folder.locator(".red-ui-editableList .red-ui-treeList-label-text", { hasText: new RegExp(`^${name}$`) }).click();
      await page.locator("#red-ui-clipboard-dialog-ok").click();
      await page.locator("#red-ui-clipboard-dialog").waitFor({ state: "hidden" });

      // Every node of the example is drawn on its tab.
      const tabLabel = page.getByText(String(tab.label), { exact: true });
      await clickTab(page.locator("#red-ui-workspace-tabs .red-ui-tab", { has: tabLabel }));
      const chart = page.locator("#red-ui-workspace-chart");
      await page
        .waitForFunction((n) => document.querySelectorAll("#red-ui-workspace-chart g.red-ui-flow-node-group").length === n, onTab.length)
        .catch(() => assert.fail(`${name}: ${onTab.length} nodes drawn on its tab`));
      const icons = await chart.locator("image.red-ui-flow-node-icon").evaluateAll((els) => els.map((e) => (e as SVGImageElement).href.baseVal));
      assert.equal(icons.filter((i) => i === `icons/${MODULE}/noojee.svg`).length, ours.length, `${name}: our nodes carry our icon`);

      // No red triangle. The examples ship without an API key (a key is never exported), but Node-RED validates a
      // node's credentials only once its edit dialog has loaded them, so an imported example is all valid; the
      // missing key shows as soon as the user opens the config node, which is checked next.
      const invalid = await chart.locator("g.red-ui-flow-node-group:has(> g.red-ui-flow-node-error:not(.hide))").evaluateAll((els) => els.map((e) => e.id));
      assert.deepEqual(invalid, [], `${name}: no imported node is marked invalid`);

      // The first example's config node, opened through the first of our nodes with a PBX field: the key field is
      // empty and marked (the same holds for every example, as none carries credentials).
      if (name !== exampleNames[0]) continue;
      const withServer = ours.find((n) => typeof n.server === "string");
      assert.ok(withServer, `${name}: one of our nodes has a PBX`);
      const target = await page.evaluate((type) => {
        const RED = (window as unknown as {
          RED: { workspaces: { active(): string }; nodes: { filterNodes(f: object): Array<{ id: string }> } };
        }).RED;
        return RED.nodes.filterNodes({ z: RED.workspaces.active(), type })[0]?.id;
      }, withServer.type);
      assert.ok(target, `${name}: the imported ${withServer.type}`);
      await openNodeDialog(page, target);
      await openConfigDialog(page);
      assert.equal(await page.locator("#node-config-input-host").inputValue(), "pbx.example.com", `${name}: placeholder host`);
      const key = page.locator("#node-config-input-apiKey");
      assert.equal(await key.inputValue(), "", `${name}: no key came with the example`);
      assert.equal(await hasClass(key, "input-error"), true, `${name}: the empty key is marked for the user to fill in`);
      await page.locator("#node-config-dialog-cancel").click();
      await page.locator("#node-config-dialog-cancel").waitFor({ state: "detached" });
      await page.locator("#node-dialog-cancel").click();
      await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    }
    assert.deepEqual(pageErrors(page), []);
  });

  // ---------------------------------------------------------------- Test connection

  /** Clicks Test connection and resolves with the result text once the request has finished. */
  async function testConnection(page: Page): Promise<string> {
    const button = page.locator("#noojee-config-test-button");
    await button.click();
    // The button is disabled while the request runs.
    await page.waitForFunction(() => {
      const b = document.querySelector("#noojee-config-test-button") as HTMLButtonElement | null;
      return b !== null && !b.disabled;
    });
    return (await page.locator("#noojee-config-test-result").innerText()).trim();
  }

  it("Test connection on a new, unsaved config node: connected, authentication failed, unreachable", async () => {
    assert.ok(pbx);
    await deploy([]);
    const page = await openEditor();
    // Drag a subscribe node from the palette onto the empty workspace.
    const entry = page.locator('.red-ui-palette-node[data-palette-type="noojee-subscribe"]');
    await entry.scrollIntoViewIfNeeded();
    const from = await entry.boundingBox();
    const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
    assert.ok(from && chart);
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(chart.x + 300, chart.y + 200, { steps: 12 });
    await page.mouse.up();
    const dropped = page.locator("#red-ui-workspace-chart g.red-ui-flow-node-group");
    await dropped.first().waitFor();
    assert.equal(await dropped.count(), 1, "one node dropped");
    const id = await dropped.first().getAttribute("id");
    assert.ok(id);
    await openNodeDialog(page, id);
    assert.equal(await page.locator("#node-input-server").inputValue(), "_ADD_", "no config node yet: the PBX field offers a new one");
    await openConfigDialog(page, "add");
    assert.equal(await page.locator("#noojee-config-test-button").isVisible(), true);
    assert.equal((await page.locator("#noojee-config-test-button").innerText()).trim(), msg("noojee-config", "test.button"));

    await setField(page, "#node-config-input-host", pbx.url);
    await setField(page, "#node-config-input-apiKey", API_KEY);
    const before = pbx.requests.length;
    assert.equal(await testConnection(page), msg("noojee-config", "test.connected"));
    const asked = pbx.requests.slice(before);
    assert.ok(asked.length > 0 && asked.every((r) => r.query.apiKey === API_KEY), "the typed key reached the PBX");

    await setField(page, "#node-config-input-apiKey", "not-the-key");
    assert.equal(await testConnection(page), msg("noojee-config", "test.authFailed"));

    await setField(page, "#node-config-input-apiKey", API_KEY);
    await setField(page, "#node-config-input-host", "127.0.0.1:1");
    const unreachable = await testConnection(page);
    const prefix = msg("noojee-config", "test.unreachable", { reason: "" });
    assert.ok(unreachable.startsWith(prefix) && unreachable.length > prefix.length, `unreachable with a reason: ${unreachable}`);
    assert.ok(!unreachable.includes(API_KEY));
    assert.deepEqual(pageErrors(page), []);
  });

  it("Test connection on a deployed config node with the key untouched uses the stored key", async () => {
    assert.ok(pbx && browser && nr);
    await deploy(demoFlow(pbx.url), { [CFG]: { apiKey: API_KEY } });
    const page = await openEditor(SUB);
    const traffic = recordTraffic(page);
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    const key = page.locator("#node-config-input-apiKey");
    await page.waitForFunction(() => (document.querySelector("#node-config-input-apiKey") as HTMLInputElement).value !== "");
    assert.equal(await key.inputValue(), PASSWORD_PLACEHOLDER);

    const before = pbx.requests.length;
    assert.equal(await testConnection(page), msg("noojee-config", "test.connected"));
    const asked = pbx.requests.slice(before);
    assert.ok(asked.length > 0 && asked.every((r) => r.query.apiKey === API_KEY), "the stored key reached the PBX");
    const texts = await traffic.texts();
    assert.ok(texts.some((t) => t.from.includes("noojee-config/test")), "the test request was recorded");
    assert.deepEqual(texts.filter((t) => t.text.includes(API_KEY)).map((t) => t.from), [], "the answer does not carry the key");
    assert.deepEqual(pageErrors(page), []);
  });
});
