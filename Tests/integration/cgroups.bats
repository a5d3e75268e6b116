#!/usr/bin/env bats
# Cgroups: every resource written and read back (v1 here, v2 in a private mount namespace
# where the v1 hierarchies are unmounted), the device allow-list (v1 files and the v2 eBPF
# program), OOM kills and their events, a CPU quota measured, update, events, and no cgroup
# directory left after many create/delete cycles, failing ones included.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# The container's directory in the v1 hierarchy of CONTROLLER (or "unified").
cgdir() {
	local cg mp
	cg="$(jq -r .linux.cgroupsPath "$BUNDLE/config.json")"
	if [ "$1" = unified ]; then
		mp="$(mounts_of cgroup2 | head -n1)"
	else
		mp="$(awk -v c="$1" '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup") { n = split($(i+3), o, ","); for (j = 1; j <= n; j++) if (o[j] == c) print $5 }; break } }' /proc/self/mountinfo | head -n1)"
	fi
	[ -n "$mp" ] || return 1
	echo "$mp$cg"
}

mounts_of() {
	awk -v t="$1" '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == t) print $5; break } }' /proc/self/mountinfo
}

# in_layout v1|v2 ARGS...: the runtime in a private mount namespace that has only the v1
# hierarchies (cgroup2 unmounted) or only cgroup2 (every v1 hierarchy unmounted).
in_layout() {
	local layout="$1" fstype
	shift
	case "$layout" in
	v1) fstype=cgroup2 ;;
	v2) fstype=cgroup ;;
	esac
	unshare -m --propagation private sh -c '
		for d in $(awk -v t="$1" '"'"'{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == t) print $5; break } }'"'"' /proc/self/mountinfo); do
			umount "$d" || exit 99
		done
		shift
		exec timeout --kill-after=5 60 "$@"' sh "$fstype" "$RUNTIME" --root "$ROOT" "$@"
}

running() {
	set_cmd 'exec sleep 100'
	start_container "$CT"
}

@test "resources v1: memory, cpu, cpuset, pids and blkio are written and read back" {
	[ -n "$(cgdir memory)" ] && [ -n "$(cgdir cpu)" ] || skip "no v1 memory/cpu hierarchies here"
	cfg '.linux.resources = {
		"memory": {"limit": 33554432, "reservation": 16777216, "swap": 67108864, "swappiness": 10},
		"cpu": {"shares": 512, "quota": 20000, "period": 50000, "burst": 1000, "cpus": "0", "mems": "0", "idle": 0},
		"pids": {"limit": 42},
		"blockIO": {"throttleReadBpsDevice": [{"major": 7, "minor": 0, "rate": 1048576}],
		            "throttleWriteIOPSDevice": [{"major": 7, "minor": 0, "rate": 100}]}
	}'
	running
	m="$(cgdir memory)" c="$(cgdir cpu)" s="$(cgdir cpuset)" p="$(cgdir pids)" b="$(cgdir blkio)"
	[ "$(cat "$m/memory.limit_in_bytes")" = 33554432 ]
	[ "$(cat "$m/memory.soft_limit_in_bytes")" = 16777216 ]
	if [ -f "$m/memory.memsw.limit_in_bytes" ]; then [ "$(cat "$m/memory.memsw.limit_in_bytes")" = 67108864 ]; fi
	[ "$(cat "$m/memory.swappiness")" = 10 ]
	[ "$(cat "$c/cpu.shares")" = 512 ]
	[ "$(cat "$c/cpu.cfs_quota_us")" = 20000 ]
	[ "$(cat "$c/cpu.cfs_period_us")" = 50000 ]
	if [ -f "$c/cpu.cfs_burst_us" ]; then [ "$(cat "$c/cpu.cfs_burst_us")" = 1000 ]; fi
	[ "$(cat "$s/cpuset.cpus")" = 0 ]
	[ "$(cat "$s/cpuset.mems")" = 0 ]
	[ "$(cat "$p/pids.max")" = 42 ]
	grep -qx "7:0 1048576" "$b/blkio.throttle.read_bps_device"
	grep -qx "7:0 100" "$b/blkio.throttle.write_iops_device"
}

@test "resources v1: disableOOMKiller sets memory.oom_control" {
	[ -n "$(cgdir memory)" ] || skip "no v1 memory hierarchy here"
	cfg '.linux.resources.memory = {"limit": 33554432, "disableOOMKiller": true}'
	running
	grep -qx "oom_kill_disable 1" "$(cgdir memory)/memory.oom_control"
}

@test "resources v2: hugetlb and unified keys are written and read back (pure v2 layout)" {
	[ -n "$(mounts_of cgroup2)" ] || skip "no cgroup2 mount here"
	runtime_diverges "runc crun" "they refuse or misplace a v2-only layout made by unmounting v1 here"
	grep -qw hugetlb "$(mounts_of cgroup2 | head -n1)/cgroup.controllers" || skip "hugetlb is not a cgroup2 controller here"
	cfg '.linux.resources = {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
	                         "unified": {"hugetlb.1GB.max": "1073741824", "cgroup.max.descendants": "7"}}'
	set_cmd 'exec sleep 100'
	# The container keeps the stdio it was created with: files, not bats' pipe.
	in_layout v2 create --bundle "$BUNDLE" "$CT" </dev/null >"$TEST_TMP/create.out" 2>&1 || { cat "$TEST_TMP/create.out"; return 1; }
	u="$(cgdir unified)"
	[ "$(cat "$u/hugetlb.2MB.max")" = 4194304 ]
	[ "$(cat "$u/hugetlb.1GB.max")" = 1073741824 ]
	[ "$(cat "$u/cgroup.max.descendants")" = 7 ]
	# Only the unified hierarchy was used.
	[ ! -d "$(cgdir memory)" ]
	run rt events --stats "$CT"
	[ "$status" -eq 0 ]
	jq -e '.type == "stats" and (.data.hugetlb["2MB"] | type == "object") and .data.cpu.usage.total >= 0' <<<"$output"
}

@test "resources: a setting this host cannot honour names the field; nothing is left" {
	runtime_diverges "runc crun" "runc 1.1.5 ignores net_cls when the controller is not mounted"
	[ -z "$(awk '$3 ~ /net_cls/' /proc/self/mountinfo)" ] || skip "net_cls is mounted here"
	cfg '.linux.resources.network = {"classID": 1048577}'
	ct_create "$CT"
	assert_failed
	expect_msg 'linux\.resources\.network\.classID: the net_cls controller is not mounted'
}

@test "resources: a value the kernel refuses names the field and the file; nothing is left" {
	cfg '.linux.resources.cpu = {"cpus": "999"}'
	ct_create "$CT"
	assert_failed
	expect_msg 'linux\.resources\.cpu\.cpus: the kernel refused "999" for .*cpuset\.cpus'
}

# devices: deny everything, allow mknod (only) of 10:229; CAP_MKNOD to try.
device_rules() {
	set_cmd 'mknod /tmp/a c 10 229 && echo mknod-allowed; mknod /tmp/b c 10 200 2>/dev/null || echo mknod-denied;
		head -c1 /tmp/a 2>/dev/null; [ $? -ne 0 ] && echo open-denied; head -c1 /dev/zero | wc -c'
	cfg '.process.capabilities |= with_entries(if .key != "ambient" and .key != "inheritable" then .value += ["CAP_MKNOD"] else . end)
		| .linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "m"}]'
}

@test "devices v1: the allow-list is enforced (access bits, default devices still usable)" {
	[ -n "$(cgdir devices)" ] || skip "no v1 devices hierarchy here"
	device_rules
	run rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'mknod-allowed\nmknod-denied\nopen-denied\n1')" ]
}

@test "devices v2: the allow-list becomes an eBPF program with the same effect" {
	[ -n "$(mounts_of cgroup2)" ] || skip "no cgroup2 mount here"
	runtime_diverges "runc crun" "the v2-only layout here is made by unmounting v1 in a private mount namespace"
	device_rules
	run in_layout v2 run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'mknod-allowed\nmknod-denied\nopen-denied\n1')" ]
}

@test "pure v1 layout (no cgroup2 mounted): limits apply, no unified directory is made" {
	[ -n "$(mounts_of cgroup2)" ] && [ -n "$(cgdir memory)" ] || skip "needs both v1 memory and cgroup2 mounted"
	runtime_diverges "crun" "crun needs a cgroup2 mount on this hybrid host"
	cfg '.linux.resources.memory = {"limit": 33554432}'
	set_cmd 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /proc/self/cgroup'
	run in_layout v1 run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ ! -d "$(cgdir unified)" ]
}

@test "OOM: a 32m container that allocates 64m is killed, and events reports the OOM" {
	[ -n "$(cgdir memory)" ] || [ -n "$(mounts_of cgroup2)" ] || skip "no memory controller"
	runtime_diverges "crun" "crun 1.8.1 has no events command"
	cfg '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	set_cmd 'sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	rt events --interval 100ms "$CT" >"$TEST_TMP/events" 2>&1 &
	events_pid=$!
	rt start "$CT"
	wait_status "$CT" stopped 10
	for _ in $(seq 50); do kill -0 "$events_pid" 2>/dev/null || break; sleep 0.1; done
	kill "$events_pid" 2>/dev/null || true
	wait "$events_pid" || true
	cat "$TEST_TMP/events" | cut -c1-200
	grep -q '"type":"oom"' "$TEST_TMP/events"
	grep -qE '^oom_kill [1-9]' "$(cgdir memory)/memory.oom_control" 2>/dev/null || grep -qE '^oom_kill [1-9]' "$(cgdir unified)/memory.events"
}

@test "cpu: a quota of 0.5 CPU is measured as about half a core" {
	[ -n "$(cgdir cpuacct)" ] || skip "no v1 cpuacct hierarchy here"
	[ "$(nproc)" -ge 1 ]
	cfg '.linux.resources.cpu = {"quota": 50000, "period": 100000}'
	set_cmd 'while :; do :; done'
	start_container "$CT"
	f="$(cgdir cpuacct)/cpuacct.usage"
	a="$(cat "$f")" t0="$(date +%s%N)"
	sleep 2
	b="$(cat "$f")" t1="$(date +%s%N)"
	share=$(( (b - a) * 100 / (t1 - t0) ))
	echo "measured ${share}% of one core"
	[ "$share" -ge 35 ] && [ "$share" -le 60 ]
}

@test "update: flags change the limits of a running container live" {
	[ -n "$(cgdir memory)" ] && [ -n "$(cgdir cpu)" ] || skip "no v1 memory/cpu hierarchies here"
	cfg '.linux.resources = {"memory": {"limit": 33554432}, "cpu": {"quota": 50000, "period": 100000}}'
	running
	rt update --memory 64m --memory-swap=128m --cpu-quota 25000 --cpu-period=50000 --pids-limit 10 --cpu-share 256 "$CT"
	[ "$(cat "$(cgdir memory)/memory.limit_in_bytes")" = 67108864 ]
	[ "$(cat "$(cgdir cpu)/cpu.cfs_quota_us")" = 25000 ]
	[ "$(cat "$(cgdir cpu)/cpu.cfs_period_us")" = 50000 ]
	[ "$(cat "$(cgdir cpu)/cpu.shares")" = 256 ]
	[ "$(cat "$(cgdir pids)/pids.max")" = 10 ]
	# Shrinking memory and memory+swap together works in either order.
	rt update --memory 16m --memory-swap 16m "$CT"
	[ "$(cat "$(cgdir memory)/memory.limit_in_bytes")" = 16777216 ]
	# The container sees it through its own cgroup mount.
	run rt exec "$CT" cat /sys/fs/cgroup/pids/pids.max
	[ "$status" -eq 0 ]
	[ "$output" = 10 ]
}

@test "update: --resources - (docker's way), zeros meaning unset" {
	[ -n "$(cgdir memory)" ] || skip "no v1 memory hierarchy here"
	running
	rt update --resources - "$CT" <<-'EOF'
		{"memory": {"limit": 50331648, "reservation": 0, "swap": 0}, "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
		 "blockIO": {"weight": 0}, "pids": {"limit": 0}}
	EOF
	[ "$(cat "$(cgdir memory)/memory.limit_in_bytes")" = 50331648 ]
}

@test "update: a stopped container, a bad value and a bad document are clear errors" {
	set_cmd 'true'
	start_container "$CT"
	wait_status "$CT" stopped
	run --separate-stderr rt update --memory 64m "$CT"
	assert_failed
	expect_msg 'container not running'
	set_cmd 'exec sleep 100'
	start_container "$CT2"
	run --separate-stderr rt update --memory 64x "$CT2"
	assert_failed
	expect_msg '--memory: "64x" is not a size'
	run --separate-stderr rt update --resources - "$CT2" <<<'{"memory": {"limit": "big"}}'
	assert_failed
	expect_msg 'memory\.limit'
	run --separate-stderr rt update --cpuset-cpus 999 "$CT2"
	assert_failed
	expect_msg 'cpu\.cpus: the kernel refused "999"'
}

@test "events --stats: runc's JSON with memory, cpu and pids" {
	runtime_diverges "crun" "crun 1.8.1 has no events command"
	running
	run --separate-stderr rt events --stats "$CT"
	[ "$status" -eq 0 ]
	jq -e --arg id "$CT" '.type == "stats" and .id == $id and .data.memory.usage.usage > 0 and .data.pids.current >= 1
		and (.data.cpu.usage.total | type == "number")' <<<"$output"
}

@test "events: a stats line every --interval, and the stream ends when the container stops" {
	runtime_diverges "crun" "crun 1.8.1 has no events command"
	runtime_diverges "runc" "runc's event stream does not end when the container stops"
	running
	rt events --interval 200ms "$CT" >"$TEST_TMP/events" 2>&1 &
	pid=$!
	sleep 1.1
	rt kill "$CT" KILL
	for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || false
	n="$(grep -c '"type":"stats"' "$TEST_TMP/events")"
	echo "$n stats lines"
	[ "$n" -ge 4 ]
}

@test "100 create/delete cycles, a third of them failing: no cgroup directory is left" {
	cfg '.linux.resources.memory = {"limit": 33554432}'
	set_cmd 'exec sleep 100'
	cp "$BUNDLE/config.json" "$TEST_TMP/good.json"
	jq '.process.args = ["/no/such/program"]' "$TEST_TMP/good.json" >"$TEST_TMP/bad-args.json"
	jq '.linux.resources.cpu = {"cpus": "999"}' "$TEST_TMP/good.json" >"$TEST_TMP/bad-cpus.json"
	for i in $(seq 100); do
		case $((i % 6)) in
		1) cp "$TEST_TMP/bad-args.json" "$BUNDLE/config.json" ;;
		3) cp "$TEST_TMP/bad-cpus.json" "$BUNDLE/config.json" ;;
		*) cp "$TEST_TMP/good.json" "$BUNDLE/config.json" ;;
		esac
		if rt create --bundle "$BUNDLE" "$CT" </dev/null >/dev/null 2>&1; then
			rt delete --force "$CT"
		fi
	done
	cp "$TEST_TMP/good.json" "$BUNDLE/config.json"
	cg="$(jq -r .linux.cgroupsPath "$BUNDLE/config.json")"
	for h in $(cgroup_mounts); do
		[ ! -d "$h$cg" ] || { echo "left: $h$cg"; return 1; }
	done
}
