#!/usr/bin/env bats
# The systemd cgroup driver (--systemd-cgroup), against a real systemd: Debian's systemd boots
# as pid 1 of a container (the host's /usr bound read-only into a small rootfs, a private
# cgroup namespace, the cgroup hierarchies writable inside, container=skiff), which also shows
# that systemd runs in a container made by the runtime. The runtime (bound in) then runs a
# container inside it with --systemd-cgroup: the scope unit exists in systemd, holds the
# container's processes, has its limits; update changes them; delete removes the unit. Then
# systemd is stopped (SIGRTMIN+3) and nothing is left.
#
# Needs Debian's systemd (and dbus for the system-bus test) installed on the host; booting
# takes about a second.

load helpers

setup_file() { skiff_setup_file; }
setup() {
	skiff_setup
	[ -x /lib/systemd/systemd ] || skip "systemd is not installed (apt-get install systemd)"
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# The capabilities of this host's bounding set, as a JSON array of names.
bounding_caps() {
	local names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
		NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT
		SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE
		AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
		PERFMON BPF CHECKPOINT_RESTORE)
	local bnd i out=()
	bnd=$((16#$(awk '/^CapBnd/ { print $2 }' /proc/self/status)))
	for i in "${!names[@]}"; do
		((bnd >> i & 1)) && out+=("CAP_${names[$i]}")
	done
	printf '%s\n' "${out[@]}" | jq -R . | jq -sc .
}

# make_systemd_bundle: $TEST_TMP/sd, a bundle that boots the host's systemd as pid 1 into an
# empty target, with the runtime at /rt and $TEST_TMP/inner (a busybox bundle) at /inner.
make_systemd_bundle() {
	make_bundle inner
	make_bundle sd
	local r="$BUNDLE/rootfs" d
	rm -rf "$r"
	mkdir -p "$r"/{usr,proc,sys,dev,run,tmp,root,var/tmp,var/lib,var/log,etc/systemd/system,inner}
	for d in bin sbin lib lib64 lib32 libx32; do
		[ -L "/$d" ] && ln -s "usr/$d" "$r/$d"
	done
	touch "$r/rt"
	cp /usr/lib/os-release "$r/etc/os-release"
	printf 'root:x:0:0:root:/root:/bin/sh\nmessagebus:x:100:102::/nonexistent:/usr/sbin/nologin\n' >"$r/etc/passwd"
	printf 'root:x:0:\nmessagebus:x:102:\n' >"$r/etc/group"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$r/etc/machine-id"
	echo >>"$r/etc/machine-id"
	printf '[Unit]\nDescription=skiff test target\n' >"$r/etc/systemd/system/skiff-test.target"
	ln -s skiff-test.target "$r/etc/systemd/system/default.target"
	cfg --argjson caps "$(bounding_caps)" --arg rt "$RUNTIME" --arg inner "$TEST_TMP/inner" '
		.process.args = ["/lib/systemd/systemd"] |
		.process.env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "container=skiff"] |
		.process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps} |
		.linux.namespaces = [{type: "pid"}, {type: "mount"}, {type: "ipc"}, {type: "uts"}, {type: "cgroup"}] |
		del(.linux.seccomp) | del(.linux.maskedPaths) | del(.linux.readonlyPaths) |
		.mounts = [
			{destination: "/proc", type: "proc", source: "proc"},
			{destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
			{destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
			{destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
			{destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]},
			{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "rw"]},
			{destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=755"]},
			{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]},
			{destination: "/usr", type: "bind", source: "/usr", options: ["rbind", "ro"]},
			{destination: "/rt", type: "bind", source: $rt, options: ["bind", "ro"]},
			{destination: "/inner", type: "bind", source: $inner, options: ["rbind"]}
		]'
	SD="sd-$UNIQ"
}

# in_sd CMD...: run CMD in the systemd container.
in_sd() {
	rt exec "$SD" "$@"
}

# Boot systemd and wait until it reports the system running (at most 30 s).
boot_systemd() {
	ct_run_detached "$SD"
	[ "$status" -eq 0 ] || {
		echo "run the systemd container: status $status: $stderr"
		return 1
	}
	local i st=""
	for ((i = 0; i < 300; i++)); do
		st="$(in_sd systemctl is-system-running 2>/dev/null)" || true
		case "$st" in running | degraded) return 0 ;; esac
		sleep 0.1
	done
	echo "systemd did not come up within 30 s (is-system-running: '$st')"
	in_sd systemctl list-jobs --no-pager || true
	return 1
}

# SIGRTMIN+3 asks systemd to halt: in a container it exits. Then delete the container.
stop_systemd() {
	rt kill "$SD" 37
	wait_status "$SD" stopped 20
	run rt delete "$SD"
	[ "$status" -eq 0 ] || {
		echo "delete the systemd container: $output"
		return 1
	}
}

# inner_run ID [EXTRA...]: the runtime inside, with --systemd-cgroup, runs /inner detached.
inner_run() {
	local id="$1"
	shift
	# The detached container keeps the stdio it is given: files in the systemd container.
	run --separate-stderr in_sd sh -c 'rt="$1"; shift; /rt "$@" </dev/null >/tmp/$rt.out 2>/tmp/$rt.err; r=$?; cat /tmp/$rt.err >&2; exit $r' \
		sh "$id" --root /run/rt-inner "$@" --systemd-cgroup run -d --bundle /inner "$id"
}

@test "systemd boots as pid 1 in a container, and --systemd-cgroup puts a container in a transient scope with its limits" {
	make_systemd_bundle
	BUNDLE="$TEST_TMP/inner" cfg '.process.args = ["sleep", "1000"] |
		.linux.cgroupsPath = "system.slice:skiff-test:in1" |
		.linux.resources = {"pids": {"limit": 17}, "memory": {"limit": 33554432}}'
	boot_systemd
	# systemd is pid 1 in its container, and manages it (its own cgroup: init.scope).
	run in_sd cat /proc/1/comm
	[ "$output" = systemd ]
	run in_sd systemctl show -p ControlGroup --value init.scope
	[ "$output" = /init.scope ]

	inner_run in1 --debug
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	if [ "$RUNTIME_NAME" = skiff ]; then
		grep -q 'StartTransientUnit skiff-test-in1.scope in system.slice over /run/systemd/private' <<<"$stderr"
	fi

	# The unit exists, delegated, in its slice, with the limits as unit properties.
	run in_sd systemctl show -p LoadState,ActiveState,ControlGroup,Slice,Delegate,TasksMax skiff-test-in1.scope
	echo "$output"
	grep -qx LoadState=loaded <<<"$output"
	grep -qx ActiveState=active <<<"$output"
	grep -qx ControlGroup=/system.slice/skiff-test-in1.scope <<<"$output"
	grep -qx Slice=system.slice <<<"$output"
	grep -qx Delegate=yes <<<"$output"
	grep -qx TasksMax=17 <<<"$output"

	# The container's init is in the scope in every hierarchy, and the limits are in force.
	local pid
	pid="$(in_sd /rt --root /run/rt-inner state in1 | jq -r .pid)"
	[ "$pid" -gt 1 ]
	run in_sd cat "/proc/$pid/cgroup"
	echo "$output"
	! grep -v ':/system.slice/skiff-test-in1.scope$' <<<"$output"
	run in_sd sh -c 'cat /sys/fs/cgroup/pids/system.slice/skiff-test-in1.scope/pids.max 2>/dev/null || cat /sys/fs/cgroup/system.slice/skiff-test-in1.scope/pids.max'
	[ "$output" = 17 ]
	# More processes than pids.limit: the 18th fork fails.
	run in_sd /rt --root /run/rt-inner exec in1 sh -c 'for i in $(seq 20); do sleep 100 </dev/null >/dev/null 2>&1 & done 2>&1'
	echo "$output"
	[[ "$output" == *"an't fork"* || "$output" == *"Resource temporarily unavailable"* ]]

	# delete stops the unit: systemd no longer knows it, its cgroup is gone.
	run in_sd /rt --root /run/rt-inner delete --force in1
	[ "$status" -eq 0 ]
	run in_sd systemctl show -p LoadState --value skiff-test-in1.scope
	[ "$output" = not-found ]
	run in_sd sh -c 'ls -d /sys/fs/cgroup/*/system.slice/skiff-test-in1.scope /sys/fs/cgroup/system.slice/skiff-test-in1.scope 2>/dev/null'
	[ -z "$output" ]

	stop_systemd
}

@test "--systemd-cgroup: update sets the unit's properties and the cgroup; delete after the container exited; a failed create stops its scope" {
	make_systemd_bundle
	BUNDLE="$TEST_TMP/inner" cfg '.process.args = ["sleep", "1000"] | .linux.cgroupsPath = ":skiff-test:up" |
		.linux.resources = {"pids": {"limit": 30}}'
	boot_systemd
	inner_run up
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	run in_sd /rt --root /run/rt-inner update --pids-limit 42 up
	echo "$output"
	[ "$status" -eq 0 ]
	run in_sd systemctl show -p TasksMax --value skiff-test-up.scope
	[ "$output" = 42 ]
	# systemd re-applies its properties on daemon-reload: the new value stays.
	in_sd systemctl daemon-reload
	run in_sd sh -c 'cat /sys/fs/cgroup/pids/system.slice/skiff-test-up.scope/pids.max 2>/dev/null || cat /sys/fs/cgroup/system.slice/skiff-test-up.scope/pids.max'
	[ "$output" = 42 ]
	# The container exits by itself: systemd stops the empty scope; delete (without --force)
	# removes what is left.
	run in_sd /rt --root /run/rt-inner kill up KILL
	[ "$status" -eq 0 ]
	for ((i = 0; i < 50; i++)); do
		[ "$(in_sd /rt --root /run/rt-inner state up | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	run in_sd /rt --root /run/rt-inner delete up
	[ "$status" -eq 0 ]
	run in_sd systemctl show -p LoadState --value skiff-test-up.scope
	[ "$output" = not-found ]
	run in_sd sh -c 'ls -d /sys/fs/cgroup/*/system.slice/skiff-test-up.scope /sys/fs/cgroup/system.slice/skiff-test-up.scope 2>/dev/null'
	[ -z "$output" ]

	# A create that fails once the scope exists (a limit that cannot be written) stops it.
	BUNDLE="$TEST_TMP/inner" cfg '.linux.resources = {"unified": {"skiff.bogus": "1"}}'
	inner_run up
	echo "$stderr"
	[ "$status" -ne 0 ]
	expect_msg 'skiff.bogus'
	run in_sd systemctl show -p LoadState --value skiff-test-up.scope
	[ "$output" = not-found ]
	run in_sd sh -c 'ls /run/rt-inner; ls -d /sys/fs/cgroup/*/system.slice/skiff-test-up.scope /sys/fs/cgroup/system.slice/skiff-test-up.scope 2>/dev/null'
	[ -z "$output" ]
	stop_systemd
}

@test "--systemd-cgroup over the system bus (dbus-daemon), and a unit that already exists" {
	[ -x /usr/bin/dbus-daemon ] || skip "dbus is not installed (apt-get install dbus)"
	make_systemd_bundle
	BUNDLE="$TEST_TMP/inner" cfg '.process.args = ["sleep", "1000"] | .linux.cgroupsPath = ":skiff-test:bus"'
	boot_systemd
	in_sd systemctl start dbus.socket
	in_sd test -S /run/dbus/system_bus_socket
	inner_run bus --debug
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	if [ "$RUNTIME_NAME" = skiff ]; then
		grep -q 'over /run/dbus/system_bus_socket' <<<"$stderr"
	fi
	run in_sd systemctl show -p ActiveState --value skiff-test-bus.scope
	[ "$output" = active ]

	# Another container with the same unit name: refused, the first one untouched. (runc
	# 1.1.5 puts the second container into the first one's scope, with a deprecation warning,
	# and then hangs: skiff's own check.)
	if [ "$RUNTIME_NAME" = skiff ]; then
		run --separate-stderr in_sd sh -c '/rt --root /run/rt-inner2 --systemd-cgroup run -d --bundle /inner bus2 </dev/null >/dev/null'
		assert_failed
		expect_msg 'linux.cgroupsPath: the systemd unit "skiff-test-bus.scope" already exists'
		run in_sd sh -c 'ls /run/rt-inner2'
		[ -z "$output" ]
		run in_sd systemctl show -p ActiveState --value skiff-test-bus.scope
		[ "$output" = active ]
	fi

	# skiff: a damaged state (cut after the fields that matter) still names the unit, and
	# delete --force stops it.
	if [ "$RUNTIME_NAME" = skiff ]; then
		in_sd sh -c 'f=/run/rt-inner/bus/state.json; grep -q "\"systemdUnit\":\"skiff-test-bus.scope\"" $f && t="$(sed "s/\"ociVersion\".*//" $f)" && printf %s "$t" >$f'
		run --separate-stderr in_sd /rt --root /run/rt-inner state bus
		[ "$status" -ne 0 ]
	fi
	run in_sd /rt --root /run/rt-inner delete --force bus
	[ "$status" -eq 0 ]
	run in_sd systemctl show -p LoadState --value skiff-test-bus.scope
	[ "$output" = not-found ]
	run in_sd sh -c 'ls /run/rt-inner; ls -d /sys/fs/cgroup/*/system.slice/skiff-test-bus.scope /sys/fs/cgroup/system.slice/skiff-test-bus.scope 2>/dev/null'
	[ -z "$output" ]
	stop_systemd
}

@test "--systemd-cgroup: a malformed linux.cgroupsPath is refused, naming it" {
	local p
	for p in "/skiff-test/$UNIQ-x" "a:b" "nope:pre:x" "bad-.slice:pre:x" "system.slice:pre:" "system.slice:p/q:x"; do
		cfg --arg p "$p" '.linux.cgroupsPath = $p'
		run --separate-stderr rt --systemd-cgroup run -d --bundle "$BUNDLE" "$CT"
		echo "$p: $status $stderr"
		assert_failed
		expect_msg 'linux.cgroupsPath'
		[ ! -d "$ROOT/$CT" ]
	done
}

@test "--systemd-cgroup without a reachable systemd: a clear error, nothing left" {
	cfg --arg cg ":skiff-test:$UNIQ" '.linux.cgroupsPath = $cg'
	# A /run of its own: no system bus, no systemd private socket.
	run --separate-stderr unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run && exec "$@"' sh \
		"$RUNTIME" --root "$ROOT" --systemd-cgroup run -d --bundle "$BUNDLE" "$CT"
	echo "$stderr"
	assert_failed
	expect_msg '--systemd-cgroup: cannot reach systemd at /run/dbus/system_bus_socket: .* nor at /run/systemd/private: .*is systemd pid 1\?'
	[ ! -d "$ROOT/$CT" ]
}

@test "a systemd cgroupsPath without --systemd-cgroup is refused" {
	# runc takes such a path as a cgroupfs directory name; skiff asks for the flag.
	[ "$RUNTIME_NAME" = skiff ] || skip "skiff's own check"
	cfg '.linux.cgroupsPath = "system.slice:skiff-test:x"'
	ct_create "$CT"
	assert_failed
	expect_msg 'linux.cgroupsPath: "system.slice:skiff-test:x" looks like a systemd path .*--systemd-cgroup'
}
