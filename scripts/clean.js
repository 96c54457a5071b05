// Removes the build output so a rebuild never ships stale files.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

fs.rmSync(path.join(__dirname, "..", "dist"), { recursive: true, force: true });
