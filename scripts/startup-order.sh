#!/bin/sh
# Regenerates scripts/startup.order, the link order of the functions skiff runs (lld
# --symbol-ordering-file, see Package.swift). Why: a page fault on the binary maps the 64 KB
# around it (the kernel's fault-around), so peak RSS is the number of 64 KB windows of the
# 7 MB text a command touches; laid out together, the code a command runs touches fewer.
# Measured: --version 4.0 -> 3.0 MB, state 5.0 -> 4.1 MB.
#
# usage (root, after a release build): scripts/startup-order.sh BUNDLE
# BUNDLE: a bundle whose process runs a while (e.g. `sleep 1000`). Every command runs under
# callgrind, which lists the functions executed. valgrind does not know openat2, so the
# container side of create/run fails under it: skiff's own functions of that side are added by name.
# A stale order file is harmless (unknown names are ignored); regenerate after big changes.
set -eu
cd "$(dirname "$0")/.."
BUNDLE=$(cd "$1" && pwd)
# A copy without DWARF (valgrind gives up on the toolchain's DWARF 5; the symbol table is what
# counts), bind-mounted read-only onto itself in a private mount namespace: on a read-only mount
# skiff does not re-execute itself (CVE-2019-5736 defence), which callgrind would not follow.
if [ -z "${STARTUP_ORDER_INNER:-}" ]; then
	T=$(mktemp -d)
	objcopy --strip-debug .build/release/skiff "$T/skiff"
	rc=0
	STARTUP_ORDER_INNER=1 T="$T" B="$T/skiff" unshare -m --propagation private sh -c \
		'mount --bind "$B" "$B" && mount -o remount,bind,ro "$B" && exec "$0" "$1"' "$0" "$BUNDLE" || rc=$?
	rm -rf "$T"
	exit $rc
fi
R="--root $T/state"
V="valgrind -q --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file=$T/cg.%p"
trap '$B $R delete -f o1 >/dev/null 2>&1 || true' EXIT
$V "$B" --version >/dev/null
$V "$B" --help >/dev/null
$V "$B" $R run --bundle "$BUNDLE" o0 >/dev/null 2>&1 || true
$V "$B" $R create --bundle "$BUNDLE" o0 >/dev/null 2>&1 || true
$V "$B" $R delete -f o0 >/dev/null 2>&1 || true
"$B" $R create --bundle "$BUNDLE" o1
$V "$B" $R state o1 >/dev/null
$V "$B" $R list >/dev/null
$V "$B" $R start o1
$V "$B" $R state o1 >/dev/null
$V "$B" $R list >/dev/null
$V "$B" $R ps o1 >/dev/null
$V "$B" $R exec o1 /bin/true >/dev/null 2>&1 || true
$V "$B" $R kill o1 KILL
sleep 0.3
$V "$B" $R state o1 >/dev/null
$V "$B" $R delete o1
$V "$B" $R state nope >/dev/null 2>&1 || true
cat "$T"/cg.* | sed -n -E 's/^c?fn=\([0-9]+\) //p' | sed -E "s/'[0-9]+$//" \
	| grep -v -e '^(below main)' -e '^0x' | sort -u > "$T/ran"
# Then the container side, which callgrind cannot follow: skiff's own code of the init process.
nm "$B" | awk '$2 ~ /^[Tt]$/ {print $3}' \
	| grep -E '^\$s7Runtime[0-9]+(Init|Rootfs|ProcessSetup|NamespacePlan|MountOptions|Scheduling|FDs|SyncChannel|SyncMessage|StartSocket|Console|CStrings|Users|Hooks)' \
	| sort -u | grep -v -x -F -f "$T/ran" > "$T/container" || true
cat "$T/ran" "$T/container" > scripts/startup.order
wc -l scripts/startup.order
