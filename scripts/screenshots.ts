/**
 * `npm run screenshots`: regenerates the README's screenshots in docs/screenshots/ from a running demo
 * (scripts/demo.ts) in headless Chromium (test/harness/browser.ts: NOOJEE_CHROMIUM or CHROMIUM_PATH, default
 * /usr/bin/chromium).
 *
 *   live-board.png    the Dashboard 2 live board, once it shows a ringing call, a conversation and a missed call
 *   editor-debug.png  the editor on the incoming-calls example with call messages in the Debug sidebar
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Page } from "playwright-core";
import { launchChromium } from "../test/harness/browser";
import { ROOT, startDemo } from "./demo";

const OUT = path.join(ROOT, "docs", "screenshots");

/** Polls `check` in the page until it is true. */
async function waitUntil(page: Page, what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await page.evaluate(check)) return;
    await page.waitForTimeout(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const demo = await startDemo({ seed: "readme", callsPerMinute: 20, print: (line) => process.stdout.write(`${line}\n`) });
  const browser = await launchChromium();
  try {
    if (!demo.boardUrl) throw new Error("the live board needs Dashboard 2, which could not be installed");
    const board = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await board.goto(demo.boardUrl);
    await waitUntil(
      board,
      "a ringing call with an Answer button, a conversation, a missed call and 6 recent calls",
      () => {
        const text = document.body.innerText;
        const recentCalls = document.querySelectorAll(".noojee-board .section:nth-child(2) tbody tr").length;
        return /\bAnswer\b/.test(text) && /\btalking\b/.test(text) && /\bmissed\b/.test(text) && recentCalls >= 6;
      },
      180_000,
    );
    await board.screenshot({ path: path.join(OUT, "live-board.png") });

    const editor = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await editor.goto(demo.editorUrl);
    await editor.locator('a.red-ui-tab-link-button[href="#debug"]').click();
    await waitUntil(editor, "6 messages in the Debug sidebar", () => document.querySelectorAll(".red-ui-debug-msg").length >= 6, 120_000);
    await editor.mouse.move(560, 560); // no tooltip over the sidebar
    await editor.waitForTimeout(800);
    await editor.screenshot({ path: path.join(OUT, "editor-debug.png") });
    process.stdout.write(`Screenshots written to ${path.relative(process.cwd(), OUT)}/\n`);
  } finally {
    await browser.close();
    await demo.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshots: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
