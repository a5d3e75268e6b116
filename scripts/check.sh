#!/bin/sh
# Runs every test: Swift unit tests, the integration suite (bats, as root, real containers),
# the spec-conformance suite and the client battery (docker, podman and containerd driving
# skiff, with runc and crun as references; it installs the clients from Debian), against the
# release binary. The last line counts them all: "N passed, N failed".
# CHECK_CLIENTS=0 leaves the client battery out (said so in the summary).
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
echo
echo "# conformance suite (conformance/run.sh)"
conformance/run.sh --runtime "$BIN" > "$log.conf" 2>&1
conf_rc=$?
cat "$log.conf"
echo
echo "# client battery (conformance/clients/run.sh: skiff under test, runc and crun as references)"
if [ "${CHECK_CLIENTS:-1}" = 0 ]; then
	echo "# CHECK_CLIENTS=0: client battery NOT run"
	echo "0 passed, 0 failed (not run)" > "$log.cli"
	cli_rc=0
else
	cli_start=$(date +%s)
	conformance/clients/run.sh "$BIN" /usr/sbin/runc /usr/bin/crun > "$log.cli" 2>&1
	cli_rc=$?
	cat "$log.cli"
	echo "# client battery took $(( $(date +%s) - cli_start )) s"
fi
counts() { # file -> "passed failed" from its last "N passed, N failed" line (failed=1 if none)
	l=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
	p=$(echo "$l" | sed -E 's/^([0-9]+) passed.*/\1/'); f=$(echo "$l" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	echo "${p:-0} ${f:-1}"
}
set -- $(counts "$log.int"); ip=$1; if_=$2
set -- $(counts "$log.conf"); cp=$1; cf=$2
set -- $(counts "$log.cli"); bp=$1; bf=$2
rm -f "$log" "$log.int" "$log.conf" "$log.cli"
if [ "$unit_failed" -eq 0 ]; then passed=$((unit_n + ip + cp + bp)); failed=$((if_ + cf + bf)); else passed=$((ip + cp + bp)); failed=$((if_ + cf + bf + 1)); fi
echo
echo "unit tests: $unit_n ($( [ $unit_failed -eq 0 ] && echo ok || echo FAILED )); integration: $ip passed, $if_ failed; conformance: $cp passed, $cf failed; client battery: $bp passed, $bf failed$( [ "${CHECK_CLIENTS:-1}" = 0 ] && echo ' (NOT RUN: CHECK_CLIENTS=0)')"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$int_rc" -eq 0 ] && [ "$conf_rc" -eq 0 ] && [ "$cli_rc" -eq 0 ]
