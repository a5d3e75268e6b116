#!/usr/bin/env bats
# Regression tests of known container escapes (issue 6): each one is the attack, made by a hostile
# container, bundle or image, and asserts that the host stayed safe and, where skiff refuses, that
# it says why. Each test fails against a build without that defence: scripts/weakened-check.sh
# applies Tests/integration/weakened/<CVE>.patch and checks (see weakened/README.md).
#
# The sixth defence of issue 6, mount destinations that are symlinks pointing out of the rootfs,
# is tested in mounts.bats ("a mount destination that is a symlink pointing outside stays inside
# the rootfs"); weakened-check.sh checks that one too.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

RECVTTY="$BATS_TEST_DIRNAME/tools/recvtty.py"

# runc 1.1.5 (the reference here) predates the fixes of CVE-2025-31133 and CVE-2025-52565 (1.2.8)
# and fails those tests (SKIFF_CVE_ALL_RUNTIMES=1 shows it); it passes the CVE-2024-21626 and
# CVE-2025-52881 attacks here (it closes inherited fds, and refuses mounts over /proc).
fixed_runtimes_only() {
	[ "$RUNTIME_NAME" = skiff ] || [ "${SKIFF_CVE_ALL_RUNTIMES:-0}" = 1 ] ||
		skip "$RUNTIME_NAME: $1 (set SKIFF_CVE_ALL_RUNTIMES=1 to run it anyway)"
}

add_mount() {
	cfg --argjson m "$1" '.mounts += [$m]'
}

# wait_grep REGEX FILE [SECONDS=10]
wait_grep() {
	local i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		grep -Eq -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$2 does not show /$1/ within ${3:-10}s:"
	cat "$2"
	return 1
}

@test "CVE-2019-5736: the container cannot open skiff's binary for writing through /proc/PID/exe" {
	fixed_runtimes_only "runc 1.1.5 runs from a sealed memfd copy of its binary; this attack is written against skiff's read-only view"
	local bin sum
	bin="$(readlink -f "$RUNTIME")"
	sum="$(sha256sum "$bin" | cut -d' ' -f1)"
	# The attacker, pid 1 of the container: grab the /proc/PID/exe of any process that is not
	# busybox, wait for that process to exit (the kernel refuses writes to a binary that runs),
	# then reopen the file through /proc/self/fd for reading and writing (without writing anything).
	set_cmd '
		while :; do
			for d in /proc/[0-9]*; do
				[ "$d" = /proc/1 ] && continue
				t="$(readlink "$d/exe" 2>/dev/null)" || continue
				[ "$t" = /bin/busybox ] && continue
				( : <"$d/exe" ) 2>/dev/null || continue
				exec 3<"$d/exe"
				echo "grabbed $d ($t)"
				while [ "$(readlink "$d/exe" 2>/dev/null)" = "$t" ]; do sleep 0.05; done
				# skiff processes on the host may still run it for a moment: retry while "busy".
				for i in $(seq 50); do
					if ( exec 4<>/proc/self/fd/3 ) 2>/tmp/err; then echo WRITABLE; exec sleep 100; fi
					grep -q busy /tmp/err || break
					sleep 0.1
				done
				echo "DENIED: $(cat /tmp/err)"
				exec sleep 100
			done
		done'
	ct_run_detached "$CT"
	[ "$status" -eq 0 ]
	# The victim: an exec whose program is /proc/self/exe, i.e. skiff's own binary run in the
	# container. `update --resources -` reads its stdin first, so it stays alive for a second.
	run --separate-stderr bash -c 'sleep 1 | "$@"' _ "$RUNTIME" --root "$ROOT" exec "$CT" /proc/self/exe update --resources - nothing
	echo "exec: status $status, stderr: $stderr"
	wait_grep '^(WRITABLE|DENIED)' "$CT_OUT"
	cat "$CT_OUT"
	! grep -q WRITABLE "$CT_OUT" || false
	grep -q 'DENIED: .*Read-only file system' "$CT_OUT"
	[ "$(sha256sum "$bin" | cut -d' ' -f1)" = "$sum" ]

	# skiff's own processes in the container (here the init of a created container, which waits
	# for `start`) are not dumpable: neither their exe nor their fds can be opened.
	make_bundle b2
	BUNDLE="$TEST_TMP/b2" ct_create "$CT2"
	[ "$status" -eq 0 ]
	run --separate-stderr rt exec "$CT2" sh -c 'readlink /proc/1/exe; for f in /proc/1/fd/*; do readlink "$f"; done
		cat /proc/1/exe >/dev/null && echo READ-EXE; cd /proc/1/cwd && echo CWD; ls /proc/1/root/ && echo ROOT'
	echo "stdout: $output"
	echo "stderr: $stderr"
	[ -z "$output" ]
	grep -q 'Permission denied' <<<"$stderr"
	[ "$(sha256sum "$bin" | cut -d' ' -f1)" = "$sum" ]
}

@test "CVE-2024-21626: no host fd reaches the container, and process.cwd cannot lead out through one" {
	local host="$TEST_TMP/hostdir"
	mkdir -p "$host"
	echo host-secret >"$host/secret"
	# The caller of the runtime (a shim, a daemon) leaks a host directory as fd 7.
	set_cmd 'ls /proc/self/fd | xargs; cat /proc/self/fd/7/secret; exec sleep 100'
	ct_run_detached "$CT" 7<"$host"
	[ "$status" -eq 0 ]
	sleep 0.3
	cat "$CT_OUT" "$CT_ERR"
	[ "$(sed -n 1p "$CT_OUT")" = "0 1 2 3" ]
	! grep -q host-secret "$CT_OUT" || false

	# exec: the same fd is not in the exec'd process...
	run --separate-stderr rt exec "$CT" sh -c 'ls /proc/self/fd | xargs; cat /proc/self/fd/7/secret' 7<"$host"
	echo "exec: $status, stdout: $output, stderr: $stderr"
	[ "$(sed -n 1p <<<"$output")" = "0 1 2 3" ]
	! grep -q host-secret <<<"$output" || false
	# ...and --cwd through it is refused with the reason, before the program runs.
	run --separate-stderr rt exec --cwd /proc/self/fd/7 "$CT" sh -c 'pwd; cat secret; ls ..' 7<"$host"
	echo "exec --cwd: $status, stdout: $output, stderr: $stderr"
	[ "$status" -ne 0 ]
	! grep -q host-secret <<<"$output" || false
	expect_msg 'process\.cwd: "/proc/self/fd/7" leads outside the container.s root filesystem'

	# process.cwd of the container's own process: refused too.
	make_bundle b2
	BUNDLE="$TEST_TMP/b2" cfg '.process.cwd = "/proc/self/fd/7" | .process.args = ["cat", "secret"]'
	run --separate-stderr rt run --bundle "$TEST_TMP/b2" "$CT2" 7<"$host"
	echo "run: $status, stdout: $output, stderr: $stderr"
	[ "$status" -ne 0 ]
	! grep -q host-secret <<<"$output" || false
	expect_msg 'process\.cwd'
}

@test "CVE-2025-31133: a /dev/null that is a symlink is not used to mask a path" {
	fixed_runtimes_only "runc 1.1.5 is vulnerable (fixed in 1.2.8)"
	# A volume shared with another container provides /dev, where /dev/null was swapped for a
	# symlink to a file the attacker wants exposed (here harmless: /proc/sys/kernel/ostype).
	local shared="$TEST_TMP/shared-dev"
	mkdir -p "$shared"
	ln -s /proc/sys/kernel/ostype "$shared/null"
	cfg --arg s "$shared" '.mounts |= map(if .destination == "/dev" then {"destination": "/dev", "type": "bind", "source": $s, "options": ["rbind"]} else . end)'
	cfg '.linux.maskedPaths = ["/proc/version"]'
	set_cmd 'echo "masked:[$(cat /proc/version)]"'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "run: $status, stdout: $output, stderr: $stderr"
	# Never exposed through the mask...
	! grep -q 'masked:\[.' <<<"$output" || false
	# ...because skiff refuses, and says why.
	[ "$status" -ne 0 ]
	expect_msg 'linux\.maskedPaths\[0\]: cannot mask "/proc/version": /dev/null in the container is not the null device \(it is a symlink\)'
	[ -L "$shared/null" ]
}

@test "CVE-2025-52565: a /dev/console that is a symlink does not redirect the console's mount" {
	fixed_runtimes_only "runc 1.1.5 is vulnerable (fixed in 1.2.8)"
	# An image without a tmpfs on /dev, whose /dev/console points at a file of the container.
	cfg '.mounts |= map(select(.destination != "/dev")) | .process.terminal = true'
	echo canary >"$BUNDLE/rootfs/etc/canary"
	ln -s /etc/canary "$BUNDLE/rootfs/dev/console"
	set_cmd 'ls -l /etc/canary; cat /etc/canary'
	TTY_SOCK="$TEST_TMP/tty.sock"
	python3 "$RECVTTY" "$TTY_SOCK" "$TEST_TMP/tty.out" &
	on_teardown "kill $! 2>/dev/null"
	wait_file "$TEST_TMP/tty.out.ready"
	ct_create "$CT" --console-socket "$TTY_SOCK"
	echo "create: $status, stderr: $stderr"
	if [ "$status" -eq 0 ]; then
		rt start "$CT"
		sleep 0.5
		cat "$TEST_TMP/tty.out"
	fi
	[ "$status" -ne 0 ]
	expect_msg 'process\.terminal: /dev/console: it is a symlink in the rootfs.*CVE-2025-52565'
	[ -f "$BUNDLE/rootfs/etc/canary" ] && [ "$(cat "$BUNDLE/rootfs/etc/canary")" = canary ]
}

@test "CVE-2025-52881: sysctl writes are not redirected by a mount or a symlink over /proc" {
	# A volume mounted over /proc/sys/net, whose ipv4/ip_forward links elsewhere (an attacker
	# racing through a shared mount can do the same): the write would land in the volume's file.
	local vol="$TEST_TMP/vol"
	mkdir -p "$vol/ipv4"
	: >"$vol/written"
	ln -s /proc/sys/net/written "$vol/ipv4/ip_forward"
	add_mount "$(jq -n --arg s "$vol" '{"destination": "/proc/sys/net", "type": "bind", "source": $s, "options": ["rbind"]}')"
	cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "run: $status, stdout: $output, stderr: $stderr"
	[ ! -s "$vol/written" ]
	[ "$status" -ne 0 ]
	expect_msg 'linux\.sysctl\["net\.ipv4\.ip_forward"\]: cannot set it to "1": another mount covers part of the path'

	# /proc itself replaced by a directory of the attacker's, with a regular file for the sysctl.
	make_bundle b2
	local fake="$TEST_TMP/fakeproc"
	mkdir -p "$fake/sys/net/ipv4"
	: >"$fake/sys/net/ipv4/ip_forward"
	BUNDLE="$TEST_TMP/b2" cfg --arg s "$fake" '.mounts |= map(if .destination == "/proc" then {"destination": "/proc", "type": "bind", "source": $s, "options": ["rbind"]} else . end) | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	run --separate-stderr rt run --bundle "$TEST_TMP/b2" "$CT2"
	echo "run: $status, stdout: $output, stderr: $stderr"
	[ ! -s "$fake/sys/net/ipv4/ip_forward" ]
	[ "$status" -ne 0 ]
	expect_msg 'linux\.sysctl\["net\.ipv4\.ip_forward"\]: /proc is not the root of a procfs mount'
}
