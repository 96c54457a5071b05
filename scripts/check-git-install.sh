#!/usr/bin/env bash
# Installs the package the way `npm install <git url>` does, from this repository's committed HEAD, into a fresh
# folder, and checks that the install holds the built nodes. npm clones the repository, installs its devDependencies,
# runs "prepare" (scripts/prepare.js builds there) and packs it: no dist/ is committed, so without that build the
# install would register no node at all.
#
# Usage: bash scripts/check-git-install.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo '{ "name": "git-install-check", "private": true }' >"$work/package.json"
start=$SECONDS
if ! (cd "$work" && npm install --no-audit --no-fund "git+file://$ROOT#$(git -C "$ROOT" rev-parse HEAD)" >"$work/install.log" 2>&1); then
  cat "$work/install.log"
  echo "check-git-install: FAIL: npm install from git failed"
  exit 1
fi
installed=$work/node_modules/node-red-contrib-noojee
missing=$(node -e '
  const fs = require("fs"), path = require("path");
  const dir = process.argv[1];
  const pkg = require(path.join(dir, "package.json"));
  for (const js of Object.values(pkg["node-red"].nodes))
    for (const f of [js, js.replace(/\.js$/, ".html")]) if (!fs.existsSync(path.join(dir, f))) console.log(f);
  for (const bin of Object.values(pkg.bin || {})) if (!fs.existsSync(path.join(dir, bin))) console.log(bin);
' "$installed")
if [ -n "$missing" ]; then
  echo "check-git-install: FAIL: the install from git lacks: $(echo "$missing" | tr '\n' ' ')"
  exit 1
fi
if [ -d "$installed/dist/test" ] || [ -d "$installed/test" ]; then
  echo "check-git-install: FAIL: the install from git ships tests"
  exit 1
fi
echo "check-git-install: OK: npm install from git built and installed every node ($((SECONDS - start)) s)"
