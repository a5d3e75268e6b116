#!/usr/bin/env bash
# Run skiff's integration tests.
#
#   Tests/integration/run.sh [FILE...]          all *.bats here, or the given ones
#   RUNTIME=/usr/sbin/runc Tests/integration/run.sh lifecycle errors.bats
#
# FILE may be a path, a file name in this directory, or a name without ".bats".
# The runtime defaults to <repo>/.build/release/skiff. Needs root, bats, jq, busybox-static.
# Prints the TAP stream, then as its last line "N passed, N failed" (", N skipped" if any);
# exits non-zero if a test failed or something was left behind.
#
# crun 1.8.1 refuses this machine's hybrid cgroup layout (hugetlb is on cgroup2); run it in a
# private mount namespace without the cgroup2 mount:
#   unshare -m --propagation private sh -c \
#     'umount /sys/fs/cgroup/unified && RUNTIME=/usr/bin/crun Tests/integration/run.sh'
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export RUNTIME="${RUNTIME:-$REPO/.build/release/skiff}"

for tool in bats jq; do
	command -v "$tool" >/dev/null || {
		echo "run.sh: $tool is not installed" >&2
		exit 2
	}
done
[ "$(id -u)" = 0 ] || echo "run.sh: warning: not root; most tests need root" >&2
[ -x "$RUNTIME" ] || echo "run.sh: warning: RUNTIME=$RUNTIME is not executable; every test will fail" >&2

files=()
if [ $# -eq 0 ]; then
	files=("$HERE"/*.bats)
else
	for f in "$@"; do
		if [ -f "$f" ]; then
			files+=("$f")
		elif [ -f "$HERE/$f" ]; then
			files+=("$HERE/$f")
		elif [ -f "$HERE/$f.bats" ]; then
			files+=("$HERE/$f.bats")
		else
			echo "run.sh: no such test file: $f" >&2
			exit 2
		fi
	done
fi

echo "# runtime: $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -n 1))"

tap="$(mktemp /tmp/skiff-it-tap.XXXXXX)"
trap 'rm -f "$tap"' EXIT
bats --tap "${files[@]}" | tee "$tap"
bats_rc=${PIPESTATUS[0]}

planned="$(grep -E '^1\.\.[0-9]+$' "$tap" | head -n 1 | cut -d. -f3)"
planned="${planned:-0}"
skipped="$(grep -cE '^ok [0-9]+ .*# skip( |$)' "$tap")"
oks="$(grep -cE '^ok [0-9]+' "$tap")"
passed=$((oks - skipped))
failed="$(grep -cE '^not ok [0-9]+' "$tap")"
# Tests that never reported (bats died) count as failed.
missing=$((planned - oks - failed))
[ "$missing" -gt 0 ] && failed=$((failed + missing))

# Anything left by a test that has finished? (Each test checks its own; this catches the rest.)
# Other suites may run at the same time on this machine: a cgroup or mount is only reported
# when its test dir (${SKIFF_TEST_TMP:-/tmp}/skt-<uniq>) is gone, i.e. its test is over.
tmpbase="${SKIFF_TEST_TMP:-/tmp}"
leftover=0
for h in $(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5; break } }' /proc/self/mountinfo); do
	[ -d "$h/skiff-test" ] || continue
	for d in "$h/skiff-test"/*/; do
		[ -d "$d" ] || continue
		uniq="$(basename "$d")"
		uniq="${uniq%%-*}"
		[ -d "$tmpbase/skt-$uniq" ] && continue
		echo "# LEFTOVER cgroup: $d"
		leftover=1
	done
	rmdir "$h/skiff-test" 2>/dev/null
done
for m in $(awk -v t="$tmpbase/skt-" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo); do
	d="${m#"$tmpbase"/}"
	[ -d "$tmpbase/${d%%/*}" ] && continue
	echo "# LEFTOVER mount: $m"
	leftover=1
done
if [ -e /host-escape ]; then
	echo "# LEFTOVER: /host-escape exists on the host"
	leftover=1
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary+=", $skipped skipped"
echo "$summary"

if [ "$failed" -gt 0 ] || [ "$leftover" -ne 0 ] || [ "$bats_rc" -ne 0 ]; then
	exit 1
fi
exit 0
