#!/usr/bin/env bash
# The client battery: docker, podman and containerd (ctr) driving an OCI runtime, the way users
# run containers. Usage:
#
#   conformance/clients/run.sh [OPTIONS] [RUNTIME_PATH...]
#
#   RUNTIME_PATH    runtimes to test, each with the same battery (default: skiff at
#                   <repo>/.build/release/skiff). The first one is the one under test: the final
#                   "N passed, N failed" line and the exit code are about it only.
#   --markdown FILE also write the summary table as Markdown to FILE
#   --clients LIST  comma-separated subset of docker,podman,ctr (default: all three)
#   --only REGEX    only the scenarios whose name matches REGEX (grep -E)
#   --keep          keep the work dir (logs, daemon logs, stores) after the run
#   --hide-cgroup2  do not mount cgroup2 (/sys/fs/cgroup/unified) in the private namespace: the
#                   clients and runtimes see a pure cgroup v1 host. crun 1.8 refuses this
#                   machine's hybrid layout while a controller (hugetlb) is left to cgroup2, so
#                   a runtime named crun* always gets this view (its column says "crun (v1)").
#   --reference NAME  the reference runtime among the others (default: runc)
#
# The references run first, the runtime under test last. A scenario it fails is a regression
# unless it is listed in known-failures.txt ("RUNTIME CLIENT:SCENARIO reason", CLIENT may be
# *) or the reference fails it too (the machine, not the runtime): both are reported as TAP
# TODO with the reason and not counted as failures.
#
# Output: TAP ("ok N client: scenario"), then a table scenario x runtime ("<-": the runtime
# under test fails where the reference passes), a line per runtime, and for the runtime under
# test "N passed, N failed, N skipped, N known, N failing with the reference too".
#
# Needs root. Installs what is missing with apt-get (containerd, podman, docker.io, ...). Each
# runtime's battery runs in private mount and network namespaces (unshare) with its own /run,
# /dev/shm and cgroup mounts; containerd and dockerd are started there with private configs and
# stores under $SKIFF_CLIENTS_WORK (default /var/tmp/skiff-clients), and stopped at the end.
# Nothing is left on the host: no daemon, mount, network, firewall rule, cgroup or container.
#
# Environment: SKIFF_CLIENTS_WORK (work dir parent), BUSYBOX (static busybox for the image,
# default /bin/busybox), SCENARIO_TIMEOUT (seconds per scenario, default 120), CALL_TIMEOUT
# (seconds per client call, default 60), SCENARIO_RETRY (1: a failed scenario runs once more,
# default; 0: no second try).

set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
IMG="localhost/skiff-busybox:latest"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
SCENARIO_TIMEOUT="${SCENARIO_TIMEOUT:-120}"
export HERE IMG BUSYBOX SCENARIO_TIMEOUT

die() {
	echo "run.sh: $*" >&2
	exit 2
}

# ---------------------------------------------------------------------------------------------
# Inner part: one runtime's battery, inside the private namespaces. Prints TAP lines numbered
# from $TAP_START; appends "runtime<TAB>client<TAB>scenario<TAB>ok|fail|skip<TAB>seconds" to
# $RESULTS.

# The scenario lines of SCENARIOS for CLIENT (and --only), in order.
scenarios_for() {
	local client="$1" line name clients
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		name="${line%%:*}"
		clients=" ${line#*:} "
		[[ "$clients" == *" $client "* ]] || continue
		if [ -n "${ONLY:-}" ]; then
			echo "$name" | grep -qE -- "$ONLY" || continue
		fi
		echo "$name"
	done <<<"$SCENARIOS"
}

TAP_N=0

# known_reason CLIENT NAME: the reason known-failures.txt gives for this runtime's failure.
known_reason() {
	local rt key reason
	[ -f "$HERE/known-failures.txt" ] || return 1
	while read -r rt key reason; do
		case "$rt" in '' | '#'*) continue ;; esac
		[ "$rt" = "$RT_NAME" ] || continue
		[ "$key" = "$1:$2" ] || [ "$key" = "*:$2" ] || continue
		echo "$reason"
		return 0
	done <"$HERE/known-failures.txt"
	return 1
}

# result_of RUNTIME CLIENT NAME: ok, fail, skip... of an earlier battery (the reference's).
result_of() {
	awk -F'\t' -v r="$1" -v c="$2" -v n="$3" '$1 == r && $2 == c && $3 == n { s = $4 } END { print s }' "$RESULTS"
}

# report CLIENT NAME STATUS SECONDS LOG [REASON]
# STATUS ok, skip or fail; a failure of the runtime under test becomes "known" (listed in
# known-failures.txt) or "shared" (the reference fails it too); a reference's is "ref".
report() {
	local client="$1" name="$2" status="$3" secs="$4" log="$5" reason="${6:-}" why note=""
	TAP_N=$((TAP_N + 1))
	if [ "$status" = fail ]; then
		if [ -z "${UNDER_TEST:-}" ]; then
			note="reference runtime, not under test"
		elif why="$(known_reason "$client" "$name")"; then
			status=known
			note="known: $why"
		elif [ -n "${REF_NAME:-}" ] && [ "$(result_of "$REF_NAME" "$client" "$name")" = fail ]; then
			status=shared
			note="$REF_NAME fails it too: the machine, not $RT_NAME"
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$RT_NAME" "$client" "$name" "$status" "$secs" "$(printf '%s' "$reason" | tr '\t\n' '  ' | cut -c1-300)" >>"$RESULTS"
	case "$status" in
	ok)
		echo "ok $TAP_N $client: $name"
		[ -n "$reason" ] && echo "#   $reason"
		[ -f "$log" ] && sed -n 's/^NOTE: /#   /p' "$log"
		[ -n "${UNDER_TEST:-}" ] && why="$(known_reason "$client" "$name")" &&
			echo "#   listed in known-failures.txt but passes now: remove it from there"
		;;
	skip)
		echo "ok $TAP_N $client: $name # SKIP $reason"
		;;
	*)
		echo "not ok $TAP_N $client: $name${note:+ # TODO $note}"
		[ -n "$reason" ] && echo "#   $reason"
		[ -f "$log" ] && tail -n 15 "$log" | sed 's/\r//g; s/^/#   | /'
		;;
	esac
	return 0
}

# A scenario that fails (not by timing out) runs once more: the clients have timing races of
# their own on this 2-core VM (e.g. ctr run --rm now and then loses a fast container's stdout).
# A pass on the second try is reported as such, with the first try's failure, and counted.
run_scenario() {
	local client="$1" name="$2" log rc start status reason="" try first=""
	log="$W/logs/$client-$name.log"
	for try in 1 2; do
		mount_cgroup_hierarchies
		start=$SECONDS
		reason=""
		CLIENT="$client" timeout -k 5 "$SCENARIO_TIMEOUT" bash -c \
			'. "$HERE/env.bash" && . "$HERE/scenarios.bash" && sc_'"$name"' "$CLIENT"' >"$log" 2>&1 </dev/null
		rc=$?
		case "$rc" in
		0) status=ok ;;
		3)
			status=skip
			reason="$(sed -n 's/^SKIP: //p' "$log" | tail -1)"
			;;
		124 | 137)
			status=fail
			reason="timed out after $SCENARIO_TIMEOUT s"
			;;
		*) status=fail ;;
		esac
		[ "$try" = 1 ] && [ "$status" = fail ] && [ -z "$reason" ] && [ "${SCENARIO_RETRY:-1}" = 1 ] || break
		first="$(grep '^FAIL: ' "$log" | tail -1 | cut -c7-200)"
		mv "$log" "$log.try1"
		clean_client "$client" >"$log.cleanup" 2>&1
	done
	[ -n "$first" ] && [ "$status" = ok ] && reason="passed on a second try; the first failed: ${first:-see $log.try1}"
	[ -n "$first" ] && [ "$status" != ok ] && reason="failed twice"
	report "$client" "$name" "$status" $((SECONDS - start)) "$log" "$reason"
	[ $((SECONDS - start)) -ge 15 ] && echo "#   (took $((SECONDS - start)) s)"
	start=$SECONDS
	clean_client "$client" >"$log.cleanup" 2>&1
	[ -s "$log.cleanup" ] && sed 's/^/#   cleanup: /' "$log.cleanup" | cut -c1-300
	[ $((SECONDS - start)) -ge 15 ] && echo "#   (cleaning up after it took $((SECONDS - start)) s)"
}

# Pids in this mount namespace other than this shell and its ancestors (daemons, shims, conmon
# left running), and pids in the cgroups the clients made. Call it in the current shell (no
# pipeline, no $(...)): the children of a subshell would be counted.
leftover_pids() {
	local me p skip=" " pid=$BASHPID line
	me="$(readlink /proc/self/ns/mnt)"
	while [ -n "$pid" ] && [ "$pid" != 0 ]; do
		skip+="$pid "
		{ read -r line <"/proc/$pid/stat"; } 2>/dev/null || break
		line="${line##*) }"
		line="${line#* }"
		pid="${line%% *}"
	done
	for p in /proc/[0-9]*; do
		pid="${p#/proc/}"
		[[ "$skip" == *" $pid "* ]] && continue
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$me" ] || continue
		line="$(cat "$p/stat" 2>/dev/null)" || continue
		line="${line##*) }"
		case "${line%% *}" in Z | X) continue ;; esac
		echo "$pid"
	done
	for p in "${CGROUP_PARENT_DIRS[@]}"; do
		[ -d "$p" ] && find "$p" -name cgroup.procs -exec cat {} + 2>/dev/null
	done
}

# The cgroup parents the clients use, in every hierarchy: /docker, /libpod_parent, /<ctr ns>.
CGROUP_PARENT_DIRS=()
cgroup_parents() {
	local d p
	for d in /sys/fs/cgroup/*/; do
		[ -L "${d%/}" ] && continue
		for p in docker libpod_parent "$CTR_NS"; do
			echo "${d%/}/$p"
		done
	done
}

# Every directory under the clients' cgroup parents, sorted (for comm).
cgroup_dirs() {
	local p
	for p in "${CGROUP_PARENT_DIRS[@]}"; do
		[ -d "$p" ] && find "$p" -type d 2>/dev/null
	done | LC_ALL=C sort
}

# After the daemons stopped: no process, no container cgroup, no runtime state left.
check_nothing_left() {
	local log="$W/logs/all-nothing_left.log" left="" pids p r d
	: >"$log"
	# Daemons and shims take a moment to go (and this VM's PID 1 reaps late).
	for _ in $(seq 1 50); do
		# Not in a pipeline: its own helpers would be in the list.
		leftover_pids >"$W/logs/leftover-pids"
		pids="$(sort -un "$W/logs/leftover-pids" | tr '\n' ' ')"
		[ -z "${pids// /}" ] && break
		sleep 0.2
	done
	if [ -n "${pids// /}" ]; then
		left+="processes: $pids; "
		for p in $pids; do
			echo "left: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >>"$log"
			kill -KILL "$p" 2>/dev/null
		done
		sleep 1
	fi
	for r in /run/runc /run/crun /run/skiff "/run/$RT_NAME" "$S/ctr-rt/$CTR_NS" "$S/docker/exec/runtime-runc/moby"; do
		[ -d "$r" ] || continue
		for d in $(find "$r" -mindepth 1 -maxdepth 1 -type d 2>/dev/null); do
			left+="state dir $d; "
		done
	done
	# Container cgroups made during the battery and still there (the parents themselves and
	# podman's <parent>/conmon are the clients', not the runtime's).
	cgroup_dirs >"$W/logs/cgroups-after"
	for d in $(LC_ALL=C comm -13 "$W/logs/cgroups-before" "$W/logs/cgroups-after"); do
		[[ " ${CGROUP_PARENT_DIRS[*]} " == *" $d "* ]] && continue
		[[ "$d" == */libpod_parent/conmon ]] && continue
		left+="cgroup $d; "
	done
	# Remove every cgroup made during the battery (deepest first), so that the next battery
	# starts clean and the host gets back what it had.
	for d in $(LC_ALL=C comm -13 "$W/logs/cgroups-before" "$W/logs/cgroups-after" | sort -r); do
		rmdir "$d" 2>/dev/null || echo "cannot remove $d" >>"$log"
	done
	if [ -n "$left" ]; then
		echo "FAIL: left behind: $left" >>"$log"
		report all nothing_left fail 0 "$log" "left behind: ${left:0:300}"
	else
		report all nothing_left ok 0 "$log"
	fi
}

inner() {
	local client name
	. "$HERE/env.bash"
	. "$HERE/scenarios.bash"
	TAP_N="$TAP_START"
	mkdir -p "$W/logs" "$W/cwd" || exit 1
	# conmon leaves a file named "oom" in the podman client's working directory after an OOM kill.
	cd "$W/cwd" || exit 1
	setup_namespace >"$W/logs/namespace.log" 2>&1 || {
		cat "$W/logs/namespace.log" >&2
		exit 1
	}
	mkdir -p "$S"
	mapfile -t CGROUP_PARENT_DIRS < <(cgroup_parents)
	cgroup_dirs >"$W/logs/cgroups-before"

	trap stop_all EXIT
	trap 'exit 130' INT TERM

	# Daemons and images: a client whose setup fails gets all its scenarios failed with why.
	declare -A broken
	if [[ " $CLIENTS " == *" ctr "* ]]; then
		start_containerd >"$W/logs/setup-ctr.log" 2>&1 &&
			ctr_ images import "$IMAGE_TAR" >>"$W/logs/setup-ctr.log" 2>&1 ||
			broken[ctr]="containerd setup failed: $(tail -3 "$W/logs/setup-ctr.log" | tr '\n' ' ')"
	fi
	if [[ " $CLIENTS " == *" docker "* ]]; then
		start_dockerd >"$W/logs/setup-docker.log" 2>&1 &&
			dk load -q -i "$IMAGE_TAR" >>"$W/logs/setup-docker.log" 2>&1 ||
			broken[docker]="dockerd setup failed: $(tail -3 "$W/logs/setup-docker.log" | tr '\n' ' ')"
	fi
	if [[ " $CLIENTS " == *" podman "* ]]; then
		setup_podman >"$W/logs/setup-podman.log" 2>&1 &&
			pm load -q -i "$IMAGE_TAR" >>"$W/logs/setup-podman.log" 2>&1 ||
			broken[podman]="podman setup failed: $(tail -3 "$W/logs/setup-podman.log" | tr '\n' ' ')"
	fi

	for client in $CLIENTS; do
		for name in $(scenarios_for "$client"); do
			if [ -n "${broken[$client]:-}" ]; then
				report "$client" "$name" fail 0 "" "${broken[$client]}"
			else
				run_scenario "$client" "$name"
			fi
		done
	done

	stop_all
	trap - EXIT
	check_nothing_left
}

# Stop everything: containers first, then the daemons (dockerd stops its own containerd). Also
# run when the battery is interrupted: the daemons would outlive this shell otherwise.
stop_all() {
	local client
	for client in $CLIENTS; do
		clean_client "$client" >>"$W/logs/stop-all.log" 2>&1
	done
	stop_daemon "$S/docker/pid"
	stop_daemon "$S/containerd/pid"
	sleep 0.5
}

# ---------------------------------------------------------------------------------------------
# Outer part

# Install what is missing (CI starts from a clean Debian 12). No daemon is started by the
# packages' scripts: policy-rc.d says no while we install.
ensure_packages() {
	local need=() added_policy=""
	command -v containerd >/dev/null && command -v ctr >/dev/null || need+=(containerd)
	command -v podman >/dev/null && command -v conmon >/dev/null || need+=(podman)
	[ -x /usr/lib/podman/netavark ] || need+=(netavark)
	[ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
	command -v dockerd >/dev/null && [ -x /usr/bin/docker ] && [ -x /usr/bin/docker-init ] || need+=(docker.io)
	command -v iptables >/dev/null || need+=(iptables)
	command -v jq >/dev/null || need+=(jq)
	command -v curl >/dev/null || need+=(curl)
	command -v script >/dev/null || need+=(bsdutils)
	command -v ip >/dev/null || need+=(iproute2)
	if [ "$BUSYBOX" = /bin/busybox ] && ! dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
		need+=(busybox-static)
	fi
	[ ${#need[@]} -eq 0 ] && return 0
	echo "# installing: ${need[*]}"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		added_policy=1
	fi
	{
		apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
	} >"$BASE/apt.log" 2>&1
	local rc=$?
	[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || {
		tail -20 "$BASE/apt.log" >&2
		die "apt-get install ${need[*]} failed"
	}
}

# make_image OUT: a docker-archive (`docker save` format, which ctr, podman and docker 20.10 all
# load) with one layer: a static busybox and its applet links, root and user 1000.
make_image() {
	local out="$1" tmp r a diff cfg cfgsum
	tmp="$(mktemp -d "$BASE/image.XXXXXX")"
	r="$tmp/rootfs"
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home/user,var/tmp,run} "$tmp/archive"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 700 "$r/root"
	cp "$BUSYBOX" "$r/bin/busybox" || return 1
	for a in $("$BUSYBOX" --list-full); do
		[ -e "$r/$a" ] || [ -L "$r/$a" ] || ln -s /bin/busybox "$r/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\n' >"$r/etc/group"
	chown 1000:1000 "$r/home/user"
	tar --numeric-owner --sort=name --mtime=@0 -C "$r" -cf "$tmp/layer.tar" . || return 1
	diff="$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)"
	mkdir "$tmp/archive/$diff"
	mv "$tmp/layer.tar" "$tmp/archive/$diff/layer.tar"
	cfg="$(jq -cn --arg d "sha256:$diff" --arg a "$(dpkg --print-architecture)" '{
		architecture: $a, os: "linux", created: "1970-01-01T00:00:00Z",
		config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"], WorkingDir: "/"},
		rootfs: {type: "layers", diff_ids: [$d]},
		history: [{created: "1970-01-01T00:00:00Z", created_by: "skiff conformance/clients: static busybox"}]}')"
	cfgsum="$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)"
	printf '%s' "$cfg" >"$tmp/archive/$cfgsum.json"
	jq -cn --arg c "$cfgsum.json" --arg l "$diff/layer.tar" --arg t "$IMG" \
		'[{Config: $c, RepoTags: [$t], Layers: [$l]}]' >"$tmp/archive/manifest.json"
	jq -cn --arg d "$diff" --arg t "$IMG" '{($t | split(":")[0]): {($t | split(":")[1]): $d}}' \
		>"$tmp/archive/repositories"
	tar --numeric-owner -C "$tmp/archive" -cf "$out" . || return 1
	rm -rf "$tmp"
}

# Summary: a table scenario x runtime (text, and Markdown into $MARKDOWN), a line per runtime,
# and the closing line for the first one (the runtime under test).
summary() {
	local rows names labels r row cell st md="" w=0 line mark ut="${RT_NAMES[0]}" i
	names=("${RT_NAMES[@]}")
	labels=("${RT_LABELS[@]}")
	mapfile -t rows < <(awk -F'\t' '!seen[$2 ": " $3]++ { print $2 ": " $3 }' "$RESULTS")
	md="# Client battery results"$'\n\n'
	md+="Generated by \`conformance/clients/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) cores:"
	md+=" $(dpkg-query -W -f '${Package} ${Version}, ' docker.io podman containerd 2>/dev/null | sed 's/, $//')."$'\n\n'
	md+="ok = passed, FAIL = failed, known = listed in \`known-failures.txt\`, skip = skipped (reason in the TAP output),"
	md+=" <- = ${ut} fails where ${REF_NAME:-the reference} passes. (v1): run with a pure cgroup v1 view (\`--hide-cgroup2\`)."$'\n\n'

	for row in "${rows[@]}"; do [ ${#row} -gt $w ] && w=${#row}; done
	echo
	echo "# Summary (ok = passed, FAIL = failed, known = listed in known-failures.txt, skip = skipped,"
	echo "# - = not run; <- = $ut fails where ${REF_NAME:-the reference} passes)"
	line="$(printf "%-${w}s" scenario)"
	md+="| scenario |"
	for i in "${!names[@]}"; do
		line+="  $(printf '%-9s' "${labels[$i]}")"
		md+=" ${labels[$i]} |"
	done
	echo "# $line"
	md+=$'  |\n|---|'
	for r in "${names[@]}"; do md+="---|"; done
	md+=$'---|\n'
	for row in "${rows[@]}"; do
		line="$(printf "%-${w}s" "$row")"
		md+="| $row |"
		for r in "${names[@]}"; do
			st="$(awk -F'\t' -v r="$r" -v k="$row" '$1 == r && $2 ": " $3 == k { print $4 }' "$RESULTS" | tail -1)"
			case "$st" in ok) cell=ok ;; fail | shared) cell=FAIL ;; known) cell=known ;; skip) cell=skip ;; *) cell=- ;; esac
			line+="  $(printf '%-9s' "$cell")"
			md+=" $cell |"
		done
		mark=""
		if [ -n "${REF_NAME:-}" ]; then
			st="$(awk -F'\t' -v r="$ut" -v k="$row" '$1 == r && $2 ": " $3 == k { print $4 }' "$RESULTS" | tail -1)"
			case "$st" in fail | known | shared)
				[ "$(awk -F'\t' -v r="$REF_NAME" -v k="$row" '$1 == r && $2 ": " $3 == k { print $4 }' "$RESULTS" | tail -1)" = ok ] && mark="<-"
				;;
			esac
		fi
		echo "# $line$mark"
		md+=" $mark |"$'\n'
	done
	local p f s k sh secs count again
	count() { awk -F'\t' -v r="$1" -v st="$2" '$1 == r && $4 == st' "$RESULTS" | wc -l; }
	for i in "${!names[@]}"; do
		r="${names[$i]}"
		p="$(count "$r" ok)" f="$(count "$r" fail)" s="$(count "$r" skip)" k="$(count "$r" known)" sh="$(count "$r" shared)"
		secs="${RT_SECONDS[$i]}"
		if [ "$i" = 0 ]; then
			FIRST_SUMMARY="$p passed, $f failed, $s skipped, $k known, $sh failing with ${REF_NAME:-the reference} too"
			again="$(awk -F'\t' -v r="$r" '$1 == r && $4 == "ok" && $6 ~ /^passed on a second try/' "$RESULTS" | wc -l)"
			[ "$again" -gt 0 ] && FIRST_SUMMARY+=", $again passed on a second try"
			FIRST_FAILED=$f
			echo "# ${labels[$i]} (${RT_PATHS[$i]}): $FIRST_SUMMARY, in $secs s"
			md+=$'\n'"- **${labels[$i]}** (\`${RT_PATHS[$i]#"$REPO"/}\`, under test): $FIRST_SUMMARY, in $secs s"
		else
			echo "# ${labels[$i]} (${RT_PATHS[$i]}): $p passed, $f failed, $s skipped, in $secs s"
			md+=$'\n'"- **${labels[$i]}** (\`${RT_PATHS[$i]#"$REPO"/}\`): $p passed, $f failed, $s skipped, in $secs s"
		fi
	done
	# Why the runtime under test fails what it fails (known-failures.txt, or the reference too).
	local why_lines
	why_lines="$(awk -F'\t' -v r="$ut" '$1 == r && ($4 == "known" || $4 == "shared") { print $2 "\t" $3 "\t" $4 }' "$RESULTS")"
	if [ -n "$why_lines" ]; then
		md+=$'\n\n'"Failures of $ut that are not regressions:"$'\n'
		while IFS=$'\t' read -r c n st; do
			if [ "$st" = known ]; then
				line="$(RT_NAME="$ut" known_reason "$c" "$n")"
			else
				line="${REF_NAME} fails it too (this machine)"
			fi
			md+=$'\n'"- $c: $n: $line"
		done <<<"$why_lines"
	fi
	why_lines="$(awk -F'\t' -v r="$ut" '$1 == r && $4 == "ok" && $6 != "" { print "- " $2 ": " $3 ": " $6 }' "$RESULTS")"
	if [ -n "$why_lines" ]; then
		md+=$'\n\n'"Passed by $ut on a second try:"$'\n\n'"$why_lines"
	fi
	# Why scenarios were skipped (the runtime under test's reasons).
	why_lines="$(awk -F'\t' -v r="$ut" '$1 == r && $4 == "skip" { print "- " $2 ": " $3 ": " $6 }' "$RESULTS")"
	if [ -n "$why_lines" ]; then
		md+=$'\n\n'"Skipped for $ut:"$'\n\n'"$why_lines"
	fi
	if [ -n "$MARKDOWN" ]; then
		printf '%s\n' "$md" >"$MARKDOWN" || echo "# could not write $MARKDOWN" >&2
	fi
}

main() {
	local runtimes=() keep="" clients="docker,podman,ctr" i rt name n start order hide rc
	REF_NAME=runc
	MARKDOWN=""
	ONLY=""
	HIDE_CGROUP2="${HIDE_CGROUP2:-}"
	while [ $# -gt 0 ]; do
		case "$1" in
		--markdown) MARKDOWN="$2"; shift 2 ;;
		--markdown=*) MARKDOWN="${1#*=}"; shift ;;
		--clients) clients="$2"; shift 2 ;;
		--clients=*) clients="${1#*=}"; shift ;;
		--only) ONLY="$2"; shift 2 ;;
		--only=*) ONLY="${1#*=}"; shift ;;
		--keep) keep=1; shift ;;
		--hide-cgroup2) HIDE_CGROUP2=1; shift ;;
		--reference) REF_NAME="$2"; shift 2 ;;
		--reference=*) REF_NAME="${1#*=}"; shift ;;
		-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
		--) shift; runtimes+=("$@"); break ;;
		-*) die "unknown option $1 (see --help)" ;;
		*) runtimes+=("$1"); shift ;;
		esac
	done
	[ ${#runtimes[@]} -gt 0 ] || runtimes=("$REPO/.build/release/skiff")
	[ "$(id -u)" = 0 ] || die "must run as root"
	[ -n "$MARKDOWN" ] && MARKDOWN="$(realpath -m "$MARKDOWN")"
	CLIENTS="${clients//,/ }"
	for name in $CLIENTS; do
		case "$name" in docker | podman | ctr) ;; *) die "unknown client $name" ;; esac
	done
	for rt in "${runtimes[@]}"; do
		[ -x "$rt" ] && [ -f "$rt" ] || die "$rt is not an executable file"
	done

	local parent="${SKIFF_CLIENTS_WORK:-/var/tmp/skiff-clients}"
	mkdir -p "$parent" || die "cannot create $parent"
	BASE="$(mktemp -d "$parent/run.XXXXXX")" || die "cannot create a work dir in $parent"
	chmod 755 "$BASE"
	RESULTS="$BASE/results.tsv"
	: >"$RESULTS"
	ensure_packages
	IMAGE_TAR="$BASE/busybox-image.tar"
	make_image "$IMAGE_TAR" || die "could not build the test image"
	export RESULTS IMAGE_TAR ONLY CLIENTS

	RT_NAMES=() RT_PATHS=() RT_SECONDS=() RT_LABELS=() RT_HIDE=()
	for i in "${!runtimes[@]}"; do
		rt="$(realpath -s "${runtimes[$i]}")"
		name="$(basename "$rt")"
		# Two runtimes of the same name (e.g. two skiff builds): number the second.
		if [[ " ${RT_NAMES[*]} " == *" $name "* ]]; then name="$name$i"; fi
		hide="$HIDE_CGROUP2"
		[[ "$name" == crun* ]] && hide=1
		RT_NAMES+=("$name")
		RT_PATHS+=("$rt")
		RT_HIDE+=("$hide")
		RT_LABELS+=("$name${hide:+ (v1)}")
		RT_SECONDS+=(0)
	done
	# The reference must be one of the others; without it, no failure is excused by it.
	[[ " ${RT_NAMES[*]:1} " == *" $REF_NAME "* ]] || REF_NAME=""
	export REF_NAME
	# References first, so that the failures of the runtime under test can be compared.
	order=()
	for i in "${!runtimes[@]}"; do [ "$i" = 0 ] || order+=("$i"); done
	order+=(0)
	n=0
	for i in "${order[@]}"; do
		name="${RT_NAMES[$i]}"
		rt="${RT_PATHS[$i]}"
		# A private copy (the original may be rebuilt meanwhile), named like the original: podman
		# keys its JSON-log support on the file name.
		mkdir -p "$BASE/$name/bin"
		cp "$rt" "$BASE/$name/bin/$name"
		echo "# === runtime ${RT_LABELS[$i]} ($rt): $("$rt" --version 2>&1 | head -1)$([ "$i" = 0 ] && echo ", under test")"
		start=$SECONDS
		W="$BASE/$name" S="/run/skiff-clients" RT="$BASE/$name/bin/$name" RT_NAME="$name" TAP_START=$n \
			HIDE_CGROUP2="${RT_HIDE[$i]}" UNDER_TEST="$([ "$i" = 0 ] && echo 1)" \
			unshare --mount --net --propagation slave -- "$HERE/run.sh" --inner
		rc=$?
		if [ "$rc" -ne 0 ]; then
			# Count it: a battery that dies half-way must not look like a short clean run.
			echo "not ok $((n + 1)) all: battery_completed # the battery for $name stopped early (exit $rc)"
			printf '%s\tall\tbattery_completed\tfail\t0\tstopped early (exit %s)\n' "$name" "$rc" >>"$RESULTS"
		fi
		RT_SECONDS[$i]=$((SECONDS - start))
		n="$(wc -l <"$RESULTS")"
	done
	echo "1..$n"
	summary
	if [ -n "$keep" ]; then
		echo "# work dir kept: $BASE"
	else
		rm -rf "$BASE"
		rmdir "$parent" 2>/dev/null
	fi
	echo "$FIRST_SUMMARY"
	[ "$FIRST_FAILED" -eq 0 ]
}

if [ "${1:-}" = --inner ]; then
	export W S RT RT_NAME HIDE_CGROUP2 UNDER_TEST REF_NAME
	inner
else
	main "$@"
fi
