#!/usr/bin/env bats
# skiff killed (SIGKILL) at every phase of create, start, exec and delete, and the container's
# init killed at every phase of its setup (issue 9). After each crash: `delete --force` succeeds,
# nothing is left (no state dir, cgroup, mount or process: checked here and again in teardown)
# and the id can be used again.
#
# The crashes come from fault points that only a test build has: skiff built with
# `-Xswiftc -DSKIFF_FAULTS` (into .build-faults, made by setup_file when missing or older than
# the sources) kills itself with SIGKILL when it reaches the point named by SKIFF_FAULT
# (Sources/LinuxSys/Fault.swift). The release binary under test does every clean-up.

load helpers

REPO="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
FAULT_BIN="${SKIFF_FAULT_BIN:-$REPO/.build-faults/release/skiff}"

setup_file() {
	skiff_setup_file
	[ "$(basename "$RUNTIME")" = skiff ] || return 0
	local newest=""
	[ -x "$FAULT_BIN" ] && newest="$(find "$REPO/Sources" "$REPO/Package.swift" -newer "$FAULT_BIN" -print -quit 2>/dev/null || true)"
	if [ ! -x "$FAULT_BIN" ] || [ -n "$newest" ]; then
		(cd "$REPO" && swift build -c release --static-swift-stdlib -Xswiftc -static-executable \
			-Xswiftc -DSKIFF_FAULTS --scratch-path .build-faults) >&3 2>&1
	fi
}
setup() {
	runtime_diverges "runc crun" "the fault points are skiff's own (a test build of skiff)"
	skiff_setup
	set_cmd 'exec sleep 100'
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# faulty POINT ARGS...: the fault build with this test's --root, dying at POINT.
faulty() {
	local point="$1"
	shift
	status=0
	SKIFF_FAULT="$point" timeout --kill-after=5 30 "$FAULT_BIN" --root "$ROOT" "$@" \
		>"$TEST_TMP/fault.out" 2>"$TEST_TMP/fault.err" </dev/null || status=$?
	stderr="$(cat "$TEST_TMP/fault.err")"
	echo "$point: $* -> status $status, stderr: $stderr"
}

# After a crash: delete --force works, nothing is left, the id works again.
recovers() {
	run --separate-stderr rt delete --force "$CT"
	echo "delete --force: $status: $stderr"
	[ "$status" -eq 0 ]
	nothing_left_now
	set_cmd 'echo again'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "run again: $status: $output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = again ]
}

nothing_left_now() {
	local tries x=""
	for tries in $(seq 20); do
		x="$(leaked_state)$(leaked_cgroups)$(leaked_mounts)$(leaked_pids)"
		[ -z "$x" ] && return 0
		sleep 0.1
	done
	echo "left behind: $x"
	return 1
}

# The command itself died at the point.
killed() { [ "$status" -eq 137 ]; }

@test "crash: create killed after claiming the id" {
	faulty create.claimed create --bundle "$BUNDLE" "$CT"
	killed
	recovers
}

@test "crash: create killed after recording the cgroup, before making it" {
	faulty create.recorded create --bundle "$BUNDLE" "$CT"
	killed
	recovers
}

@test "crash: create killed after making the cgroup" {
	faulty create.cgroup create --bundle "$BUNDLE" "$CT"
	killed
	recovers
}

@test "crash: create killed after forking the container process" {
	faulty create.forked create --bundle "$BUNDLE" "$CT"
	killed
	recovers
}

@test "crash: create killed once the init pid is known" {
	faulty create.pid create --bundle "$BUNDLE" "$CT"
	killed
	recovers
}

@test "crash: create killed before the prestart/createRuntime hooks" {
	cfg '.hooks.createRuntime = [{"path": "/bin/true"}]'
	faulty create.hooks create --bundle "$BUNDLE" "$CT"
	killed
	recovers
}

@test "crash: create killed with the init ready, before the state is saved" {
	faulty create.ready create --bundle "$BUNDLE" "$CT"
	killed
	recovers
}

@test "crash: create killed after saving the state (before the pid file)" {
	faulty create.saved create --bundle "$BUNDLE" --pid-file "$TEST_TMP/pid" "$CT"
	killed
	[ "$(ct_status "$CT")" = created ]
	recovers
}

# The container's side dies: create reports it and cleans up by itself.
init_dies() {
	faulty "$1" create --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"killed by SIGKILL"* || "$stderr" == *"exited during setup"* ]]
	[ -z "$(leaked_state)" ]
	nothing_left_now
	recovers
}

@test "crash: the container process dies before entering its namespaces" {
	init_dies init.stage1
}

@test "crash: the container's init dies after its mounts" {
	init_dies init.mounted
}

@test "crash: the container's init dies after pivot_root" {
	init_dies init.pivoted
}

@test "crash: the container's init dies just before reporting ready" {
	init_dies init.ready
}

@test "crash: start killed after connecting to the init" {
	ct_create "$CT"
	[ "$status" -eq 0 ]
	faulty start.connected start "$CT"
	killed
	recovers
}

@test "crash: start killed once the program runs, before the state says running" {
	ct_create "$CT"
	[ "$status" -eq 0 ]
	faulty start.execed start "$CT"
	killed
	recovers
}

@test "crash: start killed after saving the state (before poststart hooks)" {
	cfg '.hooks.poststart = [{"path": "/bin/true"}]'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	faulty start.saved start "$CT"
	killed
	[ "$(ct_status "$CT")" = running ]
	recovers
}

exec_crash() {
	start_container "$CT"
	faulty "$1" exec "$CT" sleep 100
	[ "$status" -ne 0 ]
	echo "container: $(ct_status "$CT")"
	[ "$(ct_status "$CT")" = running ]
	recovers
}

@test "crash: exec killed after forking" {
	exec_crash exec.forked
}

@test "crash: exec killed once the process is known" {
	exec_crash exec.pid
}

@test "crash: the exec'd process dies after joining the namespaces" {
	exec_crash exec.joined
}

delete_crash() {
	start_container "$CT"
	faulty "$1" delete --force "$CT"
	killed
	recovers
}

@test "crash: delete killed after killing the processes" {
	delete_crash delete.killed
}

@test "crash: delete killed after removing the cgroups" {
	delete_crash delete.cgroups
}

@test "crash: delete killed after removing the state" {
	delete_crash delete.removed
}

@test "crash: a command killed while holding the lock does not wedge the id" {
	start_container "$CT"
	faulty start.connected kill "$CT" KILL || true
	# kill has no fault point at that name: it ran normally; now a killed pause holds nothing.
	SKIFF_FAULT=delete.killed "$FAULT_BIN" --root "$ROOT" delete --force "$CT" </dev/null >/dev/null 2>&1 || true
	local t0=$SECONDS
	run --separate-stderr rt delete --force "$CT"
	[ "$status" -eq 0 ]
	[ $((SECONDS - t0)) -le 2 ]
	nothing_left_now
}
