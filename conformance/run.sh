#!/usr/bin/env bash
# The OCI runtime-spec conformance suite.
#
#   conformance/run.sh [--runtime PATH] [--json FILE] [--keep] [--list] [CASE...]
#
# CASE: a case name or a shell pattern ('hooks_*'); default: every case. The runtime defaults to
# $RUNTIME or $(dirname "$HERE")/.build/release/skiff. Output: TAP, one test per case (plus a final leak check), the
# skips named with their reason, and as the last line "N passed, N failed, N skipped".
# Exit status: 0 when nothing failed, 1 otherwise, 2 on a usage error.
#
# Needs root, gcc (static glibc: libc6-dev), busybox (static), python3.
#
# crun 1.8.1 refuses a hybrid cgroup layout whose cgroup2 mount has a controller (here hugetlb):
# for a runtime named crun* the suite re-runs itself in a private mount namespace without the
# cgroup2 mount at /sys/fs/cgroup/unified (CONFORMANCE_NO_UNSHARE=1 turns this off).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

runtime="${RUNTIME:-$(dirname "$HERE")/.build/release/skiff}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case "${args[$i]}" in
	--runtime) runtime="${args[$((i + 1))]:-}" ;;
	--runtime=*) runtime="${args[$i]#--runtime=}" ;;
	esac
done

for tool in gcc python3; do
	command -v "$tool" >/dev/null || {
		echo "run.sh: $tool is not installed" >&2
		exit 2
	}
done
[ "$(id -u)" = 0 ] || echo "run.sh: warning: not root; almost every case needs root" >&2

# The checker, built once per source version.
cache="${CONFORMANCE_CACHE:-/var/tmp/skiff-conformance}"
mkdir -p "$cache"
sum="$(sha256sum "$HERE/checker/checker.c" | cut -c1-16)"
checker="$cache/checker-$sum"
if [ ! -x "$checker" ]; then
	gcc -static -O2 -Wall -o "$checker.tmp.$$" "$HERE/checker/checker.c"
	mv "$checker.tmp.$$" "$checker"
fi

if [[ "$(basename "$runtime")" == crun* ]] && [ -z "${CONFORMANCE_IN_NS:-}" ] && [ -z "${CONFORMANCE_NO_UNSHARE:-}" ] &&
	awk '$5 == "/sys/fs/cgroup/unified" { found = 1 } END { exit !found }' /proc/self/mountinfo; then
	echo "# crun: running in a private mount namespace without the cgroup2 mount /sys/fs/cgroup/unified"
	exec unshare -m --propagation private env CONFORMANCE_IN_NS=1 bash -c \
		'umount /sys/fs/cgroup/unified && exec "$0" "$@"' "$0" "$@"
fi

# --runtime is parsed again by the engine (it also takes the other options).
exec python3 "$HERE/lib/conform.py" --checker "$checker" --runtime "$runtime" "$@"
