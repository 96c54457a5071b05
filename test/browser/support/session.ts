/**
 * What every browser test file shares: one fake PBX (test/fake-pbx), one real Node-RED process with the packed package
 * installed (test/harness/node-red-process; the Node-RED under test is chosen by test/harness/node-red-under-test), and
 * one headless Chromium (test/harness/browser). They start with the first browser test file that runs and stop once
 * all have run (a root `after` hook), so splitting the tests into files per concern costs no extra start-ups.
 *
 * Each test deploys the flow it needs (a full deployment replaces the previous one) and opens its own browser context,
 * so tests do not depend on each other or on the order of the files.
 *
 * Without Chromium the tests are skipped, or fail under NOOJEE_REQUIRE_BROWSER=1 (../chromium.ts's requireChromium).
 * The tests' screenshots go to a temp dir removed afterwards, or to the directory NOOJEE_SCREENSHOTS names (the
 * README's pictures come from `npm run screenshots`). When a test fails, a screenshot of each of its pages is kept in a temp dir named in
 * the output.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { FakePbx } from "../../fake-pbx";
import { KEEP_SCREENSHOTS_IN, launchChromium, newEditorContext, requireChromium, VIEWPORT } from "../chromium";
import { type FlowNode, type NodeRedProcess, startNodeRed } from "../../harness/node-red-process";
import { nodeBinary, nodeRedEntry } from "../../harness/node-red-under-test";
import { workspaceNode } from "./editor-page";
import { API_KEY } from "./flows";

/** What is running; each field is set as soon as that part has started, so the root hook stops what did. */
const running: { pbx?: FakePbx; nr?: NodeRedProcess; browser?: Browser; shotDir?: string } = {};
let starting: Promise<void> | undefined;

async function startAll(): Promise<void> {
  running.shotDir ??= KEEP_SCREENSHOTS_IN ?? fs.mkdtempSync(path.join(os.tmpdir(), "noojee-screenshots-"));
  fs.mkdirSync(running.shotDir, { recursive: true });
  if (!running.pbx) {
    const pbx = new FakePbx({ apiKey: API_KEY });
    await pbx.start();
    running.pbx = pbx;
  }
  await Promise.all([
    (async () => {
      if (running.nr?.running) return;
      running.nr = await startNodeRed({
        nodeRedEntry: nodeRedEntry(),
        nodeBinary: nodeBinary(),
        // The Monaco code editor (the default) costs seconds of script parsing per page load on a busy machine; none
        // of our dialogs has a code editor, so the tests use the other built-in one.
        // Two context stores, as a FlowFuse or localfilesystem install has: the dialogs list them.
        settings: {
          editorTheme: { tours: false, palette: { catalogues: [] }, codeEditor: { lib: "ace" } },
          contextStorage: { default: { module: "memory" }, disk: { module: "localfilesystem" } },
        },
      });
    })(),
    (async () => {
      if (running.browser?.isConnected()) return;
      running.browser = await launchChromium();
    })(),
  ]);
}

// Root hook (registered once, when the first browser test file loads this module): stops what was started.
after(async () => {
  await starting?.catch(() => undefined);
  const results = await Promise.allSettled([running.browser?.close(), running.nr?.stop()]);
  await running.pbx?.stop();
  if (!KEEP_SCREENSHOTS_IN && running.shotDir) fs.rmSync(running.shotDir, { recursive: true, force: true });
  for (const r of results) if (r.status === "rejected") throw r.reason;
});

export interface EditorSession {
  readonly pbx: FakePbx;
  readonly nr: NodeRedProcess;
  /** Node-RED's output so far, for assertion messages. */
  nrLog(): string;
  deploy(flows: FlowNode[], credentials?: Record<string, Record<string, string>>): Promise<void>;
  /** A new browser context and page, not yet on any URL (for tests that watch the first request). */
  newPage(): Promise<Page>;
  /** A new page on the editor, loaded (palette and, when given, workspace node `waitForNode`). */
  openEditor(waitForNode?: string): Promise<Page>;
  /** The script errors a page of this test has thrown so far. */
  pageErrors(page: Page): string[];
  /** A 1280x800 PNG of the whole window, into the NOOJEE_SCREENSHOTS dir or the temp dir. */
  screenshot(page: Page, name: string): Promise<void>;
}

/** Call inside a describe: starts (or reuses) the shared processes before its tests and cleans up after each test. */
export function useEditorSession(): EditorSession {
  let contexts: BrowserContext[] = [];
  let pages: Array<{ page: Page; errors: string[] }> = [];
  let failureDir: string | undefined;

  before(async function () {
    this.timeout(180_000);
    requireChromium(this);
    starting = startAll();
    await starting;
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

  const session: EditorSession = {
    get pbx() {
      assert.ok(running.pbx, "the fake PBX is running");
      return running.pbx;
    },
    get nr() {
      assert.ok(running.nr, "Node-RED is running");
      return running.nr;
    },
    nrLog: () => `--- Node-RED output ---\n${running.nr?.log() ?? "(not started)"}`,
    deploy: (flows, credentials = {}) => session.nr.deploy(flows, credentials),
    async newPage() {
      assert.ok(running.browser, "Chromium is running");
      const context = await newEditorContext(running.browser);
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      // With its stack: an error from Node-RED's own editor code or a vendor library reads apart from one of ours.
      page.on("pageerror", (err) => errors.push(err.stack ?? String(err)));
      pages.push({ page, errors });
      return page;
    },
    async openEditor(waitForNode) {
      const page = await session.newPage();
      await page.goto(session.nr.url);
      await page.locator('.red-ui-palette-node[data-palette-type="noojee-subscribe"]').waitFor();
      if (waitForNode) await workspaceNode(page, waitForNode).waitFor();
      // The rotating tips at the bottom of the info sidebar: off, so screenshots do not depend on a random tip.
      await page.evaluate(() => (window as unknown as { RED: { actions: { invoke(a: string, v: boolean): void } } }).RED.actions.invoke("core:toggle-show-tips", false));
      return page;
    },
    pageErrors: (page) => pages.find((p) => p.page === page)?.errors ?? [],
    async screenshot(page, name) {
      assert.ok(running.shotDir);
      const file = path.join(running.shotDir, `${name}.png`);
      await page.screenshot({ path: file, animations: "disabled" });
      const png = fs.readFileSync(file);
      assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${file} is a PNG`);
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [VIEWPORT.width, VIEWPORT.height], `${file} is 1280x800`);
    },
  };
  return session;
}
