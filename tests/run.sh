#!/usr/bin/env bash
# Runs every test project (unit and integration; integration tests drive out/berth as root)
# and prints one summary line: "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
results=tests/results
rm -rf "$results"
mkdir -p "$results"
dotnet test Berth.sln --nologo -v quiet --logger "trx" --logger "console;verbosity=normal" \
  --results-directory "$results" 2>&1 | grep -vE '^\s*$'
status=${PIPESTATUS[0]}
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
# A build failure or crash produces no results: count it as a failure, never as a pass.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped" | tee "$results/summary.txt"
[ "$failed" -eq 0 ]
