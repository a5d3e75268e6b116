#!/usr/bin/env bats
# The container's first process starts inside its cgroup: forked straight into the cgroup v2
# directory by clone3 CLONE_INTO_CGROUP where there is one (pure v2, or the unified hierarchy
# of a hybrid host), and joined by cgroup.procs before it runs anything where clone3 is refused
# (here: a seccomp filter that fails clone3 with ENOSYS, as older container profiles do).
# Which way was taken is in the --debug trace (skiff only); the placement is checked for all.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

NOCLONE3="$BATS_TEST_DIRNAME/tools/noclone3.py"

unified_mount() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n1
}

# check_placement OUTPUT: the cgroup v2 line of /proc/self/cgroup (as the container printed it)
# names the container's cgroup, and so does every v1 line (unless LAYOUT=v2: v1 unmounted).
check_placement() {
	local cg
	cg="$(jq -r .linux.cgroupsPath "$BUNDLE/config.json")"
	echo "$1"
	grep -qx "0::$cg" <<<"$1"
	[ "${LAYOUT:-}" = v2 ] || ! grep -v ":$cg\$" <<<"$1"
}

# run_debug [WRAPPER...]: `run --debug` of the bundle (printing /proc/self/cgroup), the runtime
# behind WRAPPER, in this mount namespace or a private one (LAYOUT=v2: v1 hierarchies unmounted).
run_debug() {
	set_args cat /proc/self/cgroup
	if [ "${LAYOUT:-}" = v2 ]; then
		run --separate-stderr unshare -m --propagation private sh -c '
			for d in $(awk '"'"'{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5; break } }'"'"' /proc/self/mountinfo); do
				umount "$d" || exit 99
			done
			umount /sys/fs/cgroup 2>/dev/null
			mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 98
			exec timeout --kill-after=5 60 "$@"' sh "$@" "$RUNTIME" --debug --root "$ROOT" run --bundle "$BUNDLE" "$CT"
	else
		run --separate-stderr timeout --kill-after=5 60 "$@" "$RUNTIME" --debug --root "$ROOT" run --bundle "$BUNDLE" "$CT"
	fi
}

@test "clone3 CLONE_INTO_CGROUP: the process is forked into its cgroup v2 directory" {
	local u
	u="$(unified_mount)"
	[ -n "$u" ] || skip "no cgroup2 mounted here"
	run_debug
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	check_placement "$output"
	if [ "$RUNTIME_NAME" = skiff ]; then
		grep -qF "cgroup: forked into \`$u$(jq -r .linux.cgroupsPath "$BUNDLE/config.json")\` by clone3 CLONE_INTO_CGROUP" <<<"$stderr"
	fi
}

@test "clone3 CLONE_INTO_CGROUP on a pure cgroup v2 layout (no cgroup.procs write needed)" {
	[ -n "$(unified_mount)" ] || skip "no cgroup2 mounted here"
	LAYOUT=v2
	run_debug
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	check_placement "$output"
	if [ "$RUNTIME_NAME" = skiff ]; then
		grep -qF "cgroup: forked into \`/sys/fs/cgroup$(jq -r .linux.cgroupsPath "$BUNDLE/config.json")\` by clone3 CLONE_INTO_CGROUP" <<<"$stderr"
	fi
}

@test "clone3 refused (ENOSYS): the process joins by cgroup.procs before it runs" {
	[ "$(uname -m)" = x86_64 ] || skip "noclone3.py knows x86_64 only"
	[ -n "$(unified_mount)" ] || skip "no cgroup2 mounted here"
	run_debug python3 "$NOCLONE3"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	check_placement "$output"
	if [ "$RUNTIME_NAME" = skiff ]; then
		grep -q "cgroup: clone3 CLONE_INTO_CGROUP failed (Function not implemented): the process joins by cgroup.procs" <<<"$stderr"
	fi
	LAYOUT=v2
	run_debug python3 "$NOCLONE3"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	check_placement "$output"
}
