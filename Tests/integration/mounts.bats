#!/usr/bin/env bats
# Mounts, rootfs, masked/readonly paths, devices, hostname.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

# add_mount JSON: append one entry to .mounts
add_mount() {
	cfg --argjson m "$1" '.mounts += [$m]'
}

# run the container to completion; sets status/output/stderr, prints them on failure.
run_ct() {
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status"
	echo "stdout: $output"
	echo "stderr: $stderr"
}

# mountinfo line of a mount point inside the container
mi_cmd() {
	echo "awk -v m='$1' '\$5 == m' /proc/self/mountinfo"
}

@test "tmpfs with size= and mode=" {
	add_mount '{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=750"]}'
	set_cmd "$(mi_cmd /mnt/t); stat -c '%a' /mnt/t; df -k /mnt/t | tail -n 1"
	run_ct
	[ "$status" -eq 0 ]
	line1="$(sed -n 1p <<<"$output")"
	[[ "$line1" == *" - tmpfs "* ]]
	[[ "$line1" == *"size=1024k"* ]]
	[[ "$line1" == *"mode=750"* ]]
	[ "$(sed -n 2p <<<"$output")" = 750 ]
	# df: total 1024 KiB
	[ "$(sed -n 3p <<<"$output" | awk '{print $2}')" = 1024 ]
}

@test "tmpfs with nosuid,nodev,noexec shows them in mountinfo" {
	add_mount '{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec"]}'
	set_cmd "$(mi_cmd /mnt/t)"
	run_ct
	[ "$status" -eq 0 ]
	opts="$(awk '{print $6}' <<<"$output")"
	echo "per-mount options: $opts"
	[[ ",$opts," == *",nosuid,"* ]]
	[[ ",$opts," == *",nodev,"* ]]
	[[ ",$opts," == *",noexec,"* ]]
}

@test "noexec: a binary on the mount cannot be executed" {
	add_mount '{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["noexec"]}'
	set_cmd 'cp /bin/busybox /mnt/t/bb && /mnt/t/bb true && echo executed; echo done'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "done" ]
}

@test "bind mount of a host directory" {
	mkdir -p "$TEST_TMP/hostdir"
	echo from-host >"$TEST_TMP/hostdir/file"
	add_mount "$(jq -n --arg s "$TEST_TMP/hostdir" '{"destination": "/mnt/h", "type": "bind", "source": $s, "options": ["bind"]}')"
	set_cmd 'cat /mnt/h/file; echo from-ct > /mnt/h/new'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "from-host" ]
	[ "$(cat "$TEST_TMP/hostdir/new")" = "from-ct" ]
}

# A host dir with a tmpfs mounted below it: bind does not carry the submount, rbind does.
make_hostdir_with_submount() {
	mkdir -p "$TEST_TMP/hostdir/sub"
	echo top >"$TEST_TMP/hostdir/top"
	mount -t tmpfs -o size=1m tmpfs "$TEST_TMP/hostdir/sub"
	on_teardown "umount '$TEST_TMP/hostdir/sub'"
	echo in-submount >"$TEST_TMP/hostdir/sub/file"
}

@test "bind (not recursive) does not carry submounts" {
	make_hostdir_with_submount
	add_mount "$(jq -n --arg s "$TEST_TMP/hostdir" '{"destination": "/mnt/h", "source": $s, "options": ["bind"]}')"
	set_cmd 'cat /mnt/h/top; ls /mnt/h/sub | wc -l'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = top ]
	[ "$(sed -n 2p <<<"$output")" = 0 ]
}

@test "rbind carries submounts" {
	make_hostdir_with_submount
	add_mount "$(jq -n --arg s "$TEST_TMP/hostdir" '{"destination": "/mnt/h", "type": "bind", "source": $s, "options": ["rbind"]}')"
	set_cmd 'cat /mnt/h/top /mnt/h/sub/file'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "top
in-submount" ]
}

@test "read-only bind: reads work, writes fail" {
	mkdir -p "$TEST_TMP/hostdir"
	echo from-host >"$TEST_TMP/hostdir/file"
	add_mount "$(jq -n --arg s "$TEST_TMP/hostdir" '{"destination": "/mnt/h", "type": "bind", "source": $s, "options": ["bind", "ro"]}')"
	set_cmd 'cat /mnt/h/file; if touch /mnt/h/new 2>/dev/null; then echo WRITABLE; else echo ro-ok; fi'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "from-host
ro-ok" ]
	[ ! -e "$TEST_TMP/hostdir/new" ]
}

@test "bind mount of a single file" {
	echo file-content >"$TEST_TMP/hostfile"
	add_mount "$(jq -n --arg s "$TEST_TMP/hostfile" '{"destination": "/etc/myfile", "type": "bind", "source": $s, "options": ["rbind", "ro"]}')"
	set_cmd 'cat /etc/myfile'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "file-content" ]
}

@test "a mount destination that does not exist yet is created" {
	[ ! -e "$BUNDLE/rootfs/new/deep/dir" ]
	add_mount '{"destination": "/new/deep/dir", "type": "tmpfs", "source": "tmpfs"}'
	set_cmd "$(mi_cmd /new/deep/dir) | wc -l; stat -f -c %T /new/deep/dir"
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = 1 ]
	[ "$(sed -n 2p <<<"$output")" = tmpfs ]
}

@test "root.readonly: / is read-only, /proc, /dev and tmpfs mounts still work" {
	cfg '.root.readonly = true'
	add_mount '{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}'
	set_cmd 'if touch /x 2>/dev/null; then echo WRITABLE; else echo ro-ok; fi
grep -q "^Name:" /proc/self/status && echo proc-ok
echo data > /dev/null && head -c 4 /dev/zero | wc -c
touch /tmp/x && echo tmp-ok
awk '"'"'$5 == "/" {print $6}'"'"' /proc/self/mountinfo'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = ro-ok ]
	[ "$(sed -n 2p <<<"$output")" = proc-ok ]
	[ "$(sed -n 3p <<<"$output")" = 4 ]
	[ "$(sed -n 4p <<<"$output")" = tmp-ok ]
	[[ ",$(sed -n 5p <<<"$output")," == *",ro,"* ]]
	[ ! -e "$BUNDLE/rootfs/x" ]
}

@test "root.readonly false: / is writable" {
	set_cmd 'touch /x && echo ok'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	[ -e "$BUNDLE/rootfs/x" ]
}

@test "maskedPaths: a masked file reads empty, a masked dir is empty" {
	echo secret >"$BUNDLE/rootfs/etc/secret"
	mkdir -p "$BUNDLE/rootfs/secretdir"
	echo secret >"$BUNDLE/rootfs/secretdir/a"
	cfg '.linux.maskedPaths += ["/etc/secret", "/secretdir", "/does/not/exist"]'
	set_cmd 'echo "file:[$(cat /etc/secret)]"; echo "dir:[$(ls -A /secretdir)]"; echo "kcore:[$(head -c 10 /proc/kcore | wc -c)]"'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = "file:[]" ]
	[ "$(sed -n 2p <<<"$output")" = "dir:[]" ]
	[ "$(sed -n 3p <<<"$output")" = "kcore:[0]" ]
	# Masking hides, it does not delete.
	[ "$(cat "$BUNDLE/rootfs/etc/secret")" = secret ]
}

@test "readonlyPaths: writes fail" {
	mkdir -p "$BUNDLE/rootfs/rodir"
	cfg '.linux.readonlyPaths += ["/rodir"]'
	set_cmd 'if touch /rodir/x 2>/dev/null; then echo WRITABLE; else echo ro-ok; fi
if echo 1 > /proc/sys/kernel/domainname 2>/dev/null; then echo PROCSYS-WRITABLE; else echo procsys-ro; fi
touch /elsewhere && echo rw-elsewhere'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "ro-ok
procsys-ro
rw-elsewhere" ]
}

@test "default devices are present" {
	set_cmd 'for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo "$d $(stat -c "%t:%T" /dev/$d)"; done
[ -e /dev/ptmx ] && echo ptmx
[ -d /dev/pts ] && echo pts
[ -d /dev/shm ] && echo shm
echo "fd $(readlink /dev/fd)"
echo "stdin $(readlink /dev/stdin)"
echo "stdout $(readlink /dev/stdout)"
echo "stderr $(readlink /dev/stderr)"
head -c 8 /dev/urandom | wc -c
if echo x > /dev/full 2>/dev/null; then echo FULL-WROTE; else echo full-enospc; fi'
	run_ct
	[ "$status" -eq 0 ]
	expected='null 1:3
zero 1:5
full 1:7
random 1:8
urandom 1:9
tty 5:0
ptmx
pts
shm
fd /proc/self/fd
stdin /proc/self/fd/0
stdout /proc/self/fd/1
stderr /proc/self/fd/2
8
full-enospc'
	diff <(echo "$expected") <(echo "$output")
}

@test "/dev/shm and /dev/pts are the configured mounts" {
	set_cmd "$(mi_cmd /dev/shm); $(mi_cmd /dev/pts)"
	run_ct
	[ "$status" -eq 0 ]
	grep -E ' /dev/shm .* - tmpfs ' <<<"$output"
	grep -E ' /dev/pts .* - devpts ' <<<"$output"
}

@test "linux.devices: an extra device node is created with its mode and owner" {
	cfg '.linux.devices = [{"path": "/dev/myfull", "type": "c", "major": 1, "minor": 7, "fileMode": 416, "uid": 1000, "gid": 1000}]
	| .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 7, "access": "rwm"}]'
	set_cmd 'stat -c "%F %t:%T %a %u:%g" /dev/myfull; if echo x > /dev/myfull 2>/dev/null; then echo WROTE; else echo enospc; fi'
	run_ct
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p <<<"$output")" = "character special file 1:7 640 1000:1000" ]
	[ "$(sed -n 2p <<<"$output")" = enospc ]
}

@test "hostname is set" {
	cfg '.hostname = "skiff-host"'
	set_cmd 'hostname; cat /proc/sys/kernel/hostname'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = "skiff-host
skiff-host" ]
	[ "$(hostname)" != "skiff-host" ]
}

@test "root.path relative to the bundle" {
	mv "$BUNDLE/rootfs" "$BUNDLE/other-root"
	echo relative >"$BUNDLE/other-root/which"
	cfg '.root.path = "other-root"'
	set_cmd 'cat /which'
	# Run from elsewhere: relative means relative to the bundle, not to the cwd.
	cd /
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = relative ]
}

@test "root.path absolute" {
	mkdir -p "$TEST_TMP/abs"
	mv "$BUNDLE/rootfs" "$TEST_TMP/abs/rootfs"
	echo absolute >"$TEST_TMP/abs/rootfs/which"
	cfg --arg p "$TEST_TMP/abs/rootfs" '.root.path = $p'
	set_cmd 'cat /which'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = absolute ]
}

@test "a mount destination that is a symlink pointing outside stays inside the rootfs" {
	[ ! -e /host-escape ] || skip "/host-escape exists on the host; remove it first"
	ln -s /tmp/../../../../host-escape "$BUNDLE/rootfs/escape"
	add_mount '{"destination": "/escape", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}'
	set_cmd 'stat -f -c %T /escape; echo inside > /escape/f; cat /host-escape/f; exec sleep 100'
	ct_create "$CT"
	if [ "$status" -ne 0 ]; then
		# Refusing is safe, but the spec resolves the destination inside the rootfs.
		[ ! -e /host-escape ]
		runtime_diverges crun "crun 1.8.1 refuses the mount (openat2 \`escape\`: No such file or directory); nothing escaped"
		false
	fi
	run rt start "$CT"
	[ "$status" -eq 0 ]
	sleep 0.5
	cat "$CT_OUT"
	# Never on the host...
	[ ! -e /host-escape ]
	! awk '$5 == "/host-escape"' /proc/self/mountinfo | grep -q . || false
	# ...but inside the rootfs: the link resolved within it.
	[ "$(ct_status "$CT")" = running ]
	[ "$(sed -n 1p "$CT_OUT")" = tmpfs ]
	[ "$(sed -n 2p "$CT_OUT")" = inside ]
}

@test "mount propagation: mounts made in the container do not appear on the host" {
	mkdir -p "$TEST_TMP/hostdir"
	add_mount "$(jq -n --arg s "$TEST_TMP/hostdir" '{"destination": "/mnt/h", "type": "bind", "source": $s, "options": ["rbind"]}')"
	# mount(2) needs CAP_SYS_ADMIN, which the default config does not grant.
	cfg '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
	set_cmd 'mkdir -p /mnt/h/sub && mount -t tmpfs tmpfs /mnt/h/sub && touch /mnt/h/sub/x && echo mounted'
	run_ct
	[ "$status" -eq 0 ]
	[ "$output" = mounted ]
	[ ! -e "$TEST_TMP/hostdir/sub/x" ]
}

@test "default mounts: /proc, /sys (ro), /dev/mqueue" {
	set_cmd "$(mi_cmd /proc); $(mi_cmd /sys); $(mi_cmd /dev/mqueue)"
	run_ct
	[ "$status" -eq 0 ]
	grep -E ' /proc .* - proc ' <<<"$output"
	grep -E ' /sys .* - sysfs ' <<<"$output"
	[[ ",$(awk '$5 == "/sys" {print $6}' <<<"$output")," == *",ro,"* ]]
	grep -E ' /dev/mqueue .* - mqueue ' <<<"$output"
}
