#!/usr/bin/env bash
# Version matrix: the node tests (Node-RED's test helper, in-process), the end-to-end tests (the packed package in a
# real Node-RED process) and, where marked, the editor tests in Chromium, on every Node-RED / Node.js pair the package
# claims.
#
# The pairs are in scripts/matrix.json (package.json's claims and the README's Requirements are checked against it by
# test/unit/claims.test.ts). Node.js binaries come from the npm package `node` (a real binary per version); Node-RED
# installs from npm, except the release that is the repo's devDependency. Installs go to .matrix/<name>/ (gitignored)
# and are reused while their version matches. The Node-RED under test is chosen through NOOJEE_NODE_RED_DIR /
# NOOJEE_NODE_BINARY (test/harness/node-red-under-test.ts); the tarball through NOOJEE_TARBALL (CI's one tarball;
# unset, the harness packs the tree once per entry).
#
# Usage: npm run build && bash scripts/matrix.sh [entry...]      (default: every entry; names in scripts/matrix.json)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MATRIX=$ROOT/.matrix

if [ ! -d dist/test/nodes ] || [ ! -d dist/test/e2e ]; then
  echo "matrix: dist/test is missing or incomplete; run \`npm run build\` first" >&2
  exit 2
fi

# "name nodeRedInstall nodeInstall browser" per selected entry; nodeRedInstall is "repo" for the devDependency.
mapfile -t SELECTED < <(node -e '
  const m = require("./scripts/matrix.json");
  const repoNr = require("./node_modules/node-red/package.json").version;
  const wanted = process.argv.slice(1);
  const names = m.entries.map((e) => e.name);
  for (const w of wanted) if (!names.includes(w)) { console.error(`matrix: unknown entry "${w}" (entries: ${names.join(" ")})`); process.exit(2); }
  for (const e of m.entries) {
    if (wanted.length && !wanted.includes(e.name)) continue;
    const nr = m.installs[e.nodeRed] === `node-red@${repoNr}` ? "repo" : e.nodeRed;
    console.log([e.name, nr, e.node, e.browser ? "yes" : "no"].join(" "));
  }' "$@") || exit 2
[ ${#SELECTED[@]} -gt 0 ] || exit 2
declare -A WANT_VERSION=()
while read -r name spec; do WANT_VERSION[$name]=$spec; done < <(node -e '
  for (const [k, v] of Object.entries(require("./scripts/matrix.json").installs)) console.log(k, v)')

# Same timeout and reporter as .mocharc.json; --no-config because its "spec" would add every other test file.
TIMEOUT=$(node -p 'require("./.mocharc.json").timeout' 2>/dev/null || echo 20000)
REPORTER=./scripts/mocha-summary-reporter.js
SPECS=("dist/test/nodes/*.test.js" "dist/test/e2e/*.test.js")
BROWSER_SPECS=("dist/test/browser/*.test.js")

# installed_version <dir> <package>: the version in <dir>/node_modules/<package>, or nothing.
installed_version() {
  node -p "require('$1/node_modules/$2/package.json').version" 2>/dev/null || true
}

# ensure <install name>: npm install <package>@<version> into .matrix/<install name> unless it is there already.
ensure() {
  local name=$1 spec=${WANT_VERSION[$1]} dir=$MATRIX/$1 pkg want have
  pkg=${spec%@*}
  want=${spec##*@}
  have=$(installed_version "$dir" "$pkg")
  if [ "$have" = "$want" ]; then
    echo "matrix: $spec already in .matrix/$name"
    return 0
  fi
  echo "matrix: installing $spec into .matrix/$name"
  rm -rf "$dir"
  mkdir -p "$dir"
  local start=$SECONDS
  if ! npm install --no-audit --no-fund --prefix "$dir" "$spec" >"$dir.install.log" 2>&1; then
    cat "$dir.install.log" >&2
    echo "matrix: npm install $spec failed" >&2
    return 1
  fi
  have=$(installed_version "$dir" "$pkg")
  if [ "$have" != "$want" ]; then
    echo "matrix: .matrix/$name has $pkg ${have:-nothing} after installing $want" >&2
    return 1
  fi
  echo "matrix: installed $spec in $((SECONDS - start)) s"
}

# The installs side by side: each mostly waits on the registry.
failed_installs=0
declare -A ENSURED=()
install_pids=()
for e in "${SELECTED[@]}"; do
  read -r _ nr nodeinst _ <<<"$e"
  for inst in $nr $nodeinst; do
    [ "$inst" = repo ] && continue
    [ -n "${ENSURED[$inst]:-}" ] && continue
    ENSURED[$inst]=1
    ensure "$inst" &
    install_pids+=($!)
  done
done
for pid in "${install_pids[@]}"; do wait "$pid" || failed_installs=1; done
if [ $failed_installs -ne 0 ]; then
  echo "matrix: an install failed; nothing was run" >&2
  exit 1
fi

# One tarball for every entry: CI's, or one packed now (entries running side by side must not each run prepack).
if [ -z "${NOOJEE_TARBALL:-}" ]; then
  pack_dir=$(mktemp -d)
  trap 'rm -rf "$pack_dir"' EXIT
  echo "matrix: packing the package (npm pack builds it through prepack)"
  npm pack --pack-destination "$pack_dir" >"$pack_dir/pack.log" 2>&1 || { cat "$pack_dir/pack.log" >&2; exit 1; }
  NOOJEE_TARBALL=$(ls "$pack_dir"/*.tgz)
fi
export NOOJEE_TARBALL
echo "matrix: every entry installs $(basename "$NOOJEE_TARBALL")"

# The entries without the editor tests run in NOOJEE_MATRIX_JOBS lanes side by side (default 2: each is mostly
# waiting on Node-RED processes); the entries with them run afterwards, one at a time. With one lane each entry's
# output is printed as soon as it is done; otherwise it is kept in a file and printed, whole, once every lane is done.
JOBS=${NOOJEE_MATRIX_JOBS:-2}
OUT=$(mktemp -d)

# run_entry <name> <Node-RED install or "repo"> <node install> <browser yes/no>: writes $OUT/<name>.log and .result
run_entry() {
  local name=$1 nr=$2 nodeinst=$3 browser=$4 nrdir nrpkg bin version nodever start rc summary passed failed
  if [ "$nr" = repo ]; then nrdir=""; nrpkg=$ROOT/node_modules/node-red; else nrdir=$MATRIX/$nr; nrpkg=$nrdir/node_modules/node-red; fi
  bin=$MATRIX/$nodeinst/node_modules/.bin/node
  version=$(node -p "require('$nrpkg/package.json').version")
  nodever=$("$bin" --version)
  local specs=("${SPECS[@]}") what=""
  if [ "$browser" = yes ]; then specs+=("${BROWSER_SPECS[@]}"); what=" (with the editor tests)"; fi
  local log=$OUT/$name.log
  echo "== $name: Node-RED $version on Node $nodever$what ==" >"$log"
  start=$SECONDS
  NOOJEE_NODE_RED_DIR=$nrdir NOOJEE_NODE_BINARY=$bin \
    "$bin" node_modules/mocha/bin/mocha.js --no-config --reporter "$REPORTER" --timeout "$TIMEOUT" "${specs[@]}" >>"$log" 2>&1
  rc=$?
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -n "$summary" ]; then
    passed=${summary%% passed*}
    failed=${summary#*passed, }
    failed=${failed%% failed*}
  else
    # mocha died before its summary (e.g. a load error): count the entry as one failure.
    passed=0
    failed=1
  fi
  # A non-zero exit with no failed test (e.g. a crash after the run) still fails the entry.
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  local verdict=ok
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then verdict="FAILED (exit $rc)"; fi
  printf '%s %s %s\n' "$passed" "$failed" \
    "$(printf '%-11s Node-RED %-7s Node %-9s %4s passed, %s failed, %4s s, %s' "$name" "$version" "$nodever" "$passed" "$failed" "$((SECONDS - start))" "$verdict")" \
    >"$OUT/$name.result"
}

# Lanes: the entries without browser tests side by side (JOBS lanes), then those with them one at a time, alone on
# the machine (two Node-RED editors racing in Chromium on two cores made Node-RED 5's editor tests flaky).
run_lanes() {
  local jobs=$1 lane i
  shift
  local entries=("$@")
  [ ${#entries[@]} -gt 0 ] || return 0
  [ "$jobs" -gt ${#entries[@]} ] && jobs=${#entries[@]}
  for ((lane = 0; lane < jobs; lane++)); do
    (
      for ((i = lane; i < ${#entries[@]}; i += jobs)); do
        read -r name nr nodeinst browser <<<"${entries[$i]}"
        echo "matrix: lane $((lane + 1)) of $jobs: $name"
        run_entry "$name" "$nr" "$nodeinst" "$browser"
        # One lane: show each entry as soon as it is done, rather than all at the end.
        if [ "$jobs" -eq 1 ]; then echo; cat "$OUT/$name.log"; touch "$OUT/$name.shown"; fi
      done
    ) &
  done
  wait
}
PLAIN=()
WITH_BROWSER=()
for e in "${SELECTED[@]}"; do
  if [[ $e == *" yes" ]]; then WITH_BROWSER+=("$e"); else PLAIN+=("$e"); fi
done
start=$SECONDS
run_lanes "$JOBS" "${PLAIN[@]}"
run_lanes 1 "${WITH_BROWSER[@]}"
echo "matrix: all entries done in $((SECONDS - start)) s ($JOBS lanes without the browser, 1 with it)"

TOTAL_PASSED=0
TOTAL_FAILED=0
RESULTS=()
for e in "${SELECTED[@]}"; do
  read -r name _ <<<"$e"
  if [ ! -f "$OUT/$name.shown" ]; then echo; cat "$OUT/$name.log"; fi
  if [ -f "$OUT/$name.result" ]; then
    read -r passed failed result <"$OUT/$name.result"
  else
    passed=0 failed=1 result="$name: no result (the lane died)"
  fi
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  RESULTS+=("$result")
done
rm -rf "$OUT"

echo
echo "== Matrix results =="
for r in "${RESULTS[@]}"; do echo "  $r"; done
echo "matrix: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
