/**
 * What a container restart without a volume does to a Node-RED user directory: every file goes but those the image
 * brings back (the settings, the installed packages) and the flows with their credentials (which FlowFuse and most
 * container set-ups keep apart). The resume file and the default localfilesystem context go with the rest.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const KEPT = new Set(["flows.json", "flows_cred.json", "settings.js", "package.json", "package-lock.json", "node_modules"]);

/** Deletes what a container restart loses; returns the names deleted. */
export function wipeUserDir(userDir: string): string[] {
  const removed = fs.readdirSync(userDir).filter((name) => !KEPT.has(name));
  for (const name of removed) fs.rmSync(path.join(userDir, name), { recursive: true, force: true });
  return removed;
}
