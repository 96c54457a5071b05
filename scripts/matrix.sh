#!/usr/bin/env bash
# Version matrix: the node tests (Node-RED's test helper) and the end-to-end test (packed package in a real
# Node-RED process) on
#   - Node-RED 3.1.x on this machine's node (Node 20),
#   - Node-RED 4.1.x, the repo's devDependency, on this machine's node,
#   - Node-RED 5.0.x on Node 22 from the npm package node@22 (Node-RED 5 refuses to start on Node 20).
# The extra installs go to .matrix/<name>/ (gitignored) and are reused while their version matches.
# The Node-RED under test is chosen through NOOJEE_NODE_RED_DIR / NOOJEE_NODE_BINARY (test/harness/node-red-under-test.ts).
#
# Usage: npm run build && bash scripts/matrix.sh [entry...]    entries: nr3 nr4 nr5 (default: all three)
# Versions can be overridden: NOOJEE_MATRIX_NR3=3.1.14 NOOJEE_MATRIX_NR5=5.0.4 NOOJEE_MATRIX_NODE22=22.9.0
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MATRIX=$ROOT/.matrix

NR3_VERSION=${NOOJEE_MATRIX_NR3:-3.1.15}
NR5_VERSION=${NOOJEE_MATRIX_NR5:-5.0.7}
NODE22_VERSION=${NOOJEE_MATRIX_NODE22:-22.23.3}

if [ ! -d dist/test/nodes ] || [ ! -d dist/test/e2e ] || [ ! -d dist/nodes ]; then
  echo "matrix: dist/ is missing or incomplete; run \`npm run build\` first" >&2
  exit 2
fi

ENTRIES=("$@")
[ ${#ENTRIES[@]} -eq 0 ] && ENTRIES=(nr3 nr4 nr5)
for e in "${ENTRIES[@]}"; do
  case $e in nr3 | nr4 | nr5) ;; *) echo "matrix: unknown entry '$e' (use nr3, nr4, nr5)" >&2; exit 2 ;; esac
done
wants() { [[ " ${ENTRIES[*]} " == *" $1 "* ]]; }

# Same timeout and reporter as .mocharc.json; --no-config because its "spec" would add every other test file.
TIMEOUT=$(node -p 'require("./.mocharc.json").timeout' 2>/dev/null || echo 20000)
REPORTER=./scripts/mocha-summary-reporter.js
SPECS=("dist/test/nodes/*.test.js" "dist/test/e2e/*.test.js")

# installed_version <dir> <package>: the version in <dir>/node_modules/<package>, or nothing.
installed_version() {
  node -p "require('$1/node_modules/$2/package.json').version" 2>/dev/null || true
}

# ensure <name> <package> <version>: npm install <package>@<version> into .matrix/<name> unless it is there already.
ensure() {
  local dir=$MATRIX/$1 pkg=$2 want=$3 have
  have=$(installed_version "$dir" "$pkg")
  if [ "$have" = "$want" ]; then
    echo "matrix: $pkg@$want already in .matrix/$1"
    return 0
  fi
  echo "matrix: installing $pkg@$want into .matrix/$1"
  mkdir -p "$dir"
  local start=$SECONDS
  if ! npm install --no-audit --no-fund --prefix "$dir" "$pkg@$want" >"$dir.install.log" 2>&1; then
    cat "$dir.install.log" >&2
    echo "matrix: npm install $pkg@$want failed" >&2
    return 1
  fi
  have=$(installed_version "$dir" "$pkg")
  if [ "$have" != "$want" ]; then
    echo "matrix: .matrix/$1 has $pkg ${have:-nothing} after installing $want" >&2
    return 1
  fi
  echo "matrix: installed $pkg@$want in $((SECONDS - start)) s"
}

failed_installs=0
if wants nr3; then ensure nr3 node-red "$NR3_VERSION" || failed_installs=1; fi
if wants nr5; then
  ensure nr5 node-red "$NR5_VERSION" || failed_installs=1
  ensure node22 node "$NODE22_VERSION" || failed_installs=1
fi
if [ $failed_installs -ne 0 ]; then
  echo "matrix: an install failed; nothing was run" >&2
  exit 1
fi

TOTAL_PASSED=0
TOTAL_FAILED=0
RESULTS=()
STATUS=0

# run_entry <name> <node-red dir or ""> <node binary>
run_entry() {
  local name=$1 nrdir=$2 bin=$3 nrpkg version nodever log start rc summary passed failed
  if [ -n "$nrdir" ]; then nrpkg=$nrdir/node_modules/node-red; else nrpkg=$ROOT/node_modules/node-red; fi
  version=$(node -p "require('$nrpkg/package.json').version")
  nodever=$("$bin" --version)
  echo
  echo "== Node-RED $version on Node $nodever =="
  log=$(mktemp)
  start=$SECONDS
  NOOJEE_NODE_RED_DIR=$nrdir NOOJEE_NODE_BINARY=$bin \
    "$bin" node_modules/mocha/bin/mocha.js --no-config --reporter "$REPORTER" --timeout "$TIMEOUT" "${SPECS[@]}" 2>&1 |
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
  RESULTS+=("Node-RED $version on Node $nodever: $passed passed, $failed failed, $((SECONDS - start)) s, $verdict")
}

if wants nr3; then run_entry nr3 "$MATRIX/nr3" "$(command -v node)"; fi
if wants nr4; then run_entry nr4 "" "$(command -v node)"; fi
if wants nr5; then run_entry nr5 "$MATRIX/nr5" "$MATRIX/node22/node_modules/.bin/node"; fi

echo
echo "== Matrix results =="
for r in "${RESULTS[@]}"; do echo "  $r"; done
echo "matrix: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit $STATUS
