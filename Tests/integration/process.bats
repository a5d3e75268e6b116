#!/usr/bin/env bats
# The container process: env, cwd, user, umask, rlimits, sysctl, oomScoreAdj,
# noNewPrivileges, capabilities, PATH lookup and stdio.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

run_ct() {
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status"
	echo "stdout: $output"
	echo "stderr: $stderr"
}

@test "env: exactly process.env, nothing inherited from the caller" {
	cfg '.process.env = ["PATH=/usr/bin:/bin", "FOO=bar baz", "EMPTY=", "HOME=/root"]'
	set_args env
	export SKIFF_LEAK_CHECK=from-the-caller
	run_ct
	[ "$status" -eq 0 ]
	diff <(printf '%s\n' "EMPTY=" "FOO=bar baz" "HOME=/root" "PATH=/usr/bin:/bin") <(sort <<<"$output")
}

@test "cwd: the process starts in process.cwd" {
	mkdir -p "$BUNDLE/rootfs/work/dir"
	cfg '.process.cwd = "/work/dir"'
	set_args pwd
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = /work/dir ]
}

@test "cwd: a cwd missing from the rootfs is created" {
	# runc and crun create it; the spec only says cwd is absolute.
	[ ! -e "$BUNDLE/rootfs/not/yet" ]
	cfg '.process.cwd = "/not/yet"'
	set_args pwd
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = /not/yet ]
}

@test "user: uid, gid and additionalGids" {
	cfg '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}'
	set_cmd 'id -u; id -g; id -G'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = 1000 ]
	[ "$(sed -n 2p <<<"$output")" = 1000 ]
	# id -G: the gid, then the supplementary groups (exactly 10 and 20)
	[ "$(sed -n 3p <<<"$output" | tr ' ' '\n' | sort -n | uniq | tr '\n' ' ')" = "10 20 1000 " ]
}

@test "user: /proc/self/status shows the ids and the supplementary groups" {
	cfg '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [5]}'
	set_cmd 'grep -E "^(Uid|Gid|Groups):" /proc/self/status'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$output")" = "1000 1000 1000 1000" ]
	[ "$(awk '/^Gid:/ {print $2, $3, $4, $5}' <<<"$output")" = "1001 1001 1001 1001" ]
	[ "$(awk '/^Groups:/ {$1 = ""; print}' <<<"$output" | xargs)" = "5" ]
}

@test "user: no additionalGids means no supplementary groups" {
	cfg '.process.user = {"uid": 1000, "gid": 1000}'
	set_cmd 'grep "^Groups:" /proc/self/status'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(awk '{$1 = ""; print}' <<<"$output" | xargs)" = "" ]
}

@test "user: umask" {
	cfg '.process.user.umask = 23'
	set_cmd 'umask; touch /tmp/f; stat -c %a /tmp/f'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = 0027 ]
	[ "$(sed -n 2p <<<"$output")" = 640 ]
}

@test "rlimits: NOFILE soft and hard below the current hard limit" {
	hard="$(ulimit -Hn)"
	[ "$hard" = unlimited ] || [ "$hard" -gt 1000 ] || skip "hard NOFILE limit $hard is too low"
	cfg '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 999}]'
	set_cmd 'ulimit -Sn; ulimit -Hn; grep "Max open files" /proc/self/limits'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = 512 ]
	[ "$(sed -n 2p <<<"$output")" = 999 ]
	[ "$(sed -n 3p <<<"$output" | awk '{print $4, $5}')" = "512 999" ]
}

@test "rlimits: several limits at once (CORE, NPROC)" {
	cfg '.process.rlimits = [{"type": "RLIMIT_CORE", "soft": 0, "hard": 4096}, {"type": "RLIMIT_NPROC", "soft": 200, "hard": 300}]'
	set_cmd 'grep -E "Max (core file size|processes)" /proc/self/limits'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(grep 'core file' <<<"$output" | awk '{print $5, $6}')" = "0 4096" ]
	[ "$(grep 'processes' <<<"$output" | awk '{print $3, $4}')" = "200 300" ]
}

@test "rlimits: raising a hard limit above the caller's fails (no CAP_SYS_RESOURCE here)" {
	grep -q '^CapBnd:.*' /proc/self/status
	# bit 24 = CAP_SYS_RESOURCE
	bnd="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
	(((0x$bnd >> 24) & 1)) && skip "this machine has CAP_SYS_RESOURCE; raising is allowed"
	hard="$(ulimit -Hn)"
	[ "$hard" != unlimited ] || skip "hard NOFILE limit is unlimited"
	cfg --argjson h "$((hard + 1))" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": $h}]'
	set_args true
	ct_create "$CT"
	assert_failed
}

@test "hostname" {
	cfg '.hostname = "ct-host"'
	set_cmd 'hostname; cat /proc/sys/kernel/hostname'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "ct-host
ct-host" ]
}

@test "domainname" {
	runtime_diverges runc "runc 1.1.5 ignores .domainname (added in runc 1.2)"
	cfg '.hostname = "ct-host" | .domainname = "ct.example"'
	set_cmd 'cat /proc/sys/kernel/domainname'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "ct.example" ]
	[ "$(cat /proc/sys/kernel/domainname)" != ct.example ]
}

@test "sysctl: net.ipv4.ip_forward in a new network namespace" {
	host_before="$(cat /proc/sys/net/ipv4/ip_forward)"
	want=$((1 - host_before))
	cfg --arg v "$want" '.linux.sysctl = {"net.ipv4.ip_forward": $v}'
	set_args cat /proc/sys/net/ipv4/ip_forward
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_before" ]
}

@test "sysctl: an ipc sysctl (kernel.msgmax) in a new ipc namespace" {
	cfg '.linux.sysctl = {"kernel.msgmax": "4321"}'
	set_args cat /proc/sys/kernel/msgmax
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = 4321 ]
	[ "$(cat /proc/sys/kernel/msgmax)" != 4321 ]
}

@test "oomScoreAdj" {
	cfg '.process.oomScoreAdj = 432'
	set_args cat /proc/self/oom_score_adj
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = 432 ]
}

@test "noNewPrivileges true: NoNewPrivs 1" {
	cfg '.process.noNewPrivileges = true'
	set_cmd 'grep "^NoNewPrivs:" /proc/self/status'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(awk '{print $2}' <<<"$output")" = 1 ]
}

@test "noNewPrivileges false: NoNewPrivs 0" {
	cfg '.process.noNewPrivileges = false'
	set_cmd 'grep "^NoNewPrivs:" /proc/self/status'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(awk '{print $2}' <<<"$output")" = 0 ]
}

capset() {
	awk -v s="$1:" '$1 == s {print $2}' <<<"$output"
}

@test "capabilities: the sets of the config, nothing more" {
	# default config: CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10) in bounding,
	# effective, permitted and ambient; no inheritable, so the kernel cannot keep any ambient.
	set_cmd 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status'
	run_ct
	[ "$status" -eq 0 ]
	want="$(printf '%016x' $(((1 << 29) | (1 << 5) | (1 << 10))))"
	for s in CapPrm CapEff CapBnd; do
		[ "$(capset $s)" = "$want" ] || { echo "$s != $want"; false; }
	done
	[ "$(capset CapInh)" = 0000000000000000 ]
	[ "$(capset CapAmb)" = 0000000000000000 ]
}

@test "capabilities: ambient (with inheritable) survives exec for a non-root user" {
	cfg '.process.user = {"uid": 1000, "gid": 1000}
	| .process.capabilities = {"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
	  "permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}'
	set_cmd 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status'
	run_ct
	[ "$status" -eq 0 ]
	want="$(printf '%016x' $((1 << 10)))"
	for s in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(capset $s)" = "$want" ] || { echo "$s != $want"; false; }
	done
}

@test "capabilities: a non-root user without ambient has no effective capabilities" {
	cfg '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities.ambient = []'
	set_cmd 'grep -E "^Cap(Prm|Eff):" /proc/self/status'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(capset CapEff)" = 0000000000000000 ]
	[ "$(capset CapPrm)" = 0000000000000000 ]
}

@test "capabilities: an empty config drops everything; a uid 0 process cannot chown" {
	cfg '.process.capabilities = {"bounding": [], "effective": [], "permitted": []} | .process.noNewPrivileges = true'
	set_cmd 'grep -E "^Cap(Prm|Eff|Bnd):" /proc/self/status; if chown 1000 /tmp 2>/dev/null; then echo CHOWNED; else echo eperm; fi'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(grep -c ':[[:space:]]*0000000000000000$' <<<"$output")" = 3 ]
	[ "$(tail -n 1 <<<"$output")" = eperm ]
}

@test "args: args[0] is looked up in the container's PATH" {
	set_args true
	run_ct
	[ "$status" -eq 0 ]
	set_args echo hello world
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "hello world" ]
}

@test "args: an absolute args[0] is used as is" {
	set_args /bin/echo absolute
	cfg '.process.env = ["NOPATH=1"]'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = absolute ]
}

@test "args: the argv is passed untouched (spaces, empty strings, dashes)" {
	set_args sh -c 'for a in "$@"; do echo "[$a]"; done' argv0 "a b" "" "--x" "-c"
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "[a b]
[]
[--x]
[-c]" ]
}

@test "stdio: stdout and stderr are passed straight through, separately" {
	set_cmd 'echo to-stdout; echo to-stderr >&2; echo more-stdout'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "to-stdout
more-stdout" ]
	[ "$stderr" = "to-stderr" ]
}

@test "stdio: stdin from a pipe is read by cat" {
	set_args cat
	feed() { printf 'line one\nline two\n' | rt run --bundle "$BUNDLE" "$CT"; }
	run --separate-stderr feed
	echo "$status $output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "line one
line two" ]
}

@test "stdio: binary data and a large stream pass through intact" {
	head -c 1048576 /dev/urandom >"$TEST_TMP/data"
	set_args cat
	rt run --bundle "$BUNDLE" "$CT" <"$TEST_TMP/data" >"$TEST_TMP/data.out" 2>"$TEST_TMP/data.err"
	cmp "$TEST_TMP/data" "$TEST_TMP/data.out"
}

@test "stdio: create + start, the output reaches the stdout of create" {
	set_cmd 'echo after-start'
	ct_create "$CT"
	[ "$status" -eq 0 ]
	[ ! -s "$CT_OUT" ]
	run rt start "$CT"
	[ "$status" -eq 0 ]
	wait_status "$CT" stopped
	[ "$(cat "$CT_OUT")" = after-start ]
}

@test "capabilities: an empty capabilities object (docker's --cap-drop ALL) means no capabilities at all" {
	cfg '.process.capabilities = {} | .process.noNewPrivileges = false'
	set_cmd 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -qx "$set:[[:space:]]*0000000000000000" <<<"$output"
	done
}

@test "linux.memoryPolicy: the container's memory is interleaved on the given nodes" {
	runtime_diverges "runc crun" "memoryPolicy is new in runtime-spec 1.3"
	cfg '.linux.memoryPolicy = {"mode": "MPOL_INTERLEAVE", "nodes": "0"}'
	set_cmd 'head -n 1 /proc/self/numa_maps'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[[ "$output" == *" interleave:0 "* ]]
}

@test "linux.memoryPolicy: a node the host does not have is an error naming the field; nothing is left" {
	runtime_diverges "runc crun" "memoryPolicy is new in runtime-spec 1.3"
	cfg '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "63"}'
	ct_create "$CT"
	assert_failed
	expect_msg 'linux\.memoryPolicy: the kernel refused MPOL_BIND on nodes 63'
}
