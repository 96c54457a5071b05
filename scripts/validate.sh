#!/usr/bin/env bash
# Flows-library readiness: runs `node-red-dev validate` (the checks the Node-RED Flows library shows as the
# package's scorecard) on the built working tree, prints its output, and fails on anything but accepted warnings.
#
# node-red-dev fetches the Flows catalogue, which this network cannot reach; a preload answers that request with an
# empty catalogue (so P08 "similar names" and N01 "unique node names" pass without being checked). Its path:
#   NOOJEE_OFFLINE_CATALOGUE   default ../shared/tools/offline-catalogue.cjs beside the repo; set it to "" to run
#                              online with no preload.
# Warnings that are accepted (printed, not failed), as an extended regex on the warning text:
#   NOOJEE_VALIDATE_ALLOWED    default '^P04 ' (new packages SHOULD use a scoped name: this package keeps the
#                              node-red-contrib-* name on purpose)
#
# It fails when: the tool exits non-zero or never prints "Complete"; it prints "Unable to parse" (an editor file it
# could not read: its node checks then pass without checking anything), "Unable to read example", or an error; any
# warning is not accepted; or its scorecard has a failed check that no accepted warning explains.
#
# Usage: npm run build && bash scripts/validate.sh      (the editor files it checks are those in dist/nodes/)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CATALOGUE=${NOOJEE_OFFLINE_CATALOGUE-$ROOT/../shared/tools/offline-catalogue.cjs}
ALLOWED=${NOOJEE_VALIDATE_ALLOWED-^P04 }
# node-red-dev is installed on demand beside the project, not as a devDependency: it pulls ~400 old packages
# (axios 0.21 among them) that nothing else needs, and would slow every `npm ci`.
NODE_RED_DEV_VERSION=${NOOJEE_NODE_RED_DEV_VERSION-0.1.6}
TOOLS=$ROOT/.tools/node-red-dev-$NODE_RED_DEV_VERSION
BIN=$TOOLS/node_modules/.bin/node-red-dev

if [ ! -x "$BIN" ]; then
  echo "validate: installing node-red-dev@$NODE_RED_DEV_VERSION into ${TOOLS#"$ROOT"/}"
  mkdir -p "$TOOLS"
  # Its dependencies are resolved afresh from the registry: a registry briefly out of step (a version listed by a
  # dependent but not yet served, ETARGET) fails one install, so try again once, a little later.
  install() { npm install --no-audit --no-fund --loglevel=error --prefix "$TOOLS" "node-red-dev@$NODE_RED_DEV_VERSION" >"$TOOLS/install.log" 2>&1; }
  if ! install && ! { sleep 20; echo "validate: install failed, retrying once" >&2; install; }; then
    cat "$TOOLS/install.log" >&2
    echo "validate: could not install node-red-dev" >&2
    exit 2
  fi
fi
missing=$(node -e '
  const pkg = require("./package.json");
  const fs = require("fs");
  for (const js of Object.values(pkg["node-red"].nodes)) {
    const html = js.replace(/\.js$/, ".html");
    for (const f of [js, html]) if (!fs.existsSync(f)) console.log(f);
  }')
if [ -n "$missing" ]; then
  echo "validate: missing $(echo "$missing" | tr '\n' ' ')- run \`npm run build\` first" >&2
  exit 2
fi

node_options=${NODE_OPTIONS:-}
if [ -n "$CATALOGUE" ]; then
  if [ ! -f "$CATALOGUE" ]; then
    echo "validate: offline catalogue preload not found at $CATALOGUE (set NOOJEE_OFFLINE_CATALOGUE)" >&2
    exit 2
  fi
  CATALOGUE=$(cd "$(dirname "$CATALOGUE")" && pwd)/$(basename "$CATALOGUE")
  node_options="--require $CATALOGUE${node_options:+ $node_options}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/output.txt
scorecard=$work/scorecard.json

echo "== node-red-dev validate ($("$BIN" --version 2>/dev/null | head -n 1)) =="
NODE_OPTIONS=$node_options timeout 300 "$BIN" validate --output "$scorecard" </dev/null >"$out" 2>&1
rc=$?
cat "$out"
echo

problems=()
[ $rc -ne 0 ] && problems+=("node-red-dev exited with code $rc")
grep -q '^Complete$' "$out" || problems+=("node-red-dev did not complete")
while IFS= read -r line; do problems+=("$line"); done < <(grep -E 'Unable to parse|Unable to read example' "$out")
while IFS= read -r line; do problems+=("error: $line"); done < <(grep -E '^ *(›|»)? *Error:' "$out")

# oclif prints warnings as " ›   Warning: <text>".
accepted=()
while IFS= read -r text; do
  if [ -n "$ALLOWED" ] && [[ $text =~ $ALLOWED ]]; then
    accepted+=("$text")
  else
    problems+=("warning: $text")
  fi
done < <(sed -nE 's/^ *(›|»)? *Warning: *//p' "$out")

# Failed checks in the scorecard (a check id such as P06 or D01 with test: false), unless an accepted warning names it.
if [ -f "$scorecard" ]; then
  while IFS= read -r id; do
    explained=no
    for a in "${accepted[@]+"${accepted[@]}"}"; do [[ $a == "$id "* ]] && explained=yes; done
    [ $explained = no ] && problems+=("failed check $id: $(node -p "JSON.stringify(require('$scorecard')['$id'])")")
  done < <(node -e '
    const card = require(process.argv[1]);
    for (const [id, v] of Object.entries(card)) if (v && typeof v === "object" && v.test === false) console.log(id);
  ' "$scorecard")
elif [ $rc -eq 0 ]; then
  problems+=("node-red-dev wrote no scorecard")
fi

for a in "${accepted[@]+"${accepted[@]}"}"; do echo "validate: accepted warning: $a"; done
if [ ${#problems[@]} -ne 0 ]; then
  for p in "${problems[@]}"; do echo "validate: FAIL: $p"; done
  echo "validate: the package is not ready for the Flows library"
  exit 1
fi
echo "validate: OK, the package passes node-red-dev validate"
