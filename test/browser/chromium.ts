/**
 * What every browser test uses, whether it shares support/session.ts's Node-RED or starts one of its own (the palette
 * manager, the 0.1.0 flow file, the resume option): the skip-or-fail rule when Chromium is missing, the viewport, where
 * screenshots go, and opening the editor. Chromium itself is launched by test/harness/browser.ts.
 *
 * Without Chromium a suite is skipped with a message, unless NOOJEE_REQUIRE_BROWSER=1, which makes that a failure.
 * The tests' screenshots go to a temp dir removed afterwards, or to the directory NOOJEE_SCREENSHOTS names (to look at
 * them). Never to docs/screenshots/: the README's pictures come from the demo (`npm run screenshots`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "../harness/browser";

export { launchChromium };
export const VIEWPORT = { width: 1280, height: 800 };
const REQUIRE_BROWSER = process.env.NOOJEE_REQUIRE_BROWSER === "1";
/** Where the tests keep their screenshots (NOOJEE_SCREENSHOTS=<dir>); undefined: a temp dir, removed afterwards. */
export const KEEP_SCREENSHOTS_IN = process.env.NOOJEE_SCREENSHOTS ? path.resolve(process.env.NOOJEE_SCREENSHOTS) : undefined;

/** Call first in a before hook: skips the suite (or fails it under NOOJEE_REQUIRE_BROWSER=1) without Chromium. */
export function requireChromium(ctx: Mocha.Context): void {
  const why = chromiumMissing();
  if (why === undefined) return;
  if (REQUIRE_BROWSER) throw new Error(`NOOJEE_REQUIRE_BROWSER=1 but there is ${why}`);
  console.log(`      skipping the browser tests: ${why}; set NOOJEE_REQUIRE_BROWSER=1 to make this a failure`);
  ctx.skip();
}

/** Where a suite's screenshots go; `done()` removes the directory unless NOOJEE_SCREENSHOTS named it. */
export function screenshotDir(): { dir: string; done(): void } {
  const dir = KEEP_SCREENSHOTS_IN ?? fs.mkdtempSync(path.join(os.tmpdir(), "noojee-shots-"));
  fs.mkdirSync(dir, { recursive: true });
  return { dir, done: () => (KEEP_SCREENSHOTS_IN ? undefined : fs.rmSync(dir, { recursive: true, force: true })) };
}

/**
 * Node-RED's notifications ("Successfully deployed", "Imported …") and the box that holds them lie over the tab bar and
 * the dialogs' buttons for seconds; Playwright's click waits until nothing covers its target, so each one cost a test up to 5 s of waiting. They
 * stay visible (and in screenshots) but let clicks through, except on their own buttons (the palette manager's
 * confirmations are notifications).
 */
const NOTIFICATIONS_LET_CLICKS_THROUGH = `
  #red-ui-notifications, .red-ui-notification { pointer-events: none !important; }
  .red-ui-notification button, .red-ui-notification a { pointer-events: auto !important; }`;

/** A new browser context for the editor: the tests' viewport, and notifications that let clicks through. */
export async function newEditorContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await context.addInitScript((css: string) => {
    document.addEventListener("DOMContentLoaded", () => {
      const style = document.createElement("style");
      style.textContent = css;
      document.head.appendChild(style);
    });
  }, NOTIFICATIONS_LET_CLICKS_THROUGH);
  return context;
}

/** Opens the editor on a new page of a new context and waits until the workspace is drawn. */
export async function openEditorPage(browser: Browser, url: string): Promise<Page> {
  const context = await newEditorContext(browser);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  await page.locator("#red-ui-workspace-chart").waitFor();
  // The editor sets the flows' revision and imports them in one task: once RED.nodes.version() is set, they are in.
  await page.waitForFunction(() => {
    const RED = (window as unknown as { RED?: { nodes?: { version(): string | null } } }).RED;
    return RED?.nodes?.version?.() != null;
  });
  // No rotating tips in the info sidebar, so screenshots do not depend on a random one.
  await page.evaluate(() => (window as unknown as { RED: { actions: { invoke(a: string, v: boolean): void } } }).RED.actions.invoke("core:toggle-show-tips", false));
  return page;
}
