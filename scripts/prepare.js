// npm's "prepare" lifecycle script. npm runs it in three situations, and only one needs a build here:
//  - `npm install <git url>` (and `github:owner/repo`): npm clones the repo, installs its devDependencies and runs
//    prepare before packing it. The clone has no dist/, so this builds the package (npm run build:package).
//  - `npm pack` / `npm publish`: "prepack" has just built the package; building again would only cost time.
//  - `npm ci` / `npm install` in the repository itself: the test and start commands build what they need, so a
//    contributor's install stays as fast as before.
// The repository's own installs are told apart by INIT_CWD (the folder npm was started in): it lies inside this
// package. For a git install npm starts in the user's folder and prepares the clone elsewhere.
// Everything goes to stderr, the build's output too: `npm pack --json` and `npm publish --json` print their JSON on
// stdout, and release tools parse it.
"use strict";
const { execSync } = require("node:child_process");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const command = process.env.npm_command ?? "";
const startedIn = path.resolve(process.env.INIT_CWD ?? process.cwd());
const insideRepo = startedIn === root || startedIn.startsWith(root + path.sep);

if (command === "pack" || command === "publish") {
  console.error("prepare: the package was built by prepack");
} else if (insideRepo) {
  console.error("prepare: install in the repository itself; nothing to build (npm test and npm start build)");
} else {
  console.error("prepare: building the package for an install from git");
  execSync("npm run build:package", { cwd: root, stdio: ["inherit", process.stderr, process.stderr] });
}
