#!/usr/bin/env bats
# linux.seccomp: profiles applied to the container process and to exec'd processes, Docker's
# default profile, arg comparisons, and SCMP_ACT_NOTIFY with a real listener.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

DOCKER_PROFILE="$BATS_TEST_DIRNAME/../SeccompTests/fixtures/docker-default.json"

@test "seccomp: a profile denying mkdir with errno 42, seen from inside" {
	cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
	     "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]}'
	set_cmd 'mkdir /tmp/x; echo "rc=$?"; grep Seccomp: /proc/self/status; test -d /tmp/x || echo no-dir'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	grep -q "rc=1" <<<"$output"
	grep -q "Seccomp:.2" <<<"$output"
	grep -q "no-dir" <<<"$output"
	# errno 42 is ENOMSG: busybox prints its text
	grep -qi "no message of desired type" <<<"$stderr"
}

@test "seccomp: Docker's default profile loads; unshare is denied, ordinary work is not" {
	cfg --slurpfile p "$DOCKER_PROFILE" '.linux.seccomp = $p[0]'
	set_cmd 'echo hello; ls / >/dev/null && echo ls-ok; unshare -U true && echo unshare-allowed || echo unshare-denied'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	grep -q hello <<<"$output"
	grep -q ls-ok <<<"$output"
	grep -q unshare-denied <<<"$output"
}

@test "seccomp: exec'd processes get the container's filter" {
	cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
	     "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]}'
	set_cmd 'exec sleep 100'
	start_container "$CT"
	run --separate-stderr rt exec "$CT" sh -c 'mkdir /tmp/y; echo rc=$?; grep Seccomp: /proc/self/status'
	echo "$output $stderr"
	grep -q "rc=1" <<<"$output"
	grep -q "Seccomp:.2" <<<"$output"
}

@test "seccomp: arg comparison: socket(AF_INET6) denied, AF_INET allowed" {
	cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
	     "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
	                   "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]}]}'
	add_ns network
	set_cmd 'nc -l -p 1234 -s 127.0.0.1 & sleep 0.2; echo x | nc 127.0.0.1 1234 && echo v4-ok; echo x | nc ::1 1234 2>&1 || echo v6-denied'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	grep -q "v6-denied" <<<"$output"
}

@test "seccomp: defaultAction KILL_PROCESS kills a process using an unlisted syscall" {
	cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
	     "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
	set_args /bin/busybox sh -c 'echo $PPID'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status: $output $stderr"
	[ "$status" -eq 159 ] # 128 + SIGSYS
}

@test "seccomp: a bad profile is refused at create with its JSON path; nothing is left" {
	cfg '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_NOPE"]}'
	ct_create "$CT"
	assert_failed
	expect_msg 'linux.seccomp.architectures\[0\]'
}

@test "seccomp: SCMP_ACT_NOTIFY: the agent at listenerPath gets the fd and the state, and its answer is what the container sees" {
	[ "$RUNTIME_NAME" = skiff ] || skip "runc 1.1.5 seccomp agent protocol differs"
	sock="$TEST_TMP/agent.sock"
	# A real agent: receives the listener fd and the state, then answers every notification
	# (SECCOMP_IOCTL_NOTIF_RECV / _SEND) with errno 42 (ENOMSG) until the container is gone.
	python3 - "$sock" "$TEST_TMP/agent.out" <<-'PY' &
	import fcntl, json, select, socket, struct, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
	open(sys.argv[2] + ".ready", "w").close()
	c, _ = s.accept()
	msg, fds, _, _ = socket.recv_fds(c, 65536, 1)
	st = json.loads(msg)
	out = {"fds": st.get("fds"), "metadata": st.get("metadata"), "status": st.get("state", {}).get("status"),
	       "nfds": len(fds), "answered": []}
	NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101  # _IOWR('!', 0/1, struct seccomp_notif/_resp)
	while fds and select.select([fds[0]], [], [], 10)[0]:
	    req = bytearray(80)
	    try:
	        fcntl.ioctl(fds[0], NOTIF_RECV, req, True)
	    except OSError:
	        break  # ENOENT: no process uses the filter any more
	    nid, pid, _, nr = struct.unpack_from("=QIIi", req)
	    fcntl.ioctl(fds[0], NOTIF_SEND, bytearray(struct.pack("=QqiI", nid, 0, -42, 0)), True)
	    out["answered"].append(nr)
	open(sys.argv[2], "w").write(json.dumps(out))
	PY
	wait_file "$TEST_TMP/agent.out.ready"
	cfg --arg s "$sock" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $s, "listenerMetadata": "meta-1",
	     "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}'
	set_cmd 'mkdir /made-here; echo "rc=$?"; [ -d /made-here ] && echo EXISTS; true'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	wait_file "$TEST_TMP/agent.out" 15
	cat "$TEST_TMP/agent.out"
	jq -e '.fds == ["seccompFd"] and .metadata == "meta-1" and .nfds == 1 and (.answered | length) >= 1' "$TEST_TMP/agent.out"
	# the agent's errno, not the kernel's: mkdir did not happen
	grep -q 'rc=1' <<<"$output"
	grep -q 'No message of desired type' <<<"$stderr"
	! grep -q EXISTS <<<"$output" || false
	[ ! -d "$BUNDLE/rootfs/made-here" ]
}
