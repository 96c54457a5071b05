#!/usr/bin/env bash
# Release hygiene, as a publish would see it:
#   1. `npm publish --dry-run`: prints the packed size, unpacked size and file count, and fails past the budget below
#      (set from the 1.0.0 figures: 104.7 kB packed, 403.5 kB unpacked, 86 files, with room for small growth; the files
#      raised to 120 with presence and caller IDs: 113.0 kB, 464.8 kB, 106 files, comments left out of the build; raised
#      to 145 kB, 600 kB and 135 files with 1.2.0's crash-proof state, which adds ten modules: 134.6 kB, 550.1 kB,
#      125 files; to 165 kB, 680 kB and 150 files with 1.2.0's trusted presence and phonebook (vanished calls, the
#      presence variable and its wiring, the CSV reader, number forms, countries) and the rest of crash-proof state
#      (early read, late subscribers, held polls): 150.8 kB, 608.4 kB, 137 files); to 190 kB, 760 kB and 165 files with
#      1.2.0's first hour (an icon per node, the shared extension syntax and editor resources, TLS and redirect
#      messages, grouped config help) and PBX lives in the saved position: 173.3 kB, 696.0 kB, 148 files; to 205 kB,
#      820 kB and 175 files with 1.2.0's replicas (the lease, fenced position, replicated hub, standby mirror, Redis
#      URL and check, the config dialog's Replicas group): 184.9 kB, 745.2 kB, 160 files. A jump past it usually
#      means something that must never ship (tests, fixtures, source maps, TypeScript) got in.
#   2. `npm audit --omit=dev`: the runtime dependency tree must have no known vulnerability. Where the registry's
#      advisory service cannot be reached (this network answers its endpoint with 405), the step says so and is
#      skipped; any vulnerability it does report fails.
# Budgets can be overridden: NOOJEE_BUDGET_PACKED_KB, NOOJEE_BUDGET_UNPACKED_KB, NOOJEE_BUDGET_FILES.
#
# Usage: bash scripts/release-check.sh       (runs prepack, so it builds the package like a publish does)
set -uo pipefail
cd "$(dirname "$0")/.."

BUDGET_PACKED_KB=${NOOJEE_BUDGET_PACKED_KB:-205}
BUDGET_UNPACKED_KB=${NOOJEE_BUDGET_UNPACKED_KB:-820}
BUDGET_FILES=${NOOJEE_BUDGET_FILES:-175}
status=0

out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
if ! npm publish --dry-run --json >"$out" 2>"$err"; then
  cat "$err" >&2
  echo "release-check: npm publish --dry-run failed" >&2
  exit 1
fi
# stdout may start with lifecycle output; the JSON object is the rest from the first line that is "{".
read -r name version size unpacked files < <(sed -n '/^{/,$p' "$out" | node -e '
  let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
    let j = JSON.parse(s); if (!j.size && Object.keys(j).length === 1) j = Object.values(j)[0];
    console.log(j.name, j.version, j.size, j.unpackedSize, j.entryCount);
  });')
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
echo "release-check: $name@$version: $(kb "$size") kB packed (budget $BUDGET_PACKED_KB), $(kb "$unpacked") kB unpacked (budget $BUDGET_UNPACKED_KB), $files files (budget $BUDGET_FILES)"
over() { awk -v v="$1" -v b="$2" 'BEGIN { exit !(v > b) }'; }
if over "$size" $((BUDGET_PACKED_KB * 1024)); then echo "release-check: FAIL: packed size over budget"; status=1; fi
if over "$unpacked" $((BUDGET_UNPACKED_KB * 1024)); then echo "release-check: FAIL: unpacked size over budget"; status=1; fi
if over "$files" "$BUDGET_FILES"; then echo "release-check: FAIL: file count over budget"; status=1; fi

audit=$(npm audit --omit=dev 2>&1)
audit_rc=$?
if [ $audit_rc -eq 0 ]; then
  echo "release-check: npm audit --omit=dev: $(echo "$audit" | tail -n 1)"
elif echo "$audit" | grep -qE 'audit endpoint returned an error|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN'; then
  echo "release-check: npm audit --omit=dev: the advisory service is unreachable from here ($(echo "$audit" | grep -m1 -oE '[0-9]{3} [A-Za-z ]+ - POST|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN')); not checked"
else
  echo "$audit"
  echo "release-check: FAIL: npm audit --omit=dev reports vulnerabilities in the runtime tree"
  status=1
fi

[ $status -eq 0 ] && echo "release-check: OK"
exit $status
