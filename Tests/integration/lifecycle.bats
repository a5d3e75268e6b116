#!/usr/bin/env bats
# Lifecycle: create/start/state/kill/delete/list/run and their command-line forms.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# A long-running init that leaves a marker in its rootfs when it really runs.
marker_cmd() {
	set_cmd 'touch /marker; exec sleep 100'
}

@test "create: state is created, pid is alive, the program has not run yet" {
	marker_cmd
	ct_create "$CT"
	[ "$status" -eq 0 ]

	run rt state "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(jq -r .status <<<"$output")" = "created" ]
	pid="$(jq -r .pid <<<"$output")"
	[[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" -gt 0 ]
	kill -0 "$pid"
	sleep 0.3
	[ ! -e "$BUNDLE/rootfs/marker" ]
}

@test "state: JSON has ociVersion, id, status, pid and the absolute bundle" {
	marker_cmd
	ct_create "$CT"
	[ "$status" -eq 0 ]
	run rt state "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	jq -e --arg id "$CT" --arg b "$BUNDLE" \
		'(.ociVersion | type == "string") and .id == $id and .status == "created" and (.pid | type == "number") and .bundle == $b' <<<"$output"
}

@test "start: state becomes running and the program runs" {
	marker_cmd
	ct_create "$CT"
	[ "$status" -eq 0 ]
	run rt start "$CT"
	[ "$status" -eq 0 ]
	wait_file "$BUNDLE/rootfs/marker"
	[ "$(ct_status "$CT")" = "running" ]
	# The pid does not change between create and start.
	[ "$(ct_pid "$CT")" -gt 0 ]
	kill -0 "$(ct_pid "$CT")"
}

@test "start: a container that is already running cannot be started again" {
	marker_cmd
	start_container "$CT"
	wait_file "$BUNDLE/rootfs/marker"
	run --separate-stderr rt start "$CT"
	assert_failed
	[ "$(ct_status "$CT")" = "running" ]
}

@test "start: a stopped container cannot be started" {
	set_cmd 'exit 0'
	start_container "$CT"
	wait_status "$CT" stopped
	run --separate-stderr rt start "$CT"
	assert_failed
	[ "$(ct_status "$CT")" = "stopped" ]
}

@test "state: stopped once the process exits on its own" {
	set_cmd 'sleep 0.2; exit 3'
	start_container "$CT"
	wait_status "$CT" stopped
}

kill_and_wait_stopped() {
	set_cmd 'exec sleep 100'
	start_container "$CT"
	wait_status "$CT" running
	pid="$(ct_pid "$CT")"
	run --separate-stderr rt kill "$CT" "$@"
	[ "$status" -eq 0 ] || { echo "kill $*: $status $stderr"; return 1; }
	wait_status "$CT" stopped
	pid_gone "$pid"
}

@test "kill: ID KILL" {
	kill_and_wait_stopped KILL
}

@test "kill: ID 9" {
	kill_and_wait_stopped 9
}

@test "kill: ID SIGKILL" {
	kill_and_wait_stopped SIGKILL
}

@test "kill: default signal is SIGTERM" {
	# PID 1 of a pid namespace only gets signals it handles: trap TERM, exit 7.
	set_cmd 'trap "exit 7" TERM; touch /ready; sleep 100 & wait'
	start_container "$CT"
	wait_file "$BUNDLE/rootfs/ready"
	run --separate-stderr rt kill "$CT"
	[ "$status" -eq 0 ]
	wait_status "$CT" stopped
}

@test "kill: TERM by name and 15 by number reach the trap" {
	set_cmd 'trap "echo got-term >> /log; exit 7" TERM; touch /ready; sleep 100 & wait'
	start_container "$CT"
	wait_file "$BUNDLE/rootfs/ready"
	run --separate-stderr rt kill "$CT" 15
	[ "$status" -eq 0 ]
	wait_status "$CT" stopped
	grep -q got-term "$BUNDLE/rootfs/log"
}

@test "kill: a created container can be killed before start" {
	marker_cmd
	ct_create "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr rt kill "$CT" KILL
	[ "$status" -eq 0 ]
	wait_status "$CT" stopped
	[ ! -e "$BUNDLE/rootfs/marker" ]
}

@test "kill: a stopped container fails with 'container not running'" {
	set_cmd 'exit 0'
	start_container "$CT"
	wait_status "$CT" stopped
	run --separate-stderr rt kill "$CT" KILL
	assert_failed
	# runc 1.1.5: "container not running"; containerd classifies kill errors by this text.
	[[ "$stderr" == *"not running"* ]] || runtime_diverges crun "crun says: $stderr"
	expect_msg 'container not running'
}

@test "delete: a stopped container is removed" {
	set_cmd 'exit 0'
	start_container "$CT"
	wait_status "$CT" stopped
	run --separate-stderr rt delete "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr rt state "$CT"
	assert_failed
	run rt list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "delete: a running container is refused without --force, removed with it" {
	marker_cmd
	start_container "$CT"
	wait_file "$BUNDLE/rootfs/marker"
	pid="$(ct_pid "$CT")"
	run --separate-stderr rt delete "$CT"
	assert_failed
	[ "$(ct_status "$CT")" = "running" ]
	kill -0 "$pid"

	run --separate-stderr rt delete --force "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr rt state "$CT"
	assert_failed
	pid_gone "$pid"
}

@test "delete: -f is --force" {
	marker_cmd
	start_container "$CT"
	run --separate-stderr rt delete -f "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr rt state "$CT"
	assert_failed
}

@test "delete: a created container is refused without --force (spec: only stopped)" {
	runtime_diverges "runc crun" "deletes a created (never started) container without --force"
	marker_cmd
	ct_create "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr rt delete "$CT"
	assert_failed
	[ "$(ct_status "$CT")" = "created" ]
}

@test "delete --force: a created container is removed and its program never runs" {
	marker_cmd
	ct_create "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr rt delete --force "$CT"
	[ "$status" -eq 0 ]
	[ ! -e "$BUNDLE/rootfs/marker" ]
}

@test "delete --force: a missing container succeeds quietly, plain delete fails" {
	# clients.md: containerd's shim calls `delete --force ID` again on an already deleted
	# container; runc 1.1.5 returns 0 there. Without --force it is an error.
	run --separate-stderr rt delete --force "$CT"
	echo "status $status stderr $stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr rt delete "$CT"
	assert_failed
	expect_msg 'does not exist'
}

@test "create --pid-file: the file holds the state's pid" {
	marker_cmd
	ct_create "$CT" --pid-file "$TEST_TMP/ct.pid"
	[ "$status" -eq 0 ]
	[ -f "$TEST_TMP/ct.pid" ]
	filepid="$(tr -d '[:space:]' <"$TEST_TMP/ct.pid")"
	echo "pid file: $filepid, state: $(ct_pid "$CT")"
	[ "$filepid" = "$(ct_pid "$CT")" ]
}

@test "create --pid-file=FILE form" {
	marker_cmd
	ct_create "$CT" --pid-file="$TEST_TMP/ct.pid"
	[ "$status" -eq 0 ]
	[ "$(tr -d '[:space:]' <"$TEST_TMP/ct.pid")" = "$(ct_pid "$CT")" ]
}

@test "list: table, -q and --format json" {
	marker_cmd
	ct_create "$CT"
	[ "$status" -eq 0 ]
	make_bundle b2
	marker_cmd
	start_container "$CT2"
	wait_status "$CT2" running

	run --separate-stderr rt list
	[ "$status" -eq 0 ]
	echo "$output"
	grep -E "^$CT[[:space:]].*created" <<<"$output"
	grep -E "^$CT2[[:space:]].*running" <<<"$output"

	run --separate-stderr rt list -q
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(sort <<<"$output")" = "$(printf '%s\n' "$CT" "$CT2" | sort)" ]

	run --separate-stderr rt list --quiet
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output")" = "$(printf '%s\n' "$CT" "$CT2" | sort)" ]

	run --separate-stderr rt list --format json
	[ "$status" -eq 0 ]
	echo "$output"
	jq -e --arg a "$CT" --arg b "$CT2" --arg b2 "$BUNDLE" \
		'length == 2 and (map(select(.id == $a))[0].status == "created") and (map(select(.id == $b))[0] | .status == "running" and .bundle == $b2 and (.pid > 0))' <<<"$output"

	run --separate-stderr rt list -f json
	[ "$status" -eq 0 ]
	jq -e 'length == 2' <<<"$output"
}

@test "list: an empty root lists nothing" {
	run --separate-stderr rt list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run --separate-stderr rt list --format json
	[ "$status" -eq 0 ]
	echo "$output"
	# runc prints "null" for no containers, crun "[]"; both are "no container" in JSON.
	jq -e '(. // []) | length == 0' <<<"$output"
}

@test "state: an unknown id fails with 'does not exist'" {
	run --separate-stderr rt state "nosuch-$UNIQ"
	assert_failed
	[[ "$stderr" == *"does not exist"* ]] || runtime_diverges crun "crun says: $stderr"
	expect_msg 'does not exist'
}

@test "run: exit status 0" {
	set_cmd 'exit 0'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
}

@test "run: exit status 1" {
	set_cmd 'exit 1'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 1 ]
}

@test "run: exit status 42 and the container is gone afterwards" {
	set_cmd 'echo out; exit 42'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 42 ]
	[ "$output" = "out" ]
	run --separate-stderr rt state "$CT"
	assert_failed
}

@test "run: 137 when the process kills itself with SIGKILL" {
	# PID 1 of a pid namespace cannot get SIGKILL/SIGTERM from inside its namespace (the kernel
	# drops it), so this container shares the host pid namespace.
	del_ns pid
	set_cmd 'kill -9 $$; sleep 5; exit 3'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status stderr $stderr"
	[ "$status" -eq 137 ]
}

@test "run: 143 when the process kills itself with SIGTERM" {
	del_ns pid
	set_cmd 'kill -TERM $$; sleep 5; exit 3'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status stderr $stderr"
	[ "$status" -eq 143 ]
}

@test "run: 137 when killed from outside with kill KILL" {
	set_cmd 'exec sleep 100'
	rt run --bundle "$BUNDLE" "$CT" >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" </dev/null &
	rpid=$!
	wait_status "$CT" running
	rt kill "$CT" KILL
	st=0
	wait "$rpid" || st=$?
	echo "status $st; $(cat "$TEST_TMP/run.err")"
	[ "$st" -eq 137 ]
}

@test "run --detach: returns at once and the container runs" {
	marker_cmd
	start=$SECONDS
	ct_run_detached "$CT"
	echo "stderr: $stderr"
	[ "$status" -eq 0 ]
	[ $((SECONDS - start)) -lt 10 ]
	wait_file "$BUNDLE/rootfs/marker"
	[ "$(ct_status "$CT")" = "running" ]
}

@test "run -d --pid-file: short form, pid file matches" {
	marker_cmd
	ct_run_detached "$CT" --pid-file "$TEST_TMP/run.pid"
	[ "$status" -eq 0 ]
	[ "$(tr -d '[:space:]' <"$TEST_TMP/run.pid")" = "$(ct_pid "$CT")" ]
}

@test "run --keep: the stopped container stays until deleted" {
	runtime_diverges crun "crun 1.8.1 has no run --keep (unrecognized option, exit 64)"
	set_cmd 'exit 5'
	run --separate-stderr rt run --keep --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 5 ]
	[ "$(ct_status "$CT")" = "stopped" ]
	run --separate-stderr rt delete "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr rt state "$CT"
	assert_failed
}

@test "bundle flag: --bundle X" {
	set_cmd 'echo bundle-ok'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ "$output" = "bundle-ok" ]
}

@test "bundle flag: --bundle=X" {
	set_cmd 'echo bundle-ok'
	run --separate-stderr rt run --bundle="$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ "$output" = "bundle-ok" ]
}

@test "bundle flag: -b X" {
	set_cmd 'echo bundle-ok'
	run --separate-stderr rt run -b "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ "$output" = "bundle-ok" ]
}

@test "bundle flag: none means the current directory; state has the absolute path" {
	set_cmd 'exec sleep 100'
	status=0
	(cd "$BUNDLE" && rt create "$CT" >"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" </dev/null) || status=$?
	cat "$TEST_TMP/c.err"
	[ "$status" -eq 0 ]
	[ "$(rt state "$CT" | jq -r .bundle)" = "$BUNDLE" ]
}

@test "bundle flag: a relative --bundle is resolved against the cwd" {
	set_cmd 'exec sleep 100'
	status=0
	(cd "$TEST_TMP" && rt create --bundle bundle "$CT" >"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" </dev/null) || status=$?
	cat "$TEST_TMP/c.err"
	[ "$status" -eq 0 ]
	[ "$(rt state "$CT" | jq -r .bundle)" = "$BUNDLE" ]
}

@test "global flag: --root=DIR form" {
	set_cmd 'exec sleep 100'
	timeout 60 "$RUNTIME" --root="$ROOT" create --bundle "$BUNDLE" "$CT" >"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" </dev/null
	[ -d "$ROOT/$CT" ] || [ "$(ct_status "$CT")" = "created" ]
	[ "$(ct_status "$CT")" = "created" ]
}

# cgroup_kind MOUNTPOINT: the super options of a v1 cgroup mount (e.g. "rw,cpu"), "v2" for cgroup2
cgroup_kind() {
	awk -v m="$1" '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($5 == m) print ($(i+1) == "cgroup2" ? "v2" : $(i+3)); break } }' /proc/self/mountinfo
}

# in_cgroup_at_path WHICH: the container's init is in cgroupsPath of every hierarchy selected
# by WHICH: "controllers" (v1 hierarchies with a controller), "other" (name=systemd-style
# named v1 hierarchies and the cgroup2 one of a hybrid layout).
in_cgroup_at_path() {
	local which="$1" pid cg h kind n=0
	set_cmd 'exec sleep 100'
	start_container "$CT"
	pid="$(ct_pid "$CT")"
	cg="$(jq -r .linux.cgroupsPath "$BUNDLE/config.json")"
	cat "/proc/$pid/cgroup"
	for h in $(cgroup_mounts); do
		kind="$(cgroup_kind "$h")"
		case "$which:$kind" in
		controllers:v2 | controllers:*name=*) continue ;;
		other:v2 | other:*name=*) ;;
		other:*) continue ;;
		esac
		echo "checking $h ($kind)"
		[ -f "$h/${cg#/}/cgroup.procs" ] || { echo "no $h/${cg#/}"; return 1; }
		grep -qx "$pid" "$h/${cg#/}/cgroup.procs" || { echo "$pid not in $h/${cg#/}"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || skip "no such hierarchy mounted here"
}

@test "cgroups: the container's init is at linux.cgroupsPath in every v1 controller hierarchy" {
	in_cgroup_at_path controllers
}

@test "cgroups: ... and in the named (name=systemd) and cgroup2 hierarchies, as runc does" {
	in_cgroup_at_path other
}
