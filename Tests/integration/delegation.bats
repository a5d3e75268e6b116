#!/usr/bin/env bats
# Cgroup delegation: with a cgroup namespace of its own and the cgroup filesystem mounted
# writable at /sys/fs/cgroup, the container's cgroup v2 directory and its delegatable files
# (cgroup.procs, cgroup.subtree_control, ...) belong to process.user (its host uid with a user
# namespace), as runc does; with a read-only mount they stay root's. Checked from inside the
# container, on the host's layout and on a pure cgroup v2 one. runc 1.1.5 predates this (runc
# 1.2 chowns the cgroup the same way): it leaves the cgroup to root, and these tests show it
# (65534, the overflow uid, in a user namespace).

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# owners [v2]: run the bundle, which prints the owner uid of its cgroup directory and of its
# cgroup.procs, cgroup.subtree_control (in /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid).
owners() {
	add_ns cgroup
	cfg '.mounts |= map(select(.destination != "/sys/fs/cgroup")) |
		.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", $rw]}]' --arg rw "${RW:-rw}"
	set_cmd 'd=/sys/fs/cgroup; [ -e $d/unified/cgroup.procs ] && d=$d/unified; stat -c %u $d $d/cgroup.procs $d/cgroup.subtree_control | tr "\n" " "'
	if [ "${1:-}" = v2 ]; then
		run --separate-stderr unshare -m --propagation private sh -c '
			for d in $(awk '"'"'{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5; break } }'"'"' /proc/self/mountinfo); do
				umount "$d" || exit 99
			done
			umount /sys/fs/cgroup 2>/dev/null
			mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 98
			exec timeout --kill-after=5 60 "$@"' sh "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CT"
	else
		run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	fi
	echo "status $status: $output $stderr"
}

@test "delegation: a writable cgroup mount in a new cgroup namespace gives the cgroup to process.user" {
	runtime_diverges runc "runc 1.1.5 does not delegate the cgroup (runc 1.2 does)"
	cfg '.process.user.uid = 1000 | .process.user.gid = 1000'
	owners
	[ "$status" -eq 0 ]
	[ "$output" = "1000 1000 1000 " ]
}

@test "delegation on pure cgroup v2" {
	runtime_diverges runc "runc 1.1.5 does not delegate the cgroup (runc 1.2 does)"
	cfg '.process.user.uid = 1000 | .process.user.gid = 1000'
	owners v2
	[ "$status" -eq 0 ]
	[ "$output" = "1000 1000 1000 " ]
}

@test "delegation: none with a read-only cgroup mount" {
	cfg '.process.user.uid = 1000 | .process.user.gid = 1000'
	RW=ro owners v2
	[ "$status" -eq 0 ]
	[ "$output" = "0 0 0 " ]
}

@test "delegation with a user namespace: the host uid of the container user" {
	runtime_diverges runc "runc 1.1.5 does not delegate the cgroup (runc 1.2 does)"
	add_ns user
	cfg '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	owners v2
	[ "$status" -eq 0 ]
	# Seen from inside: the container's root owns its cgroup.
	[ "$output" = "0 0 0 " ]
	# (Without delegation, host root would show as the overflow uid 65534.)
}
