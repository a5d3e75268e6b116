#!/bin/sh
# Runs every test: Swift unit tests, then the integration suite (bats, as root, real
# containers) against the release binary. The last line counts both: "N passed, N failed".
set -u
BIN=${1:?usage: check.sh path/to/skiff}
cd "$(dirname "$0")/.."
log=$(mktemp)
swift build --build-tests >/dev/null 2>&1 || swift build --build-tests
swift test --skip-build 2>&1 | tee "$log"
unit_failed=0
grep -qE "Test run with [0-9]+ tests? (in [0-9]+ suites? )?passed" "$log" || unit_failed=1
unit_n=$(grep -oE "Test run with [0-9]+ tests?" "$log" | grep -oE "[0-9]+" | tail -1)
unit_n=${unit_n:-0}
RUNTIME="$BIN" Tests/integration/run.sh > "$log.int" 2>&1
int_rc=$?
cat "$log.int"
last=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$log.int" | tail -1)
ip=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/'); ip=${ip:-0}
if_=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/'); if_=${if_:-1}
rm -f "$log" "$log.int"
if [ "$unit_failed" -eq 0 ]; then passed=$((unit_n + ip)); failed=$if_; else passed=$ip; failed=$((if_ + 1)); fi
echo
echo "unit tests: $unit_n ($( [ $unit_failed -eq 0 ] && echo ok || echo FAILED )); integration: $ip passed, $if_ failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$int_rc" -eq 0 ]
