# Shared helpers for skiff's integration tests (bats).
#
# The suite is runtime-agnostic: it drives "$RUNTIME" through runc's command line and checks
# what the container sees and what is left on the host. It is validated against runc and crun.
#
#   RUNTIME           runtime binary (default: <repo>/.build/release/skiff)
#   SKIFF_TEST_CACHE  where the busybox rootfs is built once (default: /var/tmp/skiff-test)
#   BUSYBOX           the static busybox put in the rootfs (default: /bin/busybox)
#   SKIFF_TEST_TMP    parent of the per-test temp dirs (default: /tmp)
#   SKIFF_TEST_TIMEOUT  seconds before one runtime call is killed (default: 60)
#
# Each .bats file does:
#   load helpers
#   setup_file()    { skiff_setup_file; }
#   setup()         { skiff_setup; }
#   teardown()      { skiff_teardown; }
#   teardown_file() { skiff_teardown_file; }

bats_require_minimum_version 1.5.0

HELPERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HELPERS_DIR/../.." && pwd)"
RUNTIME="${RUNTIME:-$REPO/.build/release/skiff}"
RUNTIME_NAME="$(basename "$RUNTIME")"
SKIFF_TEST_CACHE="${SKIFF_TEST_CACHE:-/var/tmp/skiff-test}"
# `runc spec` 1.1.5's default with process.terminal false, args ["sh", "-c", "true"], a
# linux.cgroupsPath placeholder (make_bundle sets it) and root.readonly false (so that programs
# can leave marker files in their rootfs; mounts.bats tests readonly: true explicitly).
FIXTURE_CONFIG="$HELPERS_DIR/fixtures/config.json"
CGROUP_PARENT="skiff-test"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
export RUNTIME RUNTIME_NAME

# Bump when the recipe below changes: the cache dir is named after it and the busybox checksum.
ROOTFS_RECIPE=3

# ---------------------------------------------------------------------------------------------
# Rootfs cache

# Set ROOTFS_CACHE to $SKIFF_TEST_CACHE/rootfs-r<recipe>-<busybox sha256 prefix>, building it
# first if it is not there. The tree is built once (per recipe and busybox binary), in a temp
# dir renamed into place, and never modified afterwards: suites running at the same time
# (several people share this machine) can copy from it safely. Tests copy it per bundle.
ensure_rootfs() {
	if [ -n "${ROOTFS_CACHE:-}" ] && [ -f "$ROOTFS_CACHE/.complete" ]; then
		return 0
	fi
	mkdir -p "$SKIFF_TEST_CACHE"
	local sum
	sum="$(sha256sum "$BUSYBOX" | cut -c1-16)" || return 1
	ROOTFS_CACHE="$SKIFF_TEST_CACHE/rootfs-r$ROOTFS_RECIPE-$sum"
	[ -f "$ROOTFS_CACHE/.complete" ] && return 0
	(
		flock 9
		[ -f "$ROOTFS_CACHE/.complete" ] && exit 0
		rm -rf "$ROOTFS_CACHE"
		local tmp="$SKIFF_TEST_CACHE/.build.$$"
		rm -rf "$tmp"
		mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home/user,var/tmp,run}
		chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
		chmod 700 "$tmp/root"
		cp "$BUSYBOX" "$tmp/bin/busybox"
		local a
		for a in $("$BUSYBOX" --list-full); do
			[ -e "$tmp/$a" ] || [ -L "$tmp/$a" ] || ln -s /bin/busybox "$tmp/$a"
		done
		printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$tmp/etc/passwd"
		printf 'root:x:0:\nuser:x:1000:\n' >"$tmp/etc/group"
		chown 1000:1000 "$tmp/home/user"
		mv -T "$tmp" "$ROOTFS_CACHE"
		# Outside the rootfs tree proper: make_bundle does not copy it.
		touch "$ROOTFS_CACHE/.complete"
	) 9>"$SKIFF_TEST_CACHE/.lock"
}

# ---------------------------------------------------------------------------------------------
# Per-test setup and teardown

skiff_setup_file() {
	ensure_rootfs
}

skiff_setup() {
	[ -x "$RUNTIME" ] || {
		echo "RUNTIME=$RUNTIME is not an executable file" >&2
		return 1
	}
	ensure_rootfs
	TEST_TMP="$(mktemp -d "${SKIFF_TEST_TMP:-/tmp}/skt-XXXXXXXX")"
	# The container's user may be remapped (user namespace): let everybody traverse the tree.
	chmod 755 "$TEST_TMP"
	UNIQ="$(basename "$TEST_TMP")"
	UNIQ="${UNIQ#skt-}"
	ROOT="$TEST_TMP/state"
	CT="c1-$UNIQ"
	CT2="c2-$UNIQ"
	CT3="c3-$UNIQ"
	TEARDOWN_CMDS=()
	: >"$TEST_TMP/.bundles"
	make_bundle bundle
}

# Register a command to run at teardown, before the leak checks (e.g. umount of a host mount the
# test made itself). Run in reverse order of registration.
on_teardown() {
	TEARDOWN_CMDS+=("$1")
}

skiff_teardown() {
	[ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ] || return 0
	local rc=0 i
	cd "$HELPERS_DIR" || cd /
	delete_all_containers
	for ((i = ${#TEARDOWN_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${TEARDOWN_CMDS[$i]}" || true
	done
	assert_nothing_left || rc=1
	return $rc
}

skiff_teardown_file() {
	# runc and crun create the parent of a nested cgroupsPath and leave it (as they do for
	# /docker or /kubepods): remove the empty /skiff-test parents ourselves.
	local d
	for d in $(cgroup_mounts); do
		[ -d "$d/$CGROUP_PARENT" ] && rmdir "$d/$CGROUP_PARENT" 2>/dev/null
	done
	return 0
}

# `delete --force` every container the runtime still lists (or still has a state dir for).
delete_all_containers() {
	local ids id
	ids="$(rt list -q 2>/dev/null)"
	if [ -d "$ROOT" ]; then
		ids="$ids $(find "$ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null)"
	fi
	for id in $(printf '%s\n' $ids | sort -u); do
		rt delete --force "$id" >/dev/null 2>&1 </dev/null
	done
}

# Mount points of every cgroup hierarchy (v1 and v2) visible in this mount namespace.
cgroup_mounts() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5; break } }' /proc/self/mountinfo
}

# Every cgroupsPath used by this test's bundles (from their config.json).
test_cgroup_paths() {
	local b p
	while read -r b; do
		[ -f "$b/config.json" ] || continue
		p="$(jq -r '.linux.cgroupsPath // empty' "$b/config.json" 2>/dev/null)"
		[ -n "$p" ] && echo "$p"
	done <"$TEST_TMP/.bundles"
	return 0
}

# pid_state PID: the one-letter state from /proc/PID/stat (empty if gone). Bash only: this
# runs in loops, and forks are slow.
pid_state() {
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
	line="${line##*) }"
	echo "${line%% *}"
}

# The pids of this shell and its ancestors (never reported nor killed).
self_and_ancestors() {
	local pid=$BASHPID line
	while [ -n "$pid" ] && [ "$pid" != 0 ]; do
		echo "$pid"
		{ read -r line <"/proc/$pid/stat"; } 2>/dev/null || break
		line="${line##*) }"
		line="${line#* }"
		pid="${line%% *}"
	done
	echo "$$"
}

# pids of processes the test left: cwd or root inside the test dir (hooks, runtime helpers), in a
# cgroup of this test, or in another mount namespace whose mounts come from the test dir
# (containers: from the host their cwd and root read "/"). Zombies hold nothing and are ignored
# (PID 1 of this VM reaps orphans late).
leaked_pids() {
	local myns pat p pid skip others=()
	myns="$(readlink /proc/self/ns/mnt)"
	pat="${myns//[/\\[}"
	pat="${pat//]/\\]}"
	skip=" $(self_and_ancestors | tr '\n' ' ') "
	{
		find /proc/[0-9]*/cwd /proc/[0-9]*/root -maxdepth 0 \( -lname "$TEST_TMP" -o -lname "$TEST_TMP/*" \) -printf '%h\n' 2>/dev/null
		grep -lF "/$CGROUP_PARENT/$UNIQ-" /proc/[0-9]*/cgroup 2>/dev/null
		for p in $(find /proc/[0-9]*/ns/mnt -maxdepth 0 ! -lname "$pat" -printf '%h\n' 2>/dev/null); do
			others+=("${p%/ns}/mountinfo")
		done
		[ "${#others[@]}" -gt 0 ] && grep -lF "$TEST_TMP/" "${others[@]}" 2>/dev/null
	} | sed -n 's|^/proc/\([0-9]*\).*|\1|p' | sort -un | while read -r pid; do
		[[ "$skip" == *" $pid "* ]] && continue
		case "$(pid_state "$pid")" in "" | Z | X) continue ;; esac
		echo "$pid"
	done
}

leaked_cgroups() {
	local h cg paths
	paths="$(test_cgroup_paths)"
	for h in $(cgroup_mounts); do
		for cg in $paths; do
			[ -d "$h/${cg#/}" ] && echo "$h/${cg#/}"
		done
		for cg in "$h/$CGROUP_PARENT/$UNIQ-"*; do
			[ -d "$cg" ] && echo "$cg"
		done
	done | sort -u
}

leaked_mounts() {
	awk -v t="$TEST_TMP/" '{ if (index($5 "/", t) == 1 || index($4 "/", t) == 1) print $5 }' /proc/self/mountinfo
	# The escape test's target on the host, should a runtime follow the symlink out of the rootfs.
	awk '$5 == "/host-escape" { print $5 }' /proc/self/mountinfo
}

leaked_state() {
	[ -d "$ROOT" ] || return 0
	find "$ROOT" -mindepth 1 -maxdepth 1 -type d
}

# Fail (after cleaning up, so that the next test starts clean) if anything of this test is left:
# a state dir under $ROOT, a cgroup of one of its cgroupsPaths in any hierarchy, a mount that
# mentions the test dir, or a process inside the test dir / its cgroups / its mount namespaces.
assert_nothing_left() {
	local problems="" tries x
	for tries in 1 2 3 4 5 6 7 8 9 10; do
		problems=""
		x="$(leaked_state)" && [ -n "$x" ] && problems+="state dirs left under $ROOT:"$'\n'"$x"$'\n'
		x="$(leaked_cgroups)" && [ -n "$x" ] && problems+="cgroups left:"$'\n'"$x"$'\n'
		x="$(leaked_mounts)" && [ -n "$x" ] && problems+="mounts left:"$'\n'"$x"$'\n'
		x="$(leaked_pids)" && [ -n "$x" ] && problems+="processes left:"$'\n'"$(for p in $x; do printf '%s %s\n' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)"$'\n'
		[ -z "$problems" ] && break
		# Allow a second for a process that is dying (the runtime was told to kill it).
		[ "$tries" -lt 10 ] && sleep 0.1
	done
	if [ -n "$problems" ]; then
		echo "LEAK CHECK FAILED for test dir $TEST_TMP ($RUNTIME_NAME):"
		echo "$problems"
		force_cleanup
		return 1
	fi
	rm -rf --one-file-system "$TEST_TMP"
	return 0
}

# Remove whatever a broken runtime left, then the test dir. Only kills processes that belong to
# this test (found by leaked_pids).
force_cleanup() {
	local p m cg i
	for i in 1 2 3; do
		for p in $(leaked_pids); do kill -KILL "$p" 2>/dev/null; done
		sleep 0.2
	done
	for m in $(leaked_mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	for cg in $(leaked_cgroups | sort -r); do
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	if [ -z "$(leaked_mounts)" ]; then
		rm -rf --one-file-system "$TEST_TMP"
	else
		echo "NOT removing $TEST_TMP: mounts still there"
	fi
}

# ---------------------------------------------------------------------------------------------
# Runtime and bundles

# The runtime under test with this test's state root. A hung call is killed after
# $SKIFF_TEST_TIMEOUT seconds (exit status 124/137).
rt() {
	timeout --kill-after=5 "${SKIFF_TEST_TIMEOUT:-60}" "$RUNTIME" --root "$ROOT" "$@"
}

# make_bundle [NAME]: $TEST_TMP/NAME with a copy of the rootfs and the fixture config, with
# linux.cgroupsPath /skiff-test/<uniq>-NAME. Sets BUNDLE.
make_bundle() {
	local name="${1:-bundle}"
	BUNDLE="$TEST_TMP/$name"
	mkdir -p "$BUNDLE"
	cp -a "$ROOTFS_CACHE" "$BUNDLE/rootfs"
	rm -f "$BUNDLE/rootfs/.complete"
	jq --arg cg "/$CGROUP_PARENT/$UNIQ-$name" '.linux.cgroupsPath = $cg' "$FIXTURE_CONFIG" >"$BUNDLE/config.json"
	echo "$BUNDLE" >>"$TEST_TMP/.bundles"
}

# cfg [jq options] FILTER: edit $BUNDLE/config.json in place (BUNDLE=other cfg ... for another).
cfg() {
	local f="$BUNDLE/config.json"
	jq "$@" "$f" >"$f.new" || {
		rm -f "$f.new"
		echo "cfg: jq failed: $*" >&2
		return 1
	}
	mv "$f.new" "$f"
}

# set_args ARG...: process.args = the arguments.
set_args() {
	local f="$BUNDLE/config.json"
	jq '.process.args = $ARGS.positional' "$f" --args -- "$@" >"$f.new" && mv "$f.new" "$f"
}

# set_cmd SCRIPT: process.args = ["sh", "-c", SCRIPT].
set_cmd() {
	set_args sh -c "$1"
}

# Remove a namespace entry (host namespace of that type).
del_ns() {
	cfg --arg t "$1" '.linux.namespaces |= map(select(.type != $t))'
}

# Add or replace a namespace entry: add_ns TYPE [PATH].
add_ns() {
	del_ns "$1"
	if [ -n "${2:-}" ]; then
		cfg --arg t "$1" --arg p "$2" '.linux.namespaces += [{"type": $t, "path": $p}]'
	else
		cfg --arg t "$1" '.linux.namespaces += [{"type": $t}]'
	fi
}

# ct_detached ID COMMAND [flags...]: `COMMAND --bundle $BUNDLE [flags] ID` with the runtime's (and
# later the container's) stdout/stderr in the files $CT_OUT and $CT_ERR (named after a hash of ID),
# so that no pipe of ours is held by the container. Sets status, output (stdout) and stderr like
# `run --separate-stderr`.
ct_detached() {
	local id="$1" io
	shift
	io="$TEST_TMP/io-$(printf '%s' "$id" | md5sum | cut -c1-12)"
	CT_OUT="$io.out"
	CT_ERR="$io.err"
	status=0
	rt "$@" --bundle "$BUNDLE" "$id" >"$CT_OUT" 2>"$CT_ERR" </dev/null || status=$?
	output="$(cat "$CT_OUT")"
	stderr="$(cat "$CT_ERR")"
	return 0
}

# ct_create ID [create flags...]: `create` with stdio in files (see ct_detached).
ct_create() {
	local id="$1"
	shift
	ct_detached "$id" create "$@"
	if [ "$status" -ne 0 ]; then
		echo "create $id: status $status, stderr: $stderr"
	fi
	return 0
}

# ct_run_detached ID [run flags...]: `run --detach`, stdio in files (see ct_detached).
ct_run_detached() {
	local id="$1"
	shift
	ct_detached "$id" run --detach "$@"
}

# Create and start ID from $BUNDLE; fails the test if either step fails.
start_container() {
	local id="$1"
	ct_create "$id"
	[ "$status" -eq 0 ] || return 1
	run rt start "$id"
	if [ "$status" -ne 0 ]; then
		echo "start $id failed ($status): $output"
		return 1
	fi
}

# ct_status ID: the "status" field of `state ID` (empty if state fails).
ct_status() {
	rt state "$1" 2>/dev/null | jq -r '.status // empty'
}

ct_pid() {
	rt state "$1" 2>/dev/null | jq -r '.pid // empty'
}

# wait_status ID STATUS [SECONDS=5]
wait_status() {
	local id="$1" want="$2" secs="${3:-5}" i st=""
	for ((i = 0; i < secs * 20; i++)); do
		st="$(ct_status "$id")"
		[ "$st" = "$want" ] && return 0
		sleep 0.05
	done
	echo "container $id: status '$st', expected '$want' within ${secs}s"
	return 1
}

# wait_file PATH [SECONDS=5]: wait until PATH exists (and is non-empty with -s).
wait_file() {
	local f="$1" secs="${2:-5}" i
	for ((i = 0; i < secs * 20; i++)); do
		[ -e "$f" ] && return 0
		sleep 0.05
	done
	echo "file $f did not appear within ${secs}s"
	return 1
}

# Skip when the runtime is known to disagree with the spec on this point (documented in the
# reason). Use only for behaviour that is checked against the spec text, never to hide a failure.
runtime_diverges() {
	local who="$1" reason="$2"
	case " $who " in
	*" $RUNTIME_NAME "*) skip "$RUNTIME_NAME divergence: $reason" ;;
	esac
}

# expect_msg ERE: skiff promises precise error messages (JSON path + the bad value, or the
# phrases "does not exist", "already exists", "container not running"). Checked on $stderr only
# when the runtime under test is skiff; other runtimes word their messages differently.
expect_msg() {
	[ "$RUNTIME_NAME" = "skiff" ] || return 0
	if ! grep -Eq -- "$1" <<<"$stderr"; then
		echo "stderr does not match /$1/:"
		echo "$stderr"
		return 1
	fi
}

# Runtimes whose error exit codes are not runc's "1": for them assert_failed accepts any
# non-zero status. crun 1.8.1 exits 255 on hook failures, 64 on usage errors, and dies of
# SIGPIPE (141) when a poststart hook fails.
LOOSE_EXIT_RUNTIMES="${LOOSE_EXIT_RUNTIMES:-crun}"

# assert_failed [RUNTIME...]: assert a failed runtime call after `run --separate-stderr` or
# ct_create: exit status 1 (skiff: "1 for any error", as runc), a message on stderr. For the
# runtimes named as arguments (and $LOOSE_EXIT_RUNTIMES) any non-zero status is accepted (they
# are known to use another code there; the caller documents it).
assert_failed() {
	if [ "$status" -eq 0 ]; then
		echo "expected failure, got status 0; stdout: $output; stderr: $stderr"
		return 1
	fi
	if [ "$status" -ne 1 ] && [[ " $* $LOOSE_EXIT_RUNTIMES " != *" $RUNTIME_NAME "* ]]; then
		echo "expected status 1, got $status; stderr: $stderr"
		return 1
	fi
	if [ -z "$stderr" ]; then
		echo "expected a message on stderr (status $status); stdout: $output"
		return 1
	fi
}

# pid_gone PID: the process has exited (a zombie counts as gone: PID 1 of this VM reaps
# orphans late).
pid_gone() {
	case "$(pid_state "$1")" in "" | Z | X) return 0 ;; esac
	return 1
}

# Host view of a namespace: ns_of PID TYPE -> "type:[inode]"
ns_of() {
	readlink "/proc/$1/ns/$2"
}
