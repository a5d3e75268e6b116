#!/usr/bin/env bats
# Hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle", runtime-spec v1.3.0).
#
# Every hook is the same small script, log.sh NAME LOG: it appends "NAME STATUS PID" from the
# state JSON on its stdin to LOG and keeps the whole JSON in LOG.NAME.json. Host-side hooks
# use $BUNDLE/hooks/log.sh and log to $TEST_TMP/hooklog/hooks.log; startContainer runs in the
# container (path resolved in the container), so a copy lives in the rootfs at /hooks/log.sh
# and $TEST_TMP/hooklog is bind-mounted at /hooklog.

load helpers

setup_file() { skiff_setup_file; }
setup() {
	skiff_setup
	HOOKLOG_DIR="$TEST_TMP/hooklog"
	LOG="$HOOKLOG_DIR/hooks.log"
	mkdir -p "$HOOKLOG_DIR" "$BUNDLE/hooks" "$BUNDLE/rootfs/hooks"
	chmod 777 "$HOOKLOG_DIR"
	cat >"$BUNDLE/hooks/log.sh" <<'EOF'
#!/bin/sh
# Hooks get only their own env: set PATH ourselves (host: dash + coreutils, container: busybox).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
name="$1"
log="$2"
state="$(cat)"
printf '%s\n' "$state" > "$log.$name.json"
status="$(printf '%s\n' "$state" | tr -d '\n' | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([a-z]*\)".*/\1/p')"
pid="$(printf '%s\n' "$state" | tr -d '\n' | sed -n 's/.*"pid"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p')"
echo "$name $status $pid" >> "$log"
EOF
	chmod 755 "$BUNDLE/hooks/log.sh"
	cp "$BUNDLE/hooks/log.sh" "$BUNDLE/rootfs/hooks/log.sh"
	printf '#!/bin/sh\nexit 3\n' >"$BUNDLE/hooks/fail.sh"
	printf '#!/bin/sh\nexec sleep 10\n' >"$BUNDLE/hooks/sleep.sh"
	chmod 755 "$BUNDLE/hooks/fail.sh" "$BUNDLE/hooks/sleep.sh"
	cp "$BUNDLE/hooks/fail.sh" "$BUNDLE/rootfs/hooks/fail.sh"
	cfg --arg d "$HOOKLOG_DIR" '.mounts += [{"destination": "/hooklog", "type": "bind", "source": $d, "options": ["rbind"]}]'
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# hook KIND NAME: append a logging hook of kind KIND that logs as NAME.
hook() {
	local kind="$1" name="${2:-$1}"
	if [ "$kind" = startContainer ]; then
		cfg --arg n "$name" '.hooks.startContainer += [{"path": "/hooks/log.sh", "args": ["log.sh", $n, "/hooklog/hooks.log"]}]'
	else
		cfg --arg k "$kind" --arg n "$name" --arg p "$BUNDLE/hooks/log.sh" --arg l "$LOG" \
			'.hooks[$k] += [{"path": $p, "args": ["log.sh", $n, $l]}]'
	fi
}

# failing_hook KIND: append a hook that exits 3.
failing_hook() {
	local kind="$1" p="$BUNDLE/hooks/fail.sh"
	[ "$kind" = startContainer ] && p=/hooks/fail.sh
	cfg --arg k "$kind" --arg p "$p" '.hooks[$k] += [{"path": $p, "args": ["fail.sh"]}]'
}

all_hooks() {
	hook prestart
	hook createRuntime
	hook createContainer
	hook startContainer
	hook poststart
	hook poststop
}

names() {
	[ -f "$LOG" ] || return 0
	awk '{print $1}' "$LOG" | tr '\n' ' ' | sed 's/ $//'
}

RUNC_POSTSTART="runc 1.1.5 runs poststart hooks at the end of create, before start and startContainer (opencontainers/runc#1710; moved to start by runc PR #5186)"

@test "hooks: all six run, in lifecycle order, each at its step" {
	runtime_diverges runc "$RUNC_POSTSTART"
	all_hooks
	set_cmd 'exec sleep 100'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	cat "$LOG"
	# create ran prestart, createRuntime (prestart MUST come first), createContainer
	[ "$(names)" = "prestart createRuntime createContainer" ]

	run rt start "$CT"
	[ "$status" -eq 0 ]
	cat "$LOG"
	[ "$(names)" = "prestart createRuntime createContainer startContainer poststart" ]

	rt kill "$CT" KILL
	wait_status "$CT" stopped
	[ "$(names)" = "prestart createRuntime createContainer startContainer poststart" ]
	run rt delete "$CT"
	[ "$status" -eq 0 ]
	cat "$LOG"
	[ "$(names)" = "prestart createRuntime createContainer startContainer poststart poststop" ]
}

@test "hooks: create runs the create-phase hooks in order, start startContainer, delete poststop" {
	# The part of the order every runtime here gets right (poststart left out, see above).
	all_hooks
	set_cmd 'exec sleep 100'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	cat "$LOG"
	[ "$(names | sed 's/ poststart//')" = "prestart createRuntime createContainer" ]
	run rt start "$CT"
	[ "$status" -eq 0 ]
	[ "$(names | sed 's/ poststart//')" = "prestart createRuntime createContainer startContainer" ]
	grep -q '^poststart ' "$LOG"
	rt kill "$CT" KILL
	wait_status "$CT" stopped
	! grep -q '^poststop ' "$LOG" || false
	run rt delete "$CT"
	[ "$status" -eq 0 ]
	cat "$LOG"
	[ "$(names | awk '{print $NF}')" = poststop ]
	[ "$(grep -c . "$LOG")" = 6 ]
}

@test "hooks: run also calls them all, poststop once the container is gone" {
	runtime_diverges runc "$RUNC_POSTSTART"
	all_hooks
	set_cmd 'echo program-ran'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = program-ran ]
	cat "$LOG"
	[ "$(names)" = "prestart createRuntime createContainer startContainer poststart poststop" ]
}

@test "hooks: several hooks of one kind run in their order" {
	hook createRuntime cr-first
	hook createRuntime cr-second
	hook poststop ps-first
	hook poststop ps-second
	set_cmd 'exit 0'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	cat "$LOG"
	[ "$(names)" = "cr-first cr-second ps-first ps-second" ]
}

# state_ok NAME: the JSON the hook NAME got has our id and bundle.
state_ok() {
	jq -e --arg id "$CT" --arg b "$BUNDLE" '.id == $id and .bundle == $b and (.ociVersion | type == "string")' "$LOG.$1.json" ||
		{ echo "bad state for $1: $(cat "$LOG.$1.json")"; return 1; }
}

@test "hooks: runtime-namespace hooks get the state: id, bundle, status and host pid" {
	all_hooks
	set_cmd 'exec sleep 100'
	start_container "$CT"
	pid="$(ct_pid "$CT")"
	rt delete --force "$CT"
	cat "$LOG"
	for n in prestart createRuntime poststart poststop; do state_ok "$n"; done
	# Before the program runs: "creating" during create (step 2 is not finished), at the
	# latest "created". The pid is the container process as the runtime sees it.
	for n in prestart createRuntime; do
		grep -Eq "^$n (creating|created) $pid\$" "$LOG" || { echo "$n: want creating/created $pid"; false; }
	done
	grep -Eq "^poststart [a-z]+ $pid\$" "$LOG"
	grep -Eq "^poststop stopped" "$LOG"
}

@test "hooks: container-namespace hooks get the state with the pid the container sees (1)" {
	runtime_diverges crun "crun 1.8.1 passes pid 0 to createContainer and startContainer hooks, and to startContainer bundle \"/\" and status \"starting\""
	hook createContainer
	hook startContainer
	set_cmd 'exec sleep 100'
	start_container "$CT"
	cat "$LOG"
	state_ok createContainer
	state_ok startContainer
	grep -Eq "^createContainer (creating|created) 1\$" "$LOG"
	grep -Eq "^startContainer created 1\$" "$LOG"
}

@test "hooks: poststart sees status running (the program was executed, step 8)" {
	runtime_diverges runc "runc 1.1.5 passes status \"created\" to poststart hooks"
	hook poststart
	set_cmd 'exec sleep 100'
	start_container "$CT"
	cat "$LOG"
	grep -Eq "^poststart running $(ct_pid "$CT")\$" "$LOG"
}

@test "hooks: args and env reach the hook, the caller's environment does not" {
	cat >"$BUNDLE/hooks/args.sh" <<EOF
#!/bin/sh
for a in "\$@"; do echo "[\$a]"; done > "$HOOKLOG_DIR/args.out"
/usr/bin/env > "$HOOKLOG_DIR/env.out"
EOF
	chmod 755 "$BUNDLE/hooks/args.sh"
	cfg --arg p "$BUNDLE/hooks/args.sh" \
		'.hooks.createRuntime = [{"path": $p, "args": ["args.sh", "one", "two words", ""], "env": ["FOO=bar", "HOOK_VAR=with space"]}]'
	set_cmd 'exit 0'
	export SKIFF_CALLER_ONLY=should-not-leak
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	cat "$HOOKLOG_DIR/args.out" "$HOOKLOG_DIR/env.out"
	[ "$(cat "$HOOKLOG_DIR/args.out")" = "[one]
[two words]
[]" ]
	grep -qx 'FOO=bar' "$HOOKLOG_DIR/env.out"
	grep -qx 'HOOK_VAR=with space' "$HOOKLOG_DIR/env.out"
	! grep -q SKIFF_CALLER_ONLY "$HOOKLOG_DIR/env.out" || false
	! grep -q '^BATS_' "$HOOKLOG_DIR/env.out" || false
}

@test "hooks: startContainer runs inside the container, before the program" {
	cat >"$BUNDLE/rootfs/hooks/inside.sh" <<'EOF'
#!/bin/sh
PATH=/usr/bin:/bin
# In the container: its hostname, its rootfs (the host has no /hooks/inside.sh), pid ns.
echo "$(hostname) $(test -e /hooks/inside.sh && echo own-rootfs) $(test -e /marker || echo before-program)" > /hooklog/inside.out
EOF
	chmod 755 "$BUNDLE/rootfs/hooks/inside.sh"
	cfg '.hostname = "hook-ct" | .hooks.startContainer = [{"path": "/hooks/inside.sh"}]'
	set_cmd 'touch /marker; exit 0'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	cat "$HOOKLOG_DIR/inside.out"
	[ "$(cat "$HOOKLOG_DIR/inside.out")" = "hook-ct own-rootfs before-program" ]
}

@test "hooks: createRuntime runs in the runtime namespace, createContainer in the container's" {
	cat >"$BUNDLE/hooks/where.sh" <<EOF
#!/bin/sh
echo "\$1 \$(/usr/bin/readlink /proc/self/ns/uts) \$(/usr/bin/readlink /proc/self/ns/net)" >> "$HOOKLOG_DIR/where.out"
EOF
	chmod 755 "$BUNDLE/hooks/where.sh"
	cfg --arg p "$BUNDLE/hooks/where.sh" \
		'.hooks.createRuntime = [{"path": $p, "args": ["where.sh", "createRuntime"]}]
		| .hooks.createContainer = [{"path": $p, "args": ["where.sh", "createContainer"]}]
		| .hooks.poststart = [{"path": $p, "args": ["where.sh", "poststart"]}]'
	set_cmd 'exec sleep 100'
	start_container "$CT"
	pid="$(ct_pid "$CT")"
	cat "$HOOKLOG_DIR/where.out"
	host="$(readlink /proc/$$/ns/uts) $(readlink /proc/$$/ns/net)"
	ct="$(readlink /proc/$pid/ns/uts) $(readlink /proc/$pid/ns/net)"
	[ "$(grep '^createRuntime ' "$HOOKLOG_DIR/where.out" | cut -d' ' -f2-)" = "$host" ]
	[ "$(grep '^poststart ' "$HOOKLOG_DIR/where.out" | cut -d' ' -f2-)" = "$host" ]
	[ "$(grep '^createContainer ' "$HOOKLOG_DIR/where.out" | cut -d' ' -f2-)" = "$ct" ]
}

@test "hooks: prestart runs after the network namespace exists (docker's libnetwork-setkey)" {
	cat >"$BUNDLE/hooks/netns.sh" <<EOF
#!/bin/sh
PATH=/usr/bin:/bin
pid=\$(sed -n 's/.*"pid"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p')
readlink /proc/\$pid/ns/net > "$HOOKLOG_DIR/netns.out"
EOF
	chmod 755 "$BUNDLE/hooks/netns.sh"
	cfg --arg p "$BUNDLE/hooks/netns.sh" '.hooks.prestart = [{"path": $p}]'
	set_cmd 'exec sleep 100'
	start_container "$CT"
	cat "$HOOKLOG_DIR/netns.out"
	[ "$(cat "$HOOKLOG_DIR/netns.out")" = "$(readlink /proc/"$(ct_pid "$CT")"/ns/net)" ]
}

# A failing create-phase hook: create fails, nothing is left (teardown checks), the program
# never ran, and the following hooks of the create phase did not run.
check_failing_create_hook() {
	local kind="$1"
	hook prestart
	failing_hook "$kind"
	hook createContainer after-fail
	hook poststop
	set_cmd 'touch /marker; exec sleep 100'
	ct_create "$CT"
	assert_failed
	[ ! -e "$BUNDLE/rootfs/marker" ]
	run --separate-stderr rt state "$CT"
	echo "state after failed create: $status $output"
	[ "$status" -ne 0 ]
	cat "$LOG"
	! grep -q '^after-fail ' "$LOG" || false
}

@test "hooks: a failing prestart hook makes create fail and leaves nothing" {
	check_failing_create_hook prestart
}

@test "hooks: a failing createRuntime hook makes create fail and leaves nothing" {
	check_failing_create_hook createRuntime
}

@test "hooks: a failing createContainer hook makes create fail and leaves nothing" {
	failing_hook createContainer
	set_cmd 'touch /marker; exec sleep 100'
	ct_create "$CT"
	assert_failed
	[ ! -e "$BUNDLE/rootfs/marker" ]
	run --separate-stderr rt state "$CT"
	[ "$status" -ne 0 ]
}

@test "hooks: a failing startContainer hook: the program never runs, the container stops" {
	failing_hook startContainer
	set_cmd 'touch /marker; exec sleep 100'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	pid="$(ct_pid "$CT")"
	run --separate-stderr rt start "$CT"
	echo "start: $status $stderr"
	for i in $(seq 50); do pid_gone "$pid" && break; sleep 0.1; done
	pid_gone "$pid"
	[ ! -e "$BUNDLE/rootfs/marker" ]
	# The container was stopped (or already destroyed).
	st="$(ct_status "$CT")"
	echo "status after failed start: '$st'"
	[ "$st" = stopped ] || [ -z "$st" ]
}

@test "hooks: a failing startContainer hook makes start fail" {
	runtime_diverges "runc crun" "runs startContainer hooks in the container's init after start has handed over: start returns 0, only the init dies"
	failing_hook startContainer
	hook poststart
	set_cmd 'touch /marker; exec sleep 100'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	: >"$LOG"
	run --separate-stderr rt start "$CT"
	assert_failed
	# poststart (step 9) is not reached
	! grep -q '^poststart ' "$LOG" || false
}

@test "hooks: a failing poststart hook makes start fail and stops the container (spec v1.3.0)" {
	# runtime.md Lifecycle step 9: "If any poststart hook fails, the runtime MUST generate an
	# error, stop the container, and continue the lifecycle at step 12." (Spec 1.0 said: log a
	# warning and go on; v1.3.0, the reference here, says stop.)
	runtime_diverges runc "$RUNC_POSTSTART, so a failing poststart hook fails create"
	runtime_diverges crun "crun 1.8.1 treats a failing poststart hook as a warning (spec 1.0 wording): start returns 0, or dies of SIGPIPE (141) when the hook exits before reading its stdin"
	failing_hook poststart
	hook poststop
	set_cmd 'touch /marker; exec sleep 100'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	pid="$(ct_pid "$CT")"
	run --separate-stderr rt start "$CT"
	echo "start: $status $stderr"
	assert_failed
	for i in $(seq 50); do pid_gone "$pid" && break; sleep 0.1; done
	pid_gone "$pid"
	st="$(ct_status "$CT")"
	echo "status after failed poststart: '$st'"
	[ "$st" = stopped ] || [ -z "$st" ]
}

@test "hooks: a failing poststop hook is only a warning: delete succeeds" {
	failing_hook poststop
	set_cmd 'exit 0'
	start_container "$CT"
	wait_status "$CT" stopped
	run --separate-stderr rt delete "$CT"
	echo "delete: $status $stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr rt state "$CT"
	[ "$status" -ne 0 ]
}

@test "hooks: after a failing poststop hook the remaining poststop hooks still run" {
	runtime_diverges runc "runc 1.1.5 stops at the first failing poststop hook (opencontainers/runc#1710)"
	failing_hook poststop
	hook poststop after-fail
	set_cmd 'exit 0'
	start_container "$CT"
	wait_status "$CT" stopped
	run --separate-stderr rt delete "$CT"
	[ "$status" -eq 0 ]
	cat "$LOG"
	grep -q '^after-fail stopped' "$LOG"
}

check_timeout_hook() {
	local kind="$1"
	cfg --arg k "$kind" --arg p "$BUNDLE/hooks/sleep.sh" '.hooks[$k] = [{"path": $p, "timeout": 1}]'
	set_cmd 'touch /marker; exec sleep 100'
	local t0=$SECONDS
	ct_create "$CT"
	local took=$((SECONDS - t0))
	echo "create took ${took}s"
	assert_failed
	[ "$took" -le 3 ]
	[ ! -e "$BUNDLE/rootfs/marker" ]
}

@test "hooks: a prestart hook with timeout 1 that sleeps 10 fails create within 3 s" {
	check_timeout_hook prestart
}

@test "hooks: a createRuntime hook with timeout 1 that sleeps 10 fails create within 3 s" {
	check_timeout_hook createRuntime
}

@test "hooks: a hook whose path does not exist fails create" {
	cfg --arg p "$BUNDLE/hooks/no-such-hook" '.hooks.createRuntime = [{"path": $p}]'
	set_cmd 'exit 0'
	ct_create "$CT"
	assert_failed
}

@test "hooks: hooks that exit without reading the state on stdin do not break the runtime" {
	# The runtime may get EPIPE (or SIGPIPE) writing the state: that is not a hook failure.
	printf '#!/bin/sh\nexec 0<&-\nexit 0\n' >"$BUNDLE/hooks/noread.sh"
	chmod 755 "$BUNDLE/hooks/noread.sh"
	cfg --arg p "$BUNDLE/hooks/noread.sh" '.hooks.createRuntime = [{"path": $p}, {"path": $p}, {"path": $p}]
		| .hooks.poststart = [{"path": $p}, {"path": $p}, {"path": $p}]
		| .hooks.poststop = [{"path": $p}, {"path": $p}, {"path": $p}]'
	set_cmd 'echo program'
	for i in 1 2 3; do
		run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
		echo "run $i: $status $output / $stderr"
		[ "$status" -eq 0 ]
		[ "$output" = program ]
	done
}

@test "hooks: a hook that writes to stdout/stderr does not disturb the runtime" {
	printf '#!/bin/sh\necho noise-out\necho noise-err >&2\ncat > /dev/null\n' >"$BUNDLE/hooks/noisy.sh"
	chmod 755 "$BUNDLE/hooks/noisy.sh"
	cfg --arg p "$BUNDLE/hooks/noisy.sh" '.hooks.createRuntime = [{"path": $p}] | .hooks.poststop = [{"path": $p}]'
	set_cmd 'echo program'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output / $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *program* ]]
}
