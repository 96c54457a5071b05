// Places the editor files, locale catalogues and icons beside the compiled nodes:
// Node-RED looks for `<node>.html`, `locales/` and `icons/` next to each node's .js file.
// Also makes the simulator's command (package.json "bin") executable: tsc keeps its shebang but not a file mode.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const out = path.join(root, "dist", "nodes");

fs.mkdirSync(out, { recursive: true });
for (const file of fs.readdirSync(path.join(root, "nodes"))) {
  if (file.endsWith(".html")) {
    fs.copyFileSync(path.join(root, "nodes", file), path.join(out, file));
  }
}
fs.cpSync(path.join(root, "nodes", "locales"), path.join(out, "locales"), { recursive: true });
fs.cpSync(path.join(root, "icons"), path.join(out, "icons"), { recursive: true });

fs.chmodSync(path.join(root, "dist", "sim", "cli.js"), 0o755);
