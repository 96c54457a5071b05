// Removes build output so a rebuild never ships stale files: all of dist/, or only the folders named
// (`node scripts/clean.js dist/nodes dist/sim`, as the package build does, leaving the compiled tests alone).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const targets = process.argv.length > 2 ? process.argv.slice(2) : ["dist"];
for (const target of targets) {
  const full = path.resolve(root, target);
  if (!full.startsWith(path.join(root, "dist"))) throw new Error(`clean: refusing to remove ${target}, outside dist/`);
  fs.rmSync(full, { recursive: true, force: true });
}
