#!/usr/bin/env bats
# exec, ps, pause/resume, --preserve-fds and LISTEN_FDS: what `docker exec`, `docker top` and
# `docker pause` do through the runtime.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

running() {
	set_cmd 'exec sleep 100'
	start_container "$CT"
}

@test "exec: exit statuses 0, 1, 42 and 137 pass through" {
	running
	for want in 0 1 42; do
		run rt exec "$CT" sh -c "exit $want"
		[ "$status" -eq "$want" ]
	done
	run rt exec "$CT" sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "exec: the process is in every namespace and the cgroup of the container" {
	running
	pid="$(ct_pid "$CT")"
	run --separate-stderr rt exec "$CT" sh -c 'for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup'
	[ "$status" -eq 0 ]
	echo "$output"
	for n in pid net ipc uts mnt; do
		want="$(readlink /proc/$pid/ns/$n)"; grep -qxF "$want" <<<"$output"
	done
	grep -q "pids:/$CGROUP_PARENT/$UNIQ-bundle" <<<"$output"
}

@test "exec: pid 1 is the container's init, so exec'd processes see the container's pid namespace" {
	running
	run rt exec "$CT" sh -c 'cat /proc/1/cmdline | tr "\0" " "'
	[ "$status" -eq 0 ]
	[[ "$output" == "sleep 100"* ]]
}

@test "exec: --user, --additional-gids, --env, --cwd" {
	running
	run --separate-stderr rt exec --user 1000:1000 -g 10 -g 20 -e FOO=bar -e BAZ=qux --cwd /tmp "$CT" sh -c 'id; echo $FOO $BAZ; pwd'
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "${lines[0]}" == "uid=1000(user) gid=1000(user) groups="*"10"*"20"* ]]
	[ "${lines[1]}" = "bar qux" ]
	[ "${lines[2]}" = "/tmp" ]
}

@test "exec: --process process.json with its own user, env and capabilities" {
	running
	cat >"$TEST_TMP/process.json" <<-'JSON'
	{"args": ["sh", "-c", "id -u; echo $ONLY; grep CapEff /proc/self/status"], "cwd": "/", "env": ["ONLY=this", "PATH=/bin"],
	 "user": {"uid": 1000, "gid": 1000},
	 "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}}
	JSON
	run --separate-stderr rt exec --process "$TEST_TMP/process.json" "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = this ]
	[[ "${lines[2]}" == *"0000000000000020" ]]
}

@test "exec --detach --pid-file: returns at once, the pid is the process in the container" {
	running
	# A detached process keeps its stdio: not a pipe of ours.
	rt exec --detach --pid-file "$TEST_TMP/exec.pid" "$CT" sh -c 'echo $$ > /tmp/inner.pid; sleep 100' >/dev/null 2>&1 </dev/null
	wait_file "$BUNDLE/rootfs/tmp/inner.pid"
	p="$(cat "$TEST_TMP/exec.pid")"
	[ -d "/proc/$p" ]
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "sleep"
	# The exec'd process is part of the container: delete --force removes it too.
	rt delete --force "$CT"
	pid_gone "$p"
}

@test "exec: a missing program is named with the container's PATH" {
	running
	run --separate-stderr rt exec "$CT" no-such-program
	assert_failed runc # runc exec exits 255 on errors
	expect_msg 'process.args\[0\]: "no-such-program" not found in the container.s PATH'
}

@test "exec: into a stopped container fails with 'container not running'" {
	set_cmd 'exit 0'
	ct_create "$CT"
	rt start "$CT"
	wait_status "$CT" stopped
	run --separate-stderr rt exec "$CT" true
	assert_failed runc # runc exec exits 255 on errors
	expect_msg 'container not running'
}

@test "exec and run: the process starts with default signal dispositions and an empty mask" {
	# Not through sh: busybox sh ignores SIGQUIT itself.
	set_args grep -E "^Sig(Ign|Blk)" /proc/self/status
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	grep -q "SigIgn:.0000000000000000" <<<"$output"
	grep -q "SigBlk:.0000000000000000" <<<"$output"
	set_cmd 'exec sleep 100'
	start_container "$CT2"
	run --separate-stderr rt exec "$CT2" grep -E "^Sig(Ign|Blk)" /proc/self/status
	echo "$output"
	grep -q "SigIgn:.0000000000000000" <<<"$output"
}

@test "exec: only 0, 1, 2 (and --preserve-fds) reach the process" {
	running
	run --separate-stderr rt exec "$CT" sh -c 'ls /proc/$$/fd; true'
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2" ]
	exec 7</dev/null
	run --separate-stderr rt exec --preserve-fds 5 "$CT" sh -c 'ls /proc/$$/fd; true'
	exec 7<&-
	echo "$output"
	grep -qw 7 <<<"$(echo $output)"
}

@test "run: only 0, 1, 2 reach the container process; --preserve-fds and LISTEN_FDS add theirs" {
	# (`; true`: busybox sh would exec a last command, and ls would list its own fds)
	set_cmd 'ls /proc/$$/fd; echo L=$LISTEN_FDS P=$LISTEN_PID'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2 L= P=" ]
	rt delete --force "$CT" 2>/dev/null || true
	run --separate-stderr env ROOT="$ROOT" BUNDLE="$BUNDLE" CT="$CT" bash -c 'exec 3</dev/null; LISTEN_FDS=1 LISTEN_PID=$$ exec "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CT"'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2 3 L=1 P=1" ]
}

@test "exec: signals to a foreground exec reach the process" {
	running
	"$RUNTIME" --root "$ROOT" exec "$CT" sh -c 'trap "echo got-TERM > /tmp/sig; exit 5" TERM; echo ready > /tmp/ready; while :; do sleep 0.1; done' &
	exec_pid=$!
	wait_file "$BUNDLE/rootfs/tmp/ready"
	kill -TERM "$exec_pid"
	wait "$exec_pid" || st=$?
	[ "${st:-0}" -eq 5 ]
	[ "$(cat "$BUNDLE/rootfs/tmp/sig")" = got-TERM ]
}

@test "run: signals to a foreground run reach the container process; no zombie is left" {
	set_cmd 'trap "exit 9" USR1; echo ready > /tmp/ready; while :; do sleep 0.1; done'
	"$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CT" </dev/null &
	run_pid=$!
	wait_file "$BUNDLE/rootfs/tmp/ready"
	kill -USR1 "$run_pid"
	wait "$run_pid" || st=$?
	[ "${st:-0}" -eq 9 ]
	! ps -eo ppid=,stat= | awk -v p="$run_pid" '$1 == p && $2 ~ /Z/' | grep -q . || false
}

@test "ps: --format json lists the container's pids, the table filters ps -ef" {
	running
	rt exec -d "$CT" sleep 99 >/dev/null 2>&1 </dev/null
	sleep 0.2
	run --separate-stderr rt ps --format json "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(jq length <<<"$output")" -eq 2 ]
	jq -e --argjson p "$(ct_pid "$CT")" 'index($p) != null' <<<"$output"
	run --separate-stderr rt ps "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "${lines[0]}" == *PID* ]]
	[ "${#lines[@]}" -eq 3 ]
	grep -q "sleep 99" <<<"$output"
}

@test "pause/resume: a ticking counter stops while paused; state says paused" {
	set_cmd 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done'
	start_container "$CT"
	wait_file "$BUNDLE/rootfs/tmp/count"
	rt pause "$CT"
	[ "$(ct_status "$CT")" = paused ]
	a="$(cat "$BUNDLE/rootfs/tmp/count")"
	sleep 0.5
	b="$(cat "$BUNDLE/rootfs/tmp/count")"
	[ "$a" = "$b" ]
	run --separate-stderr rt exec "$CT" true
	assert_failed runc # runc exec exits 255 on errors
	rt resume "$CT"
	[ "$(ct_status "$CT")" = running ]
	sleep 0.5
	c="$(cat "$BUNDLE/rootfs/tmp/count")"
	[ "$c" -gt "$b" ]
}

@test "pause: a paused container is killed and deleted with delete --force" {
	running
	rt pause "$CT"
	run rt delete --force "$CT"
	[ "$status" -eq 0 ]
}

@test "resume: a container that is not paused is refused" {
	running
	run --separate-stderr rt resume "$CT"
	assert_failed
}

@test "exec: joins the user, cgroup and time namespaces of the container too" {
	[ -e /proc/self/ns/time ] || skip "no time namespaces on this kernel"
	runtime_diverges runc "no time namespace support in runc 1.1.5"
	add_ns user
	add_ns cgroup
	add_ns time
	cfg '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
	     .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
	     .linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0}}'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	set_cmd 'exec sleep 100'
	start_container "$CT"
	pid="$(ct_pid "$CT")"
	run --separate-stderr rt exec "$CT" sh -c 'for n in user cgroup time; do readlink /proc/self/ns/$n; done; id -u; cat /proc/self/uid_map'
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	for n in user cgroup time; do
		grep -qxF "$(readlink /proc/$pid/ns/$n)" <<<"$output"
	done
	[ "${lines[3]}" = 0 ]
	grep -Eq '^ +0 +100000 +65536' <<<"$output"
}

@test "run --no-subreaper: the exit status still comes back" {
	set_cmd 'exit 33'
	run --separate-stderr rt run --no-subreaper --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 33 ]
}

@test "exec: into a user-namespace container, writes to its own /proc/self work (oomScoreAdj)" {
	add_ns user
	cfg "$(printf '%s' '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
	     .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]')"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	set_cmd 'exec sleep 100'
	start_container "$CT"
	cat >"$TEST_TMP/process.json" <<-'JSON'
	{"args": ["cat", "/proc/self/oom_score_adj"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}, "oomScoreAdj": 500}
	JSON
	run --separate-stderr rt exec --process "$TEST_TMP/process.json" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = 500 ]
}

@test "exec: process.execCPUAffinity.final pins the exec'd process" {
	[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"
	runtime_diverges "runc crun" "execCPUAffinity is new in runtime-spec 1.3"
	running
	jq '.process | .args = ["grep", "Cpus_allowed_list", "/proc/self/status"] | .execCPUAffinity = {"initial": "0", "final": "1"}' \
		"$BUNDLE/config.json" >"$TEST_TMP/process.json"
	run --separate-stderr rt exec --process "$TEST_TMP/process.json" "$CT"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Cpus_allowed_list:[[:space:]]+1$ ]]
}
