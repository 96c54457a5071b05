#!/usr/bin/env bash
# Version matrix: the node tests (Node-RED's test helper, in-process), the end-to-end tests (the packed package in a
# real Node-RED process) and, where marked, the editor tests in Chromium, on every Node-RED / Node.js pair the package
# claims. package.json "engines.node" and "node-red.version" claim exactly these: the oldest pair is their floor.
#
#   entry        Node-RED   Node.js    browser tests
#   nr3-node20   3.1.15     20.19.0    yes   (the floor of both claims)
#   nr4-node20   4.1.x      20.20.2          (4.1 is the repo's devDependency)
#   nr4-node22   4.1.x      22.23.3
#   nr4-node24   4.1.x      24.x
#   nr5-node22   5.0.7      22.23.3    yes
#   nr5-node24   5.0.7      24.x
#
# Node.js binaries come from the npm package `node` (a real binary per version); Node-RED installs from npm. Both go to
# .matrix/<name>/ (gitignored) and are reused while their version matches. The Node-RED under test is chosen through
# NOOJEE_NODE_RED_DIR / NOOJEE_NODE_BINARY (test/harness/node-red-under-test.ts); the tarball through NOOJEE_TARBALL
# (CI's one tarball; unset, the harness packs the tree once per entry).
#
# Usage: npm run build && bash scripts/matrix.sh [entry...]      (default: every entry)
# Versions can be overridden: NOOJEE_MATRIX_NR3, NOOJEE_MATRIX_NR5, NOOJEE_MATRIX_NODE20_FLOOR, NOOJEE_MATRIX_NODE20,
# NOOJEE_MATRIX_NODE22, NOOJEE_MATRIX_NODE24.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MATRIX=$ROOT/.matrix

NR3_VERSION=${NOOJEE_MATRIX_NR3:-3.1.15}
NR5_VERSION=${NOOJEE_MATRIX_NR5:-5.0.7}
NODE20_FLOOR=${NOOJEE_MATRIX_NODE20_FLOOR:-20.19.0}
NODE20_VERSION=${NOOJEE_MATRIX_NODE20:-20.20.2}
NODE22_VERSION=${NOOJEE_MATRIX_NODE22:-22.23.3}
NODE24_VERSION=${NOOJEE_MATRIX_NODE24:-24.21.0}

# name | Node-RED install (.matrix dir, or "repo" for the devDependency) | node install (.matrix dir) | browser tests
ALL_ENTRIES=(
  "nr3-node20|nr3|node20.19|yes"
  "nr4-node20|repo|node20|no"
  "nr4-node22|repo|node22|no"
  "nr4-node24|repo|node24|no"
  "nr5-node22|nr5|node22|yes"
  "nr5-node24|nr5|node24|no"
)
declare -A WANT_VERSION=(
  [nr3]="node-red@$NR3_VERSION" [nr5]="node-red@$NR5_VERSION"
  [node20.19]="node@$NODE20_FLOOR" [node20]="node@$NODE20_VERSION" [node22]="node@$NODE22_VERSION" [node24]="node@$NODE24_VERSION"
)

if [ ! -d dist/test/nodes ] || [ ! -d dist/test/e2e ]; then
  echo "matrix: dist/test is missing or incomplete; run \`npm run build\` first" >&2
  exit 2
fi

SELECTED=()
if [ $# -eq 0 ]; then
  SELECTED=("${ALL_ENTRIES[@]}")
else
  for want in "$@"; do
    found=""
    for e in "${ALL_ENTRIES[@]}"; do [ "${e%%|*}" = "$want" ] && found=$e; done
    if [ -z "$found" ]; then
      echo "matrix: unknown entry '$want' (entries: $(for e in "${ALL_ENTRIES[@]}"; do printf '%s ' "${e%%|*}"; done))" >&2
      exit 2
    fi
    SELECTED+=("$found")
  done
fi

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

failed_installs=0
declare -A ENSURED=()
for e in "${SELECTED[@]}"; do
  IFS='|' read -r _ nr nodeinst _ <<<"$e"
  for inst in $nr $nodeinst; do
    [ "$inst" = repo ] && continue
    [ -n "${ENSURED[$inst]:-}" ] && continue
    ENSURED[$inst]=1
    ensure "$inst" || failed_installs=1
  done
done
if [ $failed_installs -ne 0 ]; then
  echo "matrix: an install failed; nothing was run" >&2
  exit 1
fi

TOTAL_PASSED=0
TOTAL_FAILED=0
RESULTS=()
STATUS=0

# run_entry <name> <Node-RED install or "repo"> <node install> <browser yes/no>
run_entry() {
  local name=$1 nr=$2 nodeinst=$3 browser=$4 nrdir nrpkg bin version nodever log start rc summary passed failed
  if [ "$nr" = repo ]; then nrdir=""; nrpkg=$ROOT/node_modules/node-red; else nrdir=$MATRIX/$nr; nrpkg=$nrdir/node_modules/node-red; fi
  bin=$MATRIX/$nodeinst/node_modules/.bin/node
  version=$(node -p "require('$nrpkg/package.json').version")
  nodever=$("$bin" --version)
  local specs=("${SPECS[@]}")
  [ "$browser" = yes ] && specs+=("${BROWSER_SPECS[@]}")
  echo
  echo "== $name: Node-RED $version on Node $nodever${browser/#yes/ (with the editor tests)}${browser/#no/} =="
  log=$(mktemp)
  start=$SECONDS
  NOOJEE_NODE_RED_DIR=$nrdir NOOJEE_NODE_BINARY=$bin \
    "$bin" node_modules/mocha/bin/mocha.js --no-config --reporter "$REPORTER" --timeout "$TIMEOUT" "${specs[@]}" 2>&1 |
    tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  rm -f "$log"
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
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  local verdict=ok
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
    verdict="FAILED (exit $rc)"
    STATUS=1
  fi
  RESULTS+=("$(printf '%-11s Node-RED %-7s Node %-9s %4s passed, %s failed, %4s s, %s' "$name" "$version" "$nodever" "$passed" "$failed" "$((SECONDS - start))" "$verdict")")
}

for e in "${SELECTED[@]}"; do
  IFS='|' read -r name nr nodeinst browser <<<"$e"
  run_entry "$name" "$nr" "$nodeinst" "$browser"
done

echo
echo "== Matrix results =="
for r in "${RESULTS[@]}"; do echo "  $r"; done
echo "matrix: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit $STATUS
