#!/usr/bin/env bats
# Namespaces: new (no path), joined (path to another container's namespace), and inherited
# from the host (no entry). Identity is the namespace link, e.g. "net:[4026532000]".

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# spec type -> /proc/PID/ns/ name
proc_ns() {
	case "$1" in
	network) echo net ;;
	mount) echo mnt ;;
	*) echo "$1" ;;
	esac
}

require_ns() {
	[ -e "/proc/self/ns/$(proc_ns "$1")" ] || skip "kernel has no $1 namespace (/proc/self/ns/$(proc_ns "$1") missing)"
}

USERNS_MAPS='.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
	| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
TIME_OFFSETS='.linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 0}}'

# Extra config a namespace type needs when it is created new.
ns_extra() {
	case "$1" in
	user) cfg "$USERNS_MAPS" ;;
	time) cfg "$TIME_OFFSETS" ;;
	esac
}

unsupported_by_runtime() {
	if [ "$1" = mount ] && [ "${2:-}" = join ]; then
		runtime_diverges runc "runc 1.1.5 cannot join a mount namespace by path: it prepares the rootfs again inside it and fails (error preparing rootfs: open /proc/self/mountinfo)"
		runtime_diverges crun "crun 1.8.1 cannot join a mount namespace by path (write to sync socket: Broken pipe)"
	fi
	if [ "$1" = time ]; then
		runtime_diverges crun "crun 1.8.1 fails to create any time namespace on this kernel (write to sync socket: Connection reset by peer)"
		# runc 1.1.5 has no time namespace support (added in runc 1.2).
		runtime_diverges runc "no time namespace support in runc 1.1.5"
	fi
}

# The container prints the link of its own namespace; run it to completion.
run_print_ns() {
	local t="$1"
	set_cmd "readlink /proc/self/ns/$(proc_ns "$t")"
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT2"
	echo "status $status, stdout: $output, stderr: $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == "$(proc_ns "$t"):["* ]]
}

# NEW: the namespace differs from the host's, and the host sees the same link for the
# container's pid as the container itself does.
check_new() {
	local t="$1" p host inside hostview
	require_ns "$t"
	unsupported_by_runtime "$t"
	p="$(proc_ns "$t")"
	add_ns "$t"
	ns_extra "$t"
	set_cmd "readlink /proc/self/ns/$p > /ns.out; exec sleep 100"
	[ "$t" = user ] && chown 100000:100000 "$BUNDLE/rootfs"
	start_container "$CT"
	wait_file "$BUNDLE/rootfs/ns.out"
	sleep 0.1
	inside="$(cat "$BUNDLE/rootfs/ns.out")"
	host="$(ns_of $$ "$p")"
	hostview="$(ns_of "$(ct_pid "$CT")" "$p")"
	echo "inside=$inside host=$host hostview(container pid)=$hostview"
	[[ "$inside" == "$p:["* ]]
	[ "$inside" != "$host" ]
	[ "$inside" = "$hostview" ]
}

# JOINED: a second container given path=/proc/<pid1>/ns/X is in the first one's namespace.
check_join() {
	local t="$1" p pid1 want b1
	require_ns "$t"
	unsupported_by_runtime "$t" join
	p="$(proc_ns "$t")"
	b1="$BUNDLE"
	add_ns "$t"
	ns_extra "$t"
	set_cmd 'exec sleep 100'
	start_container "$CT"
	pid1="$(ct_pid "$CT")"
	want="$(ns_of "$pid1" "$p")"
	[ "$want" != "$(ns_of $$ "$p")" ]

	make_bundle b2
	add_ns "$t" "/proc/$pid1/ns/$p"
	case "$t" in
	user) cfg "$USERNS_MAPS" ;;
	uts) cfg 'del(.hostname)' ;; # do not rename the first container's host
	# A joined mount namespace is used as it is, with the first container's /proc: share its
	# pid namespace too (a sidecar), or /proc/self would not resolve.
	mount) add_ns pid "/proc/$pid1/ns/pid" ;;
	esac
	run_print_ns "$t"
	echo "joined: $output, first container: $want"
	[ "$output" = "$want" ]
}

# HOST: no entry of that type -> the container is in the runtime's (host's) namespace.
check_host() {
	local t="$1" p
	require_ns "$t"
	p="$(proc_ns "$t")"
	del_ns "$t"
	case "$t" in
	uts) cfg 'del(.hostname)' ;; # a hostname needs a private UTS namespace
	network) cfg '.mounts |= map(select(.destination != "/sys" and .destination != "/sys/fs/cgroup"))' ;;
	esac
	CT2="$CT"
	run_print_ns "$t"
	echo "container: $output, host: $(ns_of $$ "$p")"
	[ "$output" = "$(ns_of $$ "$p")" ]
}

@test "pid namespace: new" { check_new pid; }
@test "pid namespace: joined by path" { check_join pid; }
@test "pid namespace: host (no entry)" { check_host pid; }

@test "network namespace: new" { check_new network; }
@test "network namespace: joined by path" { check_join network; }
@test "network namespace: host (no entry)" { check_host network; }

@test "ipc namespace: new" { check_new ipc; }
@test "ipc namespace: joined by path" { check_join ipc; }
@test "ipc namespace: host (no entry)" { check_host ipc; }

@test "uts namespace: new" { check_new uts; }
@test "uts namespace: joined by path" { check_join uts; }
@test "uts namespace: host (no entry)" { check_host uts; }

@test "mount namespace: new" { check_new mount; }
@test "mount namespace: joined by path" { check_join mount; }

@test "cgroup namespace: new" { check_new cgroup; }
@test "cgroup namespace: joined by path" { check_join cgroup; }
@test "cgroup namespace: host (no entry)" { check_host cgroup; }

@test "user namespace: new" { check_new user; }
@test "user namespace: joined by path" { check_join user; }
@test "user namespace: host (no entry)" { check_host user; }

@test "time namespace: new" { check_new time; }
@test "time namespace: joined by path" { check_join time; }
@test "time namespace: host (no entry)" { check_host time; }

@test "pid namespace: the container's init is pid 1 and sees only its own processes" {
	set_cmd 'echo $$; ls -d /proc/[0-9]* | wc -l'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = 1 ]
	# sh, ls and wc at most
	[ "$(sed -n 2p <<<"$output")" -le 3 ]
}

@test "network namespace: a new one has only lo" {
	set_cmd 'ls /sys/class/net'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "lo" ]
}

@test "user namespace: uid_map and gid_map inside are 0 100000 65536" {
	add_ns user
	cfg "$USERNS_MAPS"
	chown 100000:100000 "$BUNDLE/rootfs"
	set_cmd 'cat /proc/self/uid_map /proc/self/gid_map; id -u'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
	[ "$(sed -n 2p <<<"$output" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
	[ "$(sed -n 3p <<<"$output")" = 0 ]
}

@test "user namespace: the container's root is uid 100000 on the host" {
	add_ns user
	cfg "$USERNS_MAPS"
	chown 100000:100000 "$BUNDLE/rootfs"
	set_cmd 'exec sleep 100'
	start_container "$CT"
	pid="$(ct_pid "$CT")"
	grep '^Uid:' "/proc/$pid/status"
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = 100000 ]
	[ "$(awk '/^Gid:/ {print $2}' "/proc/$pid/status")" = 100000 ]
}

@test "time namespace: timeOffsets show in /proc/self/timens_offsets" {
	require_ns time
	unsupported_by_runtime time
	add_ns time
	cfg "$TIME_OFFSETS"
	set_cmd 'cat /proc/self/timens_offsets; cut -d" " -f1 /proc/uptime'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	grep -E '^monotonic[[:space:]]+86400[[:space:]]+0$' <<<"$output"
	grep -E '^boottime[[:space:]]+172800[[:space:]]+0$' <<<"$output"
	# uptime follows CLOCK_BOOTTIME: at least two days inside.
	up="$(sed -n 3p <<<"$output")"
	[ "${up%.*}" -ge 172800 ]
}

@test "namespace path of the wrong type is an error" {
	add_ns network "/proc/$$/ns/ipc"
	ct_create "$CT"
	assert_failed
}
