# Environment of one battery run: the private namespaces, the three clients' daemons and
# configs, and the helpers the scenarios use. Sourced by run.sh (inner part) and by every
# scenario process (scenarios.bash); everything it needs comes from exported variables:
#
#   RT        the runtime under test, copied to $W/bin/<name> (podman keys on the file name)
#   RT_NAME   its basename
#   W         this battery's work dir (on disk: image stores, configs, logs)
#   S         this battery's state dir (under the private /run tmpfs)
#   IMG       the test image's name, loaded into all three clients
#   HOST_TOOLS_DIR  this directory

# Names used in the clients' own stores.
CTR_NS=skc                 # containerd namespace (also the cgroup parent /skc)
DK_RUNTIME=under-test      # docker runtime name ("runc" is reserved by dockerd)

# ---------------------------------------------------------------------------------------------
# Client wrappers. Each call has its own time limit so that no scenario can hang forever.

CALL_TIMEOUT=${CALL_TIMEOUT:-60}

dk() { timeout -k 5 "$CALL_TIMEOUT" /usr/bin/docker -H "unix://$S/docker/docker.sock" "$@"; }

# Global flags go on every podman call: conmon's exit command (`podman container cleanup`)
# inherits them but not CONTAINERS_CONF (clients.md, pitfall 3).
pm() {
	CONTAINERS_CONF="$W/podman/containers.conf" CONTAINERS_STORAGE_CONF="$W/podman/storage.conf" \
		timeout -k 5 "$CALL_TIMEOUT" podman --root "$W/podman/storage" --runroot "$S/podman/runroot" \
		--tmpdir "$S/podman/tmp" --cgroup-manager cgroupfs --events-backend file \
		--network-config-dir "$W/podman/networks" --runtime "$RT" "$@"
}

ctr_() { timeout -k 5 "$CALL_TIMEOUT" ctr -a "$S/containerd/containerd.sock" -n "$CTR_NS" "$@"; }

# `ctr run` with the runtime under test: the runc v2 shim with options BinaryName (= --runc-binary)
# and Root (= --runc-root).
ctr_run() { ctr_ run --runc-binary "$RT" --runc-root "$S/ctr-rt" "$@"; }

# Run a command with a terminal on its stdin/stdout/stderr (script(1) gives it a pty); after
# $TTY_DELAY s, $TTY_INPUT (if set) is typed into it. Returns the command's exit code. script's
# stdin is a fifo held open until the command ends: at EOF, script would end the session.
with_tty() {
	local fifo pid rc
	fifo="$(mktemp -u "$W/tty.XXXXXX")"
	mkfifo "$fifo" || return 1
	timeout -k 5 "$CALL_TIMEOUT" script -qefc "$*" /dev/null <"$fifo" &
	pid=$!
	exec 9>"$fifo"
	sleep "${TTY_DELAY:-1}"
	printf '%s' "${TTY_INPUT:-}" >&9
	wait "$pid"
	rc=$?
	exec 9>&-
	rm -f "$fifo"
	return $rc
}

# ---------------------------------------------------------------------------------------------
# Small helpers

# wait_for SECONDS COMMAND...: retry COMMAND every 0.1 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# cgroup_file PID CONTROLLER FILE: the path of FILE in the v1 cgroup of PID for CONTROLLER.
cgroup_file() {
	local path
	path="$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$1/cgroup")"
	[ -n "$path" ] || return 1
	echo "/sys/fs/cgroup/$2${path%/}/$3"
}

# ---------------------------------------------------------------------------------------------
# Namespaces (inner part of run.sh, inside `unshare --mount --net --propagation slave`)

# Private /run, /dev/shm and cgroup tree: shim sockets, runtime roots, fifos, netns files,
# podman's locks and IPAM db all vanish with the namespace. The cgroup tree mirrors the host's
# (hybrid: v1 controllers + cgroup2 on unified) unless HIDE_CGROUP2 is set (pure v1).
setup_namespace() {
	mount -t tmpfs -o mode=755 tmpfs /run || return 1
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm || return 1
	ip link set lo up || return 1
	# Unmount the host's cgroup tree here (a slave namespace: the host keeps its own) rather than
	# cover it: runtimes read /proc/self/mountinfo, where covered mounts would still be listed.
	umount -R /sys/fs/cgroup || return 1
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup || return 1
	if [ -z "${HIDE_CGROUP2:-}" ]; then
		mkdir -p /sys/fs/cgroup/unified
		mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified || return 1
	fi
	mount_cgroup_hierarchies
}

# Mount every v1 hierarchy listed in /proc/self/cgroup that is not mounted here yet. Other test
# suites on this machine create hierarchies (hugetlb, net_cls,net_prio) that the host never
# mounts; the clients' cgroup code fails on those (clients.md, pitfall 2). Called again before
# every scenario.
mount_cgroup_hierarchies() {
	local id ctrls path dir opts c
	while IFS=: read -r id ctrls path; do
		[ -n "$ctrls" ] || continue # the cgroup2 line
		dir="${ctrls#name=}"
		[ -d "/sys/fs/cgroup/$dir" ] && mountpoint -q "/sys/fs/cgroup/$dir" && continue
		opts="$ctrls"
		case "$ctrls" in name=*) opts="none,$ctrls" ;; esac
		mkdir -p "/sys/fs/cgroup/$dir"
		mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/$dir" || continue
		# cpu,cpuacct -> also cpu and cpuacct, as systemd does.
		if [[ "$dir" == *,* ]]; then
			for c in ${dir//,/ }; do
				[ -e "/sys/fs/cgroup/$c" ] || ln -s "$dir" "/sys/fs/cgroup/$c"
			done
		fi
	done </proc/self/cgroup
}

# ---------------------------------------------------------------------------------------------
# Daemons and client configs

start_containerd() {
	mkdir -p "$W/containerd" "$S/containerd"
	cat >"$W/containerd/config.toml" <<-EOF
		version = 2
		root = "$W/containerd/root"
		state = "$S/containerd/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$S/containerd/containerd.sock"
		[ttrpc]
		  address = "$S/containerd/containerd.sock.ttrpc"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$W/containerd/opt"
	EOF
	containerd --config "$W/containerd/config.toml" >"$W/containerd/containerd.log" 2>&1 &
	echo $! >"$S/containerd/pid"
	wait_for 30 ctr_ version || {
		echo "containerd did not start:"
		tail -20 "$W/containerd/containerd.log"
		return 1
	}
}

start_dockerd() {
	mkdir -p "$W/docker" "$S/docker"
	cat >"$W/docker/daemon.json" <<-EOF
		{
		  "runtimes": { "$DK_RUNTIME": { "path": "$RT" } },
		  "default-runtime": "$DK_RUNTIME",
		  "data-root": "$W/docker/root",
		  "exec-root": "$S/docker/exec",
		  "pidfile": "$S/docker/docker.pid",
		  "hosts": ["unix://$S/docker/docker.sock"],
		  "deprecated-key-path": "$W/docker/key.json",
		  "storage-driver": "overlay2"
		}
	EOF
	dockerd --config-file "$W/docker/daemon.json" >"$W/docker/dockerd.log" 2>&1 &
	echo $! >"$S/docker/pid"
	wait_for 60 dk version || {
		echo "dockerd did not start:"
		tail -20 "$W/docker/dockerd.log"
		return 1
	}
}

setup_podman() {
	mkdir -p "$W/podman/networks" "$S/podman/tmp"
	# default_ulimits: podman asks for NOFILE/NPROC 1048576 by default, above this machine's
	# hard limits, and nobody here has CAP_SYS_RESOURCE (clients.md, pitfall 1).
	# runtime_supports_json: only runtimes named there get --log-format=json --log FILE.
	cat >"$W/podman/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		runtime = "$RT_NAME"
		runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "$RT_NAME"]
		[engine.runtimes]
		$RT_NAME = ["$RT"]
		[network]
		network_backend = "netavark"
	EOF
	printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
		"$W/podman/storage" "$S/podman/runroot" >"$W/podman/storage.conf"
}

load_images() {
	local archive="$1"
	ctr_ images import "$archive" >/dev/null || return 1
	pm load -q -i "$archive" >/dev/null || return 1
	dk load -q -i "$archive" >/dev/null || return 1
}

# Remove every container a client knows (between scenarios and at the end). Prints what failed.
clean_client() {
	local id out
	case "$1" in
	docker)
		for id in $(dk ps -aq 2>/dev/null); do
			out="$(dk rm -f "$id" 2>&1)" || echo "docker rm -f $id: rc=$? $out"
		done
		;;
	podman)
		out="$(pm rm -af -t 0 2>&1)" || echo "podman rm -af: rc=$? $out"
		;;
	ctr)
		for id in $(ctr_ tasks ls -q 2>/dev/null); do
			ctr_ tasks kill -a -s KILL "$id" >/dev/null 2>&1
		done
		for id in $(ctr_ tasks ls -q 2>/dev/null); do
			out="$(ctr_ tasks rm -f "$id" 2>&1)" || echo "ctr tasks rm -f $id: rc=$? $out"
		done
		for id in $(ctr_ containers ls -q 2>/dev/null); do
			out="$(ctr_ containers rm "$id" 2>&1)" || echo "ctr containers rm $id: rc=$? $out"
		done
		;;
	esac
	return 0
}

stop_daemon() {
	local pidfile="$1" pid
	[ -f "$pidfile" ] || return 0
	pid="$(cat "$pidfile")"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}
