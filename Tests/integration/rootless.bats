#!/usr/bin/env bats
# Rootless: the runtime run by an unprivileged user on a `spec --rootless` bundle. A test user is
# made for this file (useradd, subordinate ids 300000-365535 with usermod) and removed at the end.
# The state goes to $XDG_RUNTIME_DIR/<runtime> (skiff: $XDG_RUNTIME_DIR/skiff, runc:
# $XDG_RUNTIME_DIR/runc); no cgroup is made (this host's cgroups are not delegated); devices are
# bind mounts of the host's nodes; uid 0 in the container is the user outside.

load helpers

SUB_START=300000

setup_file() {
	skiff_setup_file
	# The kernel must let unprivileged users create user namespaces.
	local v
	v="$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)"
	[ "$v" = 1 ] || skip "kernel.unprivileged_userns_clone is $v: unprivileged user namespaces are off"
	v="$(cat /proc/sys/user/max_user_namespaces)"
	[ "$v" -gt 0 ] || skip "user.max_user_namespaces is 0"
	v="$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)"
	[ "$v" = 0 ] || skip "kernel.apparmor_restrict_unprivileged_userns is $v"
	command -v newuidmap >/dev/null && command -v newgidmap >/dev/null || skip "newuidmap/newgidmap (package uidmap) are not installed"
	export TUSER="skrl$$"
	useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$TUSER"
	# useradd may have given the user ranges of its own (login.defs SUB_UID_*): use ours only.
	local r
	for r in $(awk -F: -v u="$TUSER" '$1 == u { print $2 "-" $2 + $3 - 1 }' /etc/subuid); do usermod --del-subuids "$r" "$TUSER"; done
	for r in $(awk -F: -v u="$TUSER" '$1 == u { print $2 "-" $2 + $3 - 1 }' /etc/subgid); do usermod --del-subgids "$r" "$TUSER"; done
	usermod --add-subuids "$SUB_START-$((SUB_START + 65535))" --add-subgids "$SUB_START-$((SUB_START + 65535))" "$TUSER"
	TUID="$(id -u "$TUSER")"
	TGID="$(id -g "$TUSER")"
	export TUID TGID
}

teardown_file() {
	if [ -n "${TUSER:-}" ] && id "$TUSER" >/dev/null 2>&1; then
		usermod --del-subuids "$SUB_START-$((SUB_START + 65535))" --del-subgids "$SUB_START-$((SUB_START + 65535))" "$TUSER" || true
		userdel "$TUSER"
	fi
	skiff_teardown_file
}

setup() {
	skiff_setup
	XDG="$TEST_TMP/xdg"
	mkdir -m 700 "$XDG"
	chown "$TUSER:$TUSER" "$XDG"
	# Where the runtime keeps its state for this user: the leak checks look there.
	ROOT="$XDG/$RUNTIME_NAME"
	# A rootless bundle as the user writes it: `spec --rootless` (its maps name the user's ids).
	rm "$BUNDLE/config.json"
	chown "$TUSER:$TUSER" "$BUNDLE"
	as_user "$RUNTIME" spec --rootless --bundle "$BUNDLE"
	[ -f "$BUNDLE/config.json" ]
	cfg '.process.terminal = false | .root.readonly = false'
}

teardown() { skiff_teardown; }

# as_user CMD...: CMD as the test user, with a clean environment and its XDG_RUNTIME_DIR.
as_user() {
	setpriv --reuid "$TUSER" --regid "$TUSER" --clear-groups \
		env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/ XDG_RUNTIME_DIR="$XDG" "$@"
}

# urt ARGS...: the runtime as the test user, with its default state root (no --root).
urt() {
	as_user timeout --kill-after=5 "${SKIFF_TEST_TIMEOUT:-60}" "$RUNTIME" "$@"
}

# ucreate ID: `create` as the user, stdio in files.
ucreate() {
	local id="$1" io
	io="$TEST_TMP/io-$id"
	status=0
	urt create --bundle "$BUNDLE" "$id" >"$io.out" 2>"$io.err" </dev/null || status=$?
	output="$(cat "$io.out")"
	stderr="$(cat "$io.err")"
}

# No cgroup named after the container in any hierarchy (the runtime's default cgroupsPath).
no_cgroup_for() {
	local h
	for h in $(cgroup_mounts); do
		if [ -e "$h/$1" ]; then
			echo "cgroup $h/$1 exists"
			return 1
		fi
	done
}

@test "rootless: a spec --rootless bundle runs as an unprivileged user; uid 0 inside is the user outside" {
	jq -e --argjson u "$TUID" '.linux.uidMappings == [{"containerID": 0, "hostID": $u, "size": 1}] and .linux.resources == null' "$BUNDLE/config.json"
	set_cmd 'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; stat -c "%t,%T" /dev/null; echo hi >/dev/null && echo null-ok'
	run --separate-stderr urt run --bundle "$BUNDLE" "$CT" </dev/null
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[[ "${lines[1]}" =~ ^[[:space:]]*0[[:space:]]+$TUID[[:space:]]+1$ ]]
	[[ "${lines[2]}" =~ ^[[:space:]]*0[[:space:]]+$TGID[[:space:]]+1$ ]]
	# /dev/null is the host's null device (bound: a user namespace cannot mknod).
	[ "${lines[3]}" = "1,3" ]
	[ "${lines[4]}" = null-ok ]
	# The state root is the user's $XDG_RUNTIME_DIR/<runtime>, empty again after run.
	[ -d "$ROOT" ]
	[ "$(stat -c %U "$ROOT")" = "$TUSER" ]
	[ -z "$(ls -A "$ROOT")" ]
	no_cgroup_for "$CT"
}

@test "rootless: create, start, state, exec, kill, delete as the user; the process is the user's on the host" {
	set_cmd 'echo started >/tmp/marker; exec sleep 100'
	ucreate "$CT"
	echo "create: $status $stderr"
	[ "$status" -eq 0 ]
	[ "$(stat -c %U "$ROOT/$CT")" = "$TUSER" ]
	run urt state "$CT"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$RUNTIME_NAME" != skiff ] || [ "$(jq -r .owner <<<"$output")" = "$TUSER" ]
	pid="$(jq -r .pid <<<"$output")"
	[ "$pid" -gt 0 ]
	run urt start "$CT"
	[ "$status" -eq 0 ]
	wait_file "$BUNDLE/rootfs/tmp/marker"
	[ "$(urt state "$CT" | jq -r .status)" = running ]
	# On the host the container's uid 0 is the user.
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = "$TUID" ]
	no_cgroup_for "$CT"
	# The marker was written by the container's root, so it belongs to the user on the host.
	[ "$(stat -c %u "$BUNDLE/rootfs/tmp/marker")" = "$TUID" ]
	run --separate-stderr urt exec "$CT" sh -c 'id -u; cat /proc/1/cmdline | tr "\0" " "'
	echo "exec: $status; $output; $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[[ "${lines[1]}" == "sleep 100"* ]]
	run urt list -q
	[ "$output" = "$CT" ]
	run urt kill "$CT" KILL
	[ "$status" -eq 0 ]
	for i in $(seq 50); do pid_gone "$pid" && break; sleep 0.1; done
	pid_gone "$pid"
	[ "$(urt state "$CT" | jq -r .status)" = stopped ]
	run urt delete "$CT"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$CT" ]
}

@test "rootless: several ranges go through newuidmap/newgidmap and the user's /etc/subuid ranges" {
	runtime_diverges runc "runc 1.1.5 refuses additionalGids whenever it runs rootless, even when newgidmap wrote gid_map and setgroups is allowed"
	cfg --argjson u "$TUID" --argjson g "$TGID" --argjson s "$SUB_START" '
		.linux.uidMappings = [{"containerID": 0, "hostID": $u, "size": 1}, {"containerID": 1, "hostID": $s, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": $g, "size": 1}, {"containerID": 1, "hostID": $s, "size": 65536}]
		| .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [5]}'
	set_cmd 'id; cat /proc/self/uid_map; echo x >/tmp/by-1000; exec sleep 100'
	ucreate "$CT"
	echo "create: $status $stderr"
	[ "$status" -eq 0 ]
	run urt start "$CT"
	[ "$status" -eq 0 ]
	wait_file "$BUNDLE/rootfs/tmp/by-1000"
	pid="$(urt state "$CT" | jq -r .pid)"
	# Container uid 1000 is subordinate id 300000 + 999 on the host; setgroups was allowed.
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = "$((SUB_START + 999))" ]
	[ "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/by-1000")" = "$((SUB_START + 999)):$((SUB_START + 999))" ]
	grep -q "^Groups:[[:space:]]*$((SUB_START + 4))[[:space:]]*$" "/proc/$pid/status"
	run urt exec --user 1:1 "$CT" id -u
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	run urt delete --force "$CT"
	[ "$status" -eq 0 ]
}

@test "rootless: a missing newuidmap is a clear error naming it and its package, and nothing is left" {
	cfg --argjson u "$TUID" --argjson g "$TGID" --argjson s "$SUB_START" '
		.linux.uidMappings = [{"containerID": 0, "hostID": $u, "size": 1}, {"containerID": 1, "hostID": $s, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": $g, "size": 1}, {"containerID": 1, "hostID": $s, "size": 65536}]'
	set_cmd 'true'
	# newuidmap and newgidmap hidden (covered by /dev/null, not executable) in a private mount
	# namespace: as if the uidmap package were not installed.
	run --separate-stderr unshare -m --propagation private sh -c '
		mount --bind /dev/null /usr/bin/newuidmap && mount --bind /dev/null /usr/bin/newgidmap || exit 99
		exec setpriv --reuid "$TUSER" --regid "$TUSER" --clear-groups env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$1" \
			timeout 60 "$RUNTIME" run --bundle "$2" "$3" </dev/null' sh "$XDG" "$BUNDLE" "$CT"
	echo "status $status; stderr: $stderr"
	[ "$status" -ne 99 ]
	assert_failed
	expect_msg 'linux\.uidMappings: .*needs newuidmap \(package uidmap\), which is not installed'
	[ -z "$(ls -A "$ROOT" 2>/dev/null)" ]
	no_cgroup_for "$CT"
}

@test "rootless: without XDG_RUNTIME_DIR and --root the error says what to set" {
	run --separate-stderr setpriv --reuid "$TUSER" --regid "$TUSER" --clear-groups env -i PATH=/usr/bin:/bin "$RUNTIME" list
	echo "status $status; stderr: $stderr"
	assert_failed
	expect_msg 'XDG_RUNTIME_DIR is not set: set it .* or give --root DIR'
	# --root is enough.
	run --separate-stderr setpriv --reuid "$TUSER" --regid "$TUSER" --clear-groups env -i PATH=/usr/bin:/bin "$RUNTIME" --root "$XDG/explicit" list
	[ "$status" -eq 0 ]
	rm -rf "$XDG/explicit"
}

@test "rootless: resource limits without a cgroup the user may create are an error naming linux.resources" {
	cfg '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
	set_cmd 'true'
	run --separate-stderr urt run --bundle "$BUNDLE" "$CT" </dev/null
	echo "status $status; stderr: $stderr"
	assert_failed
	expect_msg '^.*linux\.resources: memory, pids limits need a cgroup'
	[ -z "$(ls -A "$ROOT" 2>/dev/null)" ]
	no_cgroup_for "$CT"
}

@test "rootless: device rules alone do not need a cgroup (not applicable in a user namespace)" {
	cfg '.linux.resources = {"devices": [{"allow": false, "access": "rwm"}]}'
	set_cmd 'echo ok'
	run --separate-stderr urt run --bundle "$BUNDLE" "$CT" </dev/null
	echo "status $status; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "rootless: an idmapped bind mount needs root on the host: a clear error naming mounts[N], nothing left" {
	runtime_diverges runc "runc 1.1.5 has no idmapped mounts (added in runc 1.2)"
	mkdir -m 755 "$TEST_TMP/src"
	cfg --arg src "$TEST_TMP/src" '.mounts += [{"destination": "/mnt", "type": "bind", "source": $src, "options": ["rbind", "idmap"]}]'
	n="$(jq '.mounts | length - 1' "$BUNDLE/config.json")"
	set_cmd 'true'
	run --separate-stderr urt run --bundle "$BUNDLE" "$CT" </dev/null
	echo "status $status; stderr: $stderr"
	assert_failed
	expect_msg "mounts\\[$n\\]: idmapped mount of .* need root on the host"
	[ -z "$(ls -A "$ROOT" 2>/dev/null)" ]
}

@test "rootless: pause of a container without a cgroup is refused with the reason" {
	set_cmd 'exec sleep 100'
	ucreate "$CT"
	[ "$status" -eq 0 ]
	run --separate-stderr urt pause "$CT"
	echo "status $status; stderr: $stderr"
	assert_failed
	expect_msg 'cannot pause container .*: it has no cgroup'
	[ "$(urt state "$CT" | jq -r .status)" = created ]
	run urt delete --force "$CT"
	[ "$status" -eq 0 ]
}

@test "rootless: ps lists the processes of a container without a cgroup (its pid namespace); update is refused" {
	runtime_diverges runc "runc 1.1.5's ps fails without a cgroup (unable to get all container pids: lstat : no such file or directory)"
	set_cmd 'sleep 100 & exec sleep 101'
	ucreate "$CT"
	[ "$status" -eq 0 ]
	run urt start "$CT"
	[ "$status" -eq 0 ]
	pid="$(urt state "$CT" | jq -r .pid)"
	for i in $(seq 50); do [ "$(urt ps --format json "$CT" | jq length)" = 2 ] && break; sleep 0.1; done
	run --separate-stderr urt ps --format json "$CT"
	echo "ps: $status $output $stderr"
	[ "$status" -eq 0 ]
	jq -e --argjson p "$pid" 'length == 2 and index($p) != null' <<<"$output"
	# kill --all reaches the other process too (SIGTERM: pid 1 of the namespace ignores it).
	run urt kill --all "$CT" TERM
	[ "$status" -eq 0 ]
	for i in $(seq 50); do [ "$(urt ps --format json "$CT" | jq length)" = 1 ] && break; sleep 0.1; done
	[ "$(urt ps --format json "$CT")" = "[$pid]" ]
	run --separate-stderr urt update --pids-limit 10 "$CT"
	echo "update: $status $stderr"
	assert_failed
	expect_msg 'cannot update container .*: it has no cgroup'
	run urt delete --force "$CT"
	[ "$status" -eq 0 ]
}
