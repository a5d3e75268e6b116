#!/usr/bin/env bats
# Bad input: every case must fail with exit status 1 (runc's code for errors; exceptions are
# named in assert_failed's argument and commented), print a message on stderr, and leave
# nothing behind (teardown: assert_nothing_left).
#
# expect_msg holds skiff's promise (man skiff(8), DIAGNOSTICS): the message names the JSON
# path of the bad value and quotes the value, e.g. `process.user.uid: expected an integer, got
# string "0"`. It is only checked when the runtime under test is skiff.

load helpers

setup_file() { skiff_setup_file; }
setup() {
	skiff_setup
	set_cmd 'touch /marker; exec sleep 100'
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# bad FILTER: apply FILTER to config.json, then `create` must fail.
bad() {
	cfg "$@"
	ct_create "$CT"
	echo "stderr: $stderr"
}

# The program must never have run.
not_run() {
	[ ! -e "$BUNDLE/rootfs/marker" ]
}

# ---------------------------------------------------------------------------------------------
# config.json and bundle

@test "error: config.json is not valid JSON" {
	printf '{"ociVersion": "1.0.2", "process": ' >"$BUNDLE/config.json"
	ct_create "$CT"
	assert_failed
	expect_msg 'config\.json'
	expect_msg 'not valid JSON'
}

@test "error: config.json is missing" {
	rm "$BUNDLE/config.json"
	ct_create "$CT"
	assert_failed
	expect_msg 'config\.json'
	expect_msg 'does not exist|[Nn]o such file'
}

@test "error: the bundle directory is missing" {
	BUNDLE="$TEST_TMP/no-such-bundle"
	ct_create "$CT"
	assert_failed
	expect_msg 'no-such-bundle'
}

@test "error: the rootfs directory is missing" {
	rm -rf "$BUNDLE/rootfs"
	ct_create "$CT"
	assert_failed
	expect_msg 'root\.path.*"rootfs"'
}

@test "error: root.path is a file, not a directory" {
	rm -rf "$BUNDLE/rootfs"
	echo not-a-dir >"$BUNDLE/rootfs"
	ct_create "$CT"
	assert_failed
	expect_msg 'root\.path.*"rootfs"'
}

@test "error: ociVersion 2.0.0 (unknown major version)" {
	runtime_diverges "runc crun" "does not check ociVersion; a 2.0.0 config is run"
	bad '.ociVersion = "2.0.0"'
	assert_failed
	not_run
	expect_msg 'ociVersion.*"2\.0\.0"'
}

@test "error: no process" {
	bad 'del(.process)'
	assert_failed
	expect_msg 'process'
}

@test "error: process is an array, not an object" {
	bad '.process = []'
	assert_failed
	expect_msg 'process.*(object|array)'
}

# ---------------------------------------------------------------------------------------------
# namespaces

@test "error: unknown namespace type" {
	bad '.linux.namespaces += [{"type": "foo"}]'
	assert_failed
	not_run
	expect_msg 'linux\.namespaces\[5\]\.type.*"foo"'
}

@test "error: duplicate namespace type" {
	runtime_diverges crun "crun 1.8.1 accepts a duplicated namespace type"
	bad '.linux.namespaces += [{"type": "pid"}]'
	assert_failed
	not_run
	expect_msg 'linux\.namespaces\[5\].*"pid"'
}

@test "error: namespace path that does not exist" {
	bad '.linux.namespaces |= map(if .type == "network" then .path = "/proc/999999999/ns/net" else . end)'
	assert_failed
	not_run
	expect_msg 'linux\.namespaces\[1\]\.path.*"/proc/999999999/ns/net"'
}

# ---------------------------------------------------------------------------------------------
# process

@test "error: process.user.uid of the wrong type (\"0\")" {
	runtime_diverges crun "crun 1.8.1 accepts a string uid"
	bad '.process.user.uid = "0"'
	assert_failed
	not_run
	expect_msg 'process\.user\.uid.*"0"'
}

@test "error: negative process.user.uid" {
	bad '.process.user.uid = -1'
	assert_failed
	not_run
	expect_msg 'process\.user\.uid.*-1'
}

@test "error: process.user.uid above 2^32-1" {
	bad '.process.user.uid = 4294967296'
	assert_failed
	not_run
	expect_msg 'process\.user\.uid.*4294967296'
}

@test "error: process.user.additionalGids of the wrong type" {
	runtime_diverges crun "crun 1.8.1 accepts (ignores) a string additionalGids"
	bad '.process.user.additionalGids = "10"'
	assert_failed
	not_run
	expect_msg 'process\.user\.additionalGids.*"10"'
}

@test "error: relative process.cwd" {
	runtime_diverges crun "crun 1.8.1 accepts a relative cwd"
	bad '.process.cwd = "tmp"'
	assert_failed
	not_run
	expect_msg 'process\.cwd.*"tmp"'
}

# docker and podman derive their exit code from the runtime's message: 127 ("command not
# found") needs "executable file not found in $PATH" or "no such file or directory", 126
# needs "permission denied" (runc's Go phrases, lower case); the client battery checks the
# codes through the real clients (missing_command, missing_in_path, exec_missing).
@test "error: process.args[0] not found in the container's PATH" {
	# runc looks args[0] up at create time; so do we expect of skiff.
	bad '.process.args = ["-c"]'
	assert_failed
	expect_msg 'process\.args\[0\].*"-c"'
	expect_msg 'executable file not found in \$PATH'
}

@test "error: absolute process.args[0] that does not exist" {
	bad '.process.args = ["/no/such/program"]'
	assert_failed
	expect_msg 'process\.args\[0\].*"/no/such/program".*no such file or directory'
}

@test "error: process.args[0] that is not executable" {
	bad '.process.args = ["/etc/passwd"]'
	assert_failed
	expect_msg 'process\.args\[0\].*"/etc/passwd" is not executable: permission denied'
}

@test "error: process.args[0] that is a directory" {
	bad '.process.args = ["/tmp"]'
	assert_failed
	expect_msg 'process\.args\[0\].*"/tmp" is a directory: permission denied'
}

@test "error: a capability the runtime does not hold fails create, not start" {
	# docker --privileged on a host whose bounding set lacks a capability: runc fails at create;
	# failing at start instead left containerd's shim with a task it could not delete.
	cfg '.process.capabilities = {"bounding": ["CAP_SYSLOG", "CAP_KILL"], "effective": ["CAP_SYSLOG", "CAP_KILL"], "permitted": ["CAP_SYSLOG", "CAP_KILL"]}'
	status=0
	setpriv --bounding-set -syslog -- "$RUNTIME" --root "$ROOT" create --bundle "$BUNDLE" "$CT" \
		>"$TEST_TMP/cap.out" 2>"$TEST_TMP/cap.err" </dev/null || status=$?
	stderr="$(cat "$TEST_TMP/cap.err")"
	echo "status $status, stderr: $stderr"
	assert_failed
	not_run
	expect_msg 'process\.capabilities: cannot grant CAP_SYSLOG \(effective, permitted\).*operation not permitted'
	run rt state "$CT"
	[ "$status" -ne 0 ]
}

@test "error: empty process.args" {
	bad '.process.args = []'
	assert_failed
	expect_msg 'process\.args'
}

@test "error: missing process.args" {
	runtime_diverges crun "crun 1.8.1 creates a container without process.args"
	bad 'del(.process.args)'
	assert_failed
	expect_msg 'process\.args'
}

@test "error: unknown rlimit type" {
	bad '.process.rlimits = [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]'
	assert_failed
	not_run
	expect_msg 'process\.rlimits\[0\]\.type.*"RLIMIT_FOO"'
}

@test "error: duplicate rlimit type" {
	# config.md: "If rlimits contains duplicated entries with same type, the runtime MUST
	# generate an error."
	runtime_diverges "runc crun" "accepts duplicated rlimits (the last one wins)"
	bad '.process.rlimits += [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100}]'
	assert_failed
	not_run
	expect_msg 'process\.rlimits\[1\]\.type.*"RLIMIT_NOFILE"'
}

@test "error: rlimit soft above hard" {
	bad '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 2000, "hard": 1000}]'
	assert_failed
	not_run
	expect_msg 'process\.rlimits\[0\]'
}

@test "error: terminal true without --console-socket" {
	bad '.process.terminal = true'
	assert_failed
	not_run
	expect_msg 'process\.terminal|console-socket'
}

@test "error: unknown sysctl" {
	bad '.linux.sysctl = {"net.skiff.nosuch": "1"}'
	assert_failed
	not_run
	expect_msg 'linux\.sysctl.*"net\.skiff\.nosuch"'
}

# ---------------------------------------------------------------------------------------------
# hooks and mounts

@test "error: relative hook path" {
	# config.md: path MUST be absolute. runc runs it relative to its cwd (the bundle).
	runtime_diverges "runc crun" "runs a relative hook path (resolved against the bundle) instead of refusing it"
	mkdir -p "$BUNDLE/hooks"
	printf '#!/bin/sh\nexit 0\n' >"$BUNDLE/hooks/x.sh"
	chmod 755 "$BUNDLE/hooks/x.sh"
	bad '.hooks.createRuntime = [{"path": "hooks/x.sh"}]'
	assert_failed
	not_run
	expect_msg 'hooks\.createRuntime\[0\]\.path.*"hooks/x\.sh"'
}

@test "error: hook timeout 0" {
	# config.md: "If set, timeout MUST be greater than zero."
	# runc 1.1.5 does not validate it but fails anyway: "hook ran past specified timeout of 0.0s".
	runtime_diverges crun "crun 1.8.1 accepts timeout 0"
	printf '#!/bin/sh\nexit 0\n' >"$TEST_TMP/ok.sh"
	chmod 755 "$TEST_TMP/ok.sh"
	bad --arg p "$TEST_TMP/ok.sh" '.hooks.createRuntime = [{"path": $p, "timeout": 0}]'
	assert_failed
	not_run
	expect_msg 'hooks\.createRuntime\[0\]\.timeout.*0'
}

@test "error: mount options is a string (\"ro\"), not an array" {
	runtime_diverges crun "crun 1.8.1 accepts (ignores) a string options"
	bad '.mounts += [{"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": "ro"}]'
	assert_failed
	not_run
	expect_msg 'mounts\[7\]\.options.*"ro"'
}

@test "error: bind mount of a source that does not exist" {
	bad --arg s "$TEST_TMP/no-such-source" '.mounts += [{"destination": "/x", "type": "bind", "source": $s, "options": ["bind"]}]'
	assert_failed
	not_run
	expect_msg 'mounts\[7\]\.source.*no-such-source'
}

@test "error: unknown mount type" {
	bad '.mounts += [{"destination": "/x", "type": "nosuchfs", "source": "none"}]'
	assert_failed
	not_run
	expect_msg 'mounts\[7\].*"nosuchfs"'
}

# ---------------------------------------------------------------------------------------------
# container ids

@test "error: id with /" {
	ct_create "a/b"
	assert_failed
	expect_msg '"a/b"'
}

@test "error: id .." {
	ct_create ".."
	assert_failed
	expect_msg '"\.\."'
}

@test "error: empty id" {
	ct_create ""
	assert_failed
	expect_msg 'empty'
}

@test "error: id too long (1025 characters)" {
	long="$(printf 'a%.0s' $(seq 1025))"
	ct_create "$long"
	assert_failed
	expect_msg 'too long'
}

@test "error: container id already exists" {
	ct_create "$CT"
	[ "$status" -eq 0 ]
	pid="$(ct_pid "$CT")"
	make_bundle b2
	set_cmd 'touch /marker; exec sleep 100'
	ct_create "$CT"
	assert_failed
	expect_msg 'already exists'
	expect_msg "\"$CT\""
	not_run
	# The first container is untouched.
	[ "$(ct_status "$CT")" = created ]
	[ "$(ct_pid "$CT")" = "$pid" ]
	[ "$(rt state "$CT" | jq -r .bundle)" = "$TEST_TMP/bundle" ]
}

# ---------------------------------------------------------------------------------------------
# command line and missing containers

@test "error: unknown command" {
	# runc exits 3 here ("No help topic for 'frobnicate'").
	run --separate-stderr rt frobnicate
	assert_failed runc
	expect_msg 'frobnicate'
}

@test "error: unknown flag" {
	run --separate-stderr rt create --frob --bundle "$BUNDLE" "$CT"
	assert_failed
	expect_msg '--frob'
	run --separate-stderr rt state "$CT"
	[ "$status" -ne 0 ]
}

@test "error: create without an id" {
	run --separate-stderr rt create --bundle "$BUNDLE"
	assert_failed
	expect_msg 'id'
}

@test "error: state of a missing id" {
	run --separate-stderr rt state "nosuch-$UNIQ"
	assert_failed
	expect_msg 'does not exist'
	expect_msg "\"nosuch-$UNIQ\""
}

@test "error: kill of a missing id" {
	run --separate-stderr rt kill "nosuch-$UNIQ" KILL
	assert_failed
	expect_msg 'does not exist'
}

@test "error: delete of a missing id" {
	run --separate-stderr rt delete "nosuch-$UNIQ"
	assert_failed
	expect_msg 'does not exist'
}

@test "error: start of a missing id" {
	run --separate-stderr rt start "nosuch-$UNIQ"
	assert_failed
	expect_msg 'does not exist'
}

@test "error: kill with an unknown signal leaves the container alone" {
	ct_create "$CT"
	[ "$status" -eq 0 ]
	runtime_diverges crun "crun 1.8.1 kill with an unknown signal name returns 0"
	run --separate-stderr rt kill "$CT" SIGFOO
	assert_failed
	expect_msg 'SIGFOO'
	[ "$(ct_status "$CT")" = created ]
}

@test "error: root.path through a symlink is refused (it could be swapped during setup)" {
	mv "$BUNDLE/rootfs" "$BUNDLE/real-rootfs"
	ln -s real-rootfs "$BUNDLE/rootfs"
	ct_create "$CT"
	assert_failed
	expect_msg 'root.path: "rootfs" goes through a symlink'
}
