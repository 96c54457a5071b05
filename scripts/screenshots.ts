/**
 * `npm run screenshots`: retakes every picture in docs/screenshots/ (the README's "What it looks like") from the demo
 * (scripts/demo.ts: the packed package installed in a real Node-RED, all the examples deployed, the packaged PBX
 * simulator making calls), in headless Chromium (test/harness/browser.ts: NOOJEE_CHROMIUM or CHROMIUM_PATH, default
 * /usr/bin/chromium). The editor is 1280x800 with the Debug sidebar on the tab in view; the board is 1280x720.
 *
 *   palette.png           the noojee palette category (the other categories closed), the incoming-calls example
 *   subscribe-dialog.png  the incoming-calls example's subscribe node, opened
 *   config-dialog.png     its PBX configuration, opened from it, after Test connection answered
 *   config-replicas.png   the same dialog with Replicas ticked, a Redis URL (a redis-server this script starts on a
 *                         free loopback port) and Test connection's answer for the PBX and for Redis
 *   answer-dialog.png     the answer-ringing-calls example's answer node, opened
 *   live-board.png        the Dashboard 2 live board with a ringing call, a conversation and a missed call
 *   example-<name>.png    one per example in EXAMPLES below: its tab, with its messages in the Debug sidebar
 *
 * About 2-5 minutes after the build: each example waits for its calls (seeded, so much the same each run).
 *
 * Any script error in a page, or an error or warning notification in the editor, fails the run: no picture shows one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, newEditorContext } from "../test/browser/chromium";
import { startRedis } from "../test/harness/redis-server";
import { ROOT, startDemo } from "./demo";

const OUT = path.join(ROOT, "docs", "screenshots");
const EXAMPLES_DIR = path.join(ROOT, "examples");

/** Node-RED's browser API, as far as this script uses it. */
type EditorWindow = Window & {
  RED: {
    actions: { invoke(action: string, value?: unknown): void };
    workspaces: { show(id: string): void; active(): string };
    nodes: { eachNode(cb: (n: { z?: string; x: number; y: number; w?: number; h?: number }) => void): void };
    view: { scale(): number };
  };
  $: { ajax(options: { url: string; type: string }): unknown };
};

/**
 * The examples shown, one per node type (and the live board's flow): the example file, the nodes whose inject
 * buttons are pressed first (by their id) or whether a call is answered from the board, and how many of the tab's
 * messages the Debug sidebar should show. (Record's inject buttons are left alone: 411 has no call to record.)
 */
const EXAMPLES: Array<{ file: string; inject?: string[]; answerOnBoard?: boolean; messages: number }> = [
  { file: "incoming-calls", messages: 5 },
  { file: "answer-ringing-calls", messages: 2 },
  { file: "click-to-dial", inject: ["5c3d4e5f60718292"], messages: 2 },
  { file: "hang-up-calls", inject: ["5c3d4e5f6071a296"], messages: 1 },
  { file: "record-calls", messages: 2 },
  { file: "busy-light", inject: ["7d4e5f60718293a2"], messages: 3 },
  { file: "live-board", answerOnBoard: true, messages: 1 },
];

const print = (line: string): void => void process.stdout.write(`${line}\n`);

interface Wanted {
  count: number;
  tab?: string;
}

/** Polls `check(wanted)` in the page until it is true; false after `timeoutMs`. */
async function waitUntil(page: Page, check: (wanted: Wanted) => boolean, wanted: Wanted, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await page.evaluate(check, wanted)) return true;
    await page.waitForTimeout(250);
  }
  return false;
}

/** The node of `type` in an example file (its first one) and the file's tab id. */
function exampleIds(file: string, type?: string): { tab: string; node: string } {
  const nodes = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, `${file}.json`), "utf8")) as Array<{ id: string; type: string }>;
  const tab = nodes.find((n) => n.type === "tab");
  const node = type ? nodes.find((n) => n.type === type) : tab;
  if (!tab || !node) throw new Error(`examples/${file}.json has no ${type ?? "tab"}`);
  return { tab: tab.id, node: node.id };
}

/** Saves the page as docs/screenshots/<name>.png, after checking the editor shows no error (see the header). */
async function shoot(page: Page, name: string, errors: string[]): Promise<void> {
  if (errors.length > 0) throw new Error(`script errors in the page before ${name}.png: ${errors.join(" | ")}`);
  const alarms = await page.locator(".red-ui-notification-error, .red-ui-notification-warning").allInnerTexts();
  if (alarms.length > 0) throw new Error(`the editor shows a notification before ${name}.png: ${alarms.join(" | ")}`);
  // Transient notes ("Successfully deployed" and the like) would date the picture.
  await page.evaluate(() => document.querySelectorAll(".red-ui-notification").forEach((n) => n.remove()));
  await page.mouse.move(640, 790); // no hover tooltip: the pointer on the status bar
  await page.waitForFunction(() => document.querySelectorAll(".red-ui-popover").length === 0);
  await page.screenshot({ path: path.join(OUT, `${name}.png`), animations: "disabled" });
  print(`  ${name}.png`);
}

/** Waits until the Debug sidebar holds `count` messages from the tab (it shows only the tab in view: the demo's filter). */
async function waitForMessages(page: Page, file: string, tab: string, count: number): Promise<void> {
  const shown = await waitUntil(
    page,
    ({ count: n, tab: id }) => document.querySelectorAll(`.red-ui-debug-msg-flow-${String(id)}`).length >= n,
    { count, tab },
    120_000,
  );
  if (!shown) print(`  (the ${file} tab's Debug sidebar has fewer than ${count} messages after 2 minutes)`);
  await page.waitForTimeout(600); // the sidebar's filter (applied 200 ms after a tab change) and its scroll
}

/** Opens a workspace node's edit dialog and waits until its tray has slid in. */
async function openDialog(page: Page, id: string): Promise<void> {
  await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`).dblclick();
  await page.locator("#node-dialog-ok").click({ trial: true });
}

async function showTab(page: Page, tab: string): Promise<void> {
  await page.evaluate((id) => (window as unknown as EditorWindow).RED.workspaces.show(id), tab);
  await page.waitForFunction((id) => (window as unknown as EditorWindow).RED.workspaces.active() === id, tab);
}

/**
 * The tab's nodes all in view: the palette hidden (palette.png shows it), the canvas scrolled to its top left corner
 * and zoomed out by the editor's own steps until the rightmost node fits.
 */
async function fitTab(page: Page, tab: string): Promise<void> {
  const chart = page.locator("#red-ui-workspace-chart");
  const overflows = (): Promise<boolean> =>
    page.evaluate((id) => {
      const { RED } = window as unknown as EditorWindow;
      let right = 0;
      RED.nodes.eachNode((n) => {
        if (n.z === id) right = Math.max(right, n.x + (n.w ?? 100) / 2);
      });
      const width = document.getElementById("red-ui-workspace-chart")?.clientWidth ?? 0;
      return (right + 30) * RED.view.scale() > width && RED.view.scale() > 0.55;
    }, tab);
  await page.evaluate(() => (window as unknown as EditorWindow).RED.actions.invoke("core:toggle-palette", false));
  await page.evaluate(() => (window as unknown as EditorWindow).RED.actions.invoke("core:zoom-reset"));
  while (await overflows()) await page.evaluate(() => (window as unknown as EditorWindow).RED.actions.invoke("core:zoom-out"));
  await chart.evaluate((el) => el.scrollTo(0, 0));
}

/** The live board once it shows a ringing call, a conversation, a missed call and six recent calls; left open. */
async function shootBoard(browser: Browser, url: string): Promise<Page> {
  const board = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await board.goto(url);
  const ready = await waitUntil(
    board,
    ({ count }) => {
      const text = document.body.innerText;
      const recentCalls = document.querySelectorAll(".noojee-board .section:nth-child(2) tbody tr").length;
      return /\bAnswer\b/.test(text) && /\btalking\b/.test(text) && /\bmissed\b/.test(text) && recentCalls >= count;
    },
    { count: 6 },
    180_000,
  );
  if (!ready) throw new Error("timed out waiting for the live board to show a ringing call, a conversation and a missed call");
  await board.screenshot({ path: path.join(OUT, "live-board.png") });
  print("  live-board.png");
  return board;
}

/** The open config dialog's Replicas group, ticked, tested against a real Redis (nothing is saved: the dialog is cancelled). */
async function shootReplicas(page: Page, errors: string[]): Promise<void> {
  const redis = await startRedis();
  try {
    await page.locator("#node-config-input-replicas").check();
    await page.locator("#node-config-input-redisUrl").fill(redis.url);
    await page.locator("#noojee-config-test-button").click();
    await page.waitForFunction(() => {
      const button = document.querySelector("#noojee-config-test-button") as HTMLButtonElement | null;
      const result = document.querySelector("#noojee-config-test-redis-result")?.textContent ?? "";
      return button !== null && !button.disabled && result !== "";
    });
    await page.locator("#noojee-config-section-replicas").evaluate((section) => section.scrollIntoView({ block: "center" }));
    await page.locator("#node-config-input-redisUrl").blur();
    await shoot(page, "config-replicas", errors);
  } finally {
    await redis.stop();
  }
}

async function shootEditor(browser: Browser, editorUrl: string, board: Page): Promise<void> {
  const page = await (await newEditorContext(browser)).newPage();
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(editorUrl);
  await page.locator('.red-ui-palette-node[data-palette-type="noojee-subscribe"]').waitFor();
  await page.evaluate(() => {
    const { RED } = window as unknown as EditorWindow;
    RED.actions.invoke("core:toggle-show-tips", false); // no random tip in the sidebar
    RED.actions.invoke("core:show-debug-tab");
  });
  // The palette with only our category open, so all seven nodes show without scrolling.
  await page.locator(".red-ui-palette-category.red-ui-palette-open:not(#red-ui-palette-container-noojee) .red-ui-palette-header").evaluateAll((headers) =>
    headers.forEach((h) => (h as HTMLElement).click()),
  );
  await page.locator("#red-ui-palette-base-category-noojee").waitFor({ state: "visible" });
  await page.waitForTimeout(600); // the other categories' slide-up

  const incoming = exampleIds("incoming-calls", "noojee-subscribe");
  await showTab(page, incoming.tab);
  await waitForMessages(page, "incoming-calls", incoming.tab, 3);
  await shoot(page, "palette", errors);

  await openDialog(page, incoming.node);
  await shoot(page, "subscribe-dialog", errors);
  await page.locator("#node-input-lookup-server, #node-input-btn-server-edit").first().click();
  await page.locator("#node-config-dialog-ok").click({ trial: true });
  await page.locator("#noojee-config-test-button").click();
  await page.waitForFunction(() => {
    const result = document.querySelector("#noojee-config-test-result")?.textContent ?? "";
    return result !== "" && !/…|\.\.\./.test(result);
  });
  await shoot(page, "config-dialog", errors);
  await shootReplicas(page, errors);
  await page.locator("#node-config-dialog-cancel").click();
  await page.locator("#node-config-dialog-cancel").waitFor({ state: "detached" });
  await page.locator("#node-dialog-cancel").click();
  await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });

  const answer = exampleIds("answer-ringing-calls", "noojee-answer");
  await showTab(page, answer.tab);
  await openDialog(page, answer.node);
  await shoot(page, "answer-dialog", errors);
  await page.locator("#node-dialog-cancel").click();
  await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });

  for (const example of EXAMPLES) {
    const { tab } = exampleIds(example.file);
    await showTab(page, tab);
    await fitTab(page, tab);
    for (const id of example.inject ?? []) {
      // What the inject node's button sends, without its "Successfully injected" notification.
      await page.evaluate((nodeId) => (window as unknown as EditorWindow).$.ajax({ url: `inject/${nodeId}`, type: "POST" }), id);
    }
    // With the editor open, so its Debug sidebar gets the answer's message.
    if (example.answerOnBoard) await board.getByRole("button", { name: "Answer" }).first().click({ timeout: 120_000 });
    await waitForMessages(page, example.file, tab, example.messages);
    await shoot(page, `example-${example.file}`, errors);
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const demo = await startDemo({ seed: "readme", callsPerMinute: 20, print });
  const browser = await launchChromium();
  try {
    if (!demo.boardUrl) throw new Error("the live board needs Dashboard 2, which could not be installed");
    print(`Taking the screenshots into ${path.relative(process.cwd(), OUT) || OUT}/ (a few minutes: the simulator's calls fill the Debug sidebar):`);
    const board = await shootBoard(browser, demo.boardUrl);
    await shootEditor(browser, demo.editorUrl, board);
  } finally {
    await browser.close();
    await demo.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshots: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
