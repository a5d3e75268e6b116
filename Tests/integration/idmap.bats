#!/usr/bin/env bats
# Idmapped mounts (config.md): `uidMappings`/`gidMappings` on a bind mount and the `idmap` and
# `ridmap` options. A mapping {containerID: C, hostID: H} shows a file owned by C on the source
# filesystem as owned by H through the mount, and a file created through the mount by H is
# stored as C. Without mappings, `idmap` uses the container's user-namespace mappings.
# runc 1.1.5 has no idmapped mounts (runc 1.2 added them): those tests are skipped for it.

load helpers

setup_file() { skiff_setup_file; }
setup() {
	skiff_setup
	SRC="$TEST_TMP/src"
	mkdir -m 755 "$SRC"
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

no_idmap() {
	runtime_diverges runc "runc 1.1.5 has no idmapped mounts (added in runc 1.2)"
}

# add_mount DEST OPTIONS_JSON [EXTRA_JQ]: a bind mount of $SRC on DEST.
add_mount() {
	cfg --arg src "$SRC" --arg dst "$1" --argjson o "$2" ".mounts += [{\"destination\": \$dst, \"type\": \"bind\", \"source\": \$src, \"options\": \$o} ${3:-}]"
}

# On-disk owner 1234:2345 is root through the mount, and root's files are stored as 1234:2345.
MAPS='| .mounts[-1].uidMappings = [{"containerID": 1234, "hostID": 0, "size": 1}] | .mounts[-1].gidMappings = [{"containerID": 2345, "hostID": 0, "size": 1}]'

@test "idmap: uidMappings/gidMappings on a bind mount: files created through it get the mapped owner on the host" {
	no_idmap
	echo old >"$SRC/old"
	chown 1234:2345 "$SRC" "$SRC/old"
	echo root-owned >"$SRC/rootfile"
	cfg '.mounts += [{"destination": "/mnt", "type": "bind", "source": "'"$SRC"'", "options": ["bind", "idmap"]}] '"$MAPS"
	set_cmd 'stat -c "%u:%g" /mnt/old /mnt/rootfile; touch /mnt/new && grep idmapped /proc/self/mountinfo | grep -c " /mnt "'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	# 1234:2345 on disk is root in the container; host root is unmapped there (overflow id).
	[ "${lines[0]}" = "0:0" ]
	[ "${lines[1]}" = "65534:65534" ]
	[ "${lines[2]}" = 1 ]
	[ "$(stat -c %u:%g "$SRC/new")" = "1234:2345" ]
}

@test "idmap: without mappings, idmap uses the container's user namespace mappings" {
	no_idmap
	add_ns user
	cfg '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
	     | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	# $SRC belongs to host root: only through the idmapped mount is it the container root's.
	add_mount /mnt '["rbind", "idmap"]'
	add_mount /plain '["rbind"]'
	set_cmd 'stat -c "%u" /mnt /plain; touch /mnt/new && echo made; touch /plain/no 2>/dev/null || echo refused'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 65534 ]
	[ "${lines[2]}" = made ]
	[ "${lines[3]}" = refused ]
	# Container root (host 100000) created it as on-disk uid 0.
	[ "$(stat -c %u:%g "$SRC/new")" = "0:0" ]
	[ ! -e "$SRC/no" ]
}

@test "idmap: ridmap maps the mounts below an rbind too, idmap only the top one" {
	no_idmap
	mkdir "$SRC/sub"
	mount -t tmpfs -o mode=755 skiff-idmap-test "$SRC/sub"
	on_teardown "umount -l '$SRC/sub'"
	chown 1234:2345 "$SRC" "$SRC/sub"
	cfg '.mounts += [{"destination": "/r", "type": "bind", "source": "'"$SRC"'", "options": ["rbind", "ridmap"]}] '"$MAPS"'
	     | .mounts += [{"destination": "/n", "type": "bind", "source": "'"$SRC"'", "options": ["rbind", "idmap"]}] '"$MAPS"
	set_cmd 'touch /r/sub/by-r && echo r-ok; stat -c "%u" /r/sub /n/sub; touch /n/top && echo n-top-ok'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = r-ok ]
	# Through /r the tmpfs below is idmapped (1234 shows as 0); through /n it is not.
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = 1234 ]
	[ "${lines[3]}" = n-top-ok ]
	[ "$(stat -c %u:%g "$SRC/sub/by-r")" = "1234:2345" ]
	[ "$(stat -c %u:%g "$SRC/top")" = "1234:2345" ]
}

@test "idmap: a filesystem without idmapped mounts is an error naming mounts[N], and nothing is left" {
	no_idmap
	cfg '.mounts += [{"destination": "/mnt", "type": "bind", "source": "/proc/sys", "options": ["rbind", "idmap"]}] '"$MAPS"
	n="$(jq '.mounts | length - 1' "$BUNDLE/config.json")"
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status; stderr: $stderr"
	assert_failed
	expect_msg "^.*mounts\\[$n\\]: idmapped mount of \"/proc/sys\" on \"/mnt\": the filesystem of \"/proc/sys\" \\(type proc\\) does not support idmapped mounts"
}

@test "idmap: idmap without mappings and without a user namespace is refused before anything exists" {
	no_idmap
	add_mount /mnt '["rbind", "idmap"]'
	n="$(jq '.mounts | length - 1' "$BUNDLE/config.json")"
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status; stderr: $stderr"
	assert_failed
	expect_msg "mounts\\[$n\\]\\.options: \"idmap\" without uidMappings and gidMappings means the container's user namespace mappings, but the container has no user namespace"
}

@test "idmap: an idmapped mount must be a bind mount" {
	no_idmap
	cfg '.mounts += [{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}] '"$MAPS"
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "status $status; stderr: $stderr"
	assert_failed
	expect_msg 'an idmapped mount \("idmap"\) must be a bind mount'
}
