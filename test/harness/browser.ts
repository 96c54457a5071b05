/**
 * Headless Chromium for the editor tests (test/browser) and the README screenshots (scripts/screenshots.ts): Debian's
 * /usr/bin/chromium driven by playwright-core, which downloads no browser of its own.
 *
 * The binary: NOOJEE_CHROMIUM, else CHROMIUM_PATH (the name `npm run screenshots` has always read), else
 * /usr/bin/chromium.
 */
import * as fs from "node:fs";
import { chromium, type Browser } from "playwright-core";

/**
 * Headless without a sandbox (containers run as root), and nothing that reaches the network or shows a first-run
 * screen. No --user-data-dir: Playwright refuses it and gives each context a fresh profile anyway.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where Chromium is expected. */
export function chromiumPath(): string {
  return process.env.NOOJEE_CHROMIUM || process.env.CHROMIUM_PATH || "/usr/bin/chromium";
}

/** Why Chromium cannot be launched here, or undefined when its binary is there. */
export function chromiumMissing(): string | undefined {
  const bin = chromiumPath();
  return fs.existsSync(bin) ? undefined : `no Chromium at ${bin} (apt-get install chromium, or set NOOJEE_CHROMIUM to its path)`;
}

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}
