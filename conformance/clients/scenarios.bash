# The scenarios. Each one is a function sc_NAME, run by run.sh in its own bash process (with a
# time limit) as `sc_NAME CLIENT`, CLIENT being docker, podman or ctr, after env.bash.
#
# A scenario exits 0 (pass), 3 (skip: `skip REASON`) or anything else (fail: `fail MESSAGE`).
# Everything it prints goes to its log; lines starting with "NOTE:" are also shown under the
# TAP line when it passes, the tail of the log when it fails.
#
# SCENARIOS lists "name: clients" in the order they run. Container names start with "t-";
# run.sh removes every container of the client after each scenario.

SCENARIOS="
run_rm: docker podman ctr
detach: docker podman ctr
run_tty: docker podman ctr
exec: docker podman ctr
exec_tty: docker podman ctr
exec_missing: docker podman ctr
missing_command: docker podman ctr
missing_in_path: docker podman ctr
memory: docker podman ctr
cpus: docker podman ctr
pids_limit: docker podman
update: docker podman
oom: docker podman ctr
user: docker podman ctr
hostname_env: docker podman ctr
ulimit: docker podman
device: docker podman
ro_bind: docker podman ctr
tmpfs: docker podman ctr
read_only: docker podman ctr
top: docker podman ctr
pause_unpause: docker podman ctr
stats: docker podman ctr
stop: docker podman ctr
stop_timeout: docker podman
kill: docker podman ctr
kill_all: ctr
init: docker podman
restart: docker podman ctr
pid_host: docker podman
pid_container: docker podman ctr
net_none: docker podman ctr
net_host: docker podman ctr
net_default: docker podman
publish: docker podman
ipc_uts_host: docker podman
cgroupns: docker podman
sysctl: docker podman
userns: podman ctr
cap_drop_all: docker podman ctr
cap_add: docker podman ctr
no_new_privs: docker podman ctr
seccomp_default: docker podman ctr
seccomp_custom: docker podman ctr
privileged: docker podman ctr
"

# ---------------------------------------------------------------------------------------------
# Helpers over the three clients

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 3
}

# docker or podman, whichever $CLIENT is.
c() {
	case "$CLIENT" in
	docker) dk "$@" ;;
	podman) pm "$@" ;;
	*) fail "c: no such command for client $CLIENT" ;;
	esac
}

# oneshot OPTION... -- COMMAND...: run COMMAND in a new container with the client's OPTIONs,
# attached, removed at the end; prints its output, returns its exit code.
oneshot() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	case "$CLIENT" in
	ctr) ctr_run --rm "${opts[@]}" "$IMG" "t-$RANDOM" "$@" </dev/null ;;
	*) c run --rm "${opts[@]}" "$IMG" "$@" </dev/null ;;
	esac
}

# detached NAME OPTION... -- COMMAND...: start a detached container.
detached() {
	local name="$1" opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	case "$CLIENT" in
	ctr) ctr_run -d "${opts[@]}" "$IMG" "$name" "$@" </dev/null ;;
	*) c run -d --name "$name" "${opts[@]}" "$IMG" "$@" </dev/null >/dev/null ;;
	esac
}

# sleeper NAME [OPTION...]: a detached `sleep 1000`.
sleeper() {
	local name="$1"
	shift
	detached "$name" "$@" -- sleep 1000 || fail "could not start $name"
}

# pid_of NAME: the host pid of the container's init (empty if not running).
pid_of() {
	case "$CLIENT" in
	ctr) ctr_ tasks ls 2>/dev/null | awk -v id="$1" '$1 == id && $3 == "RUNNING" { print $2 }' ;;
	*) c inspect -f '{{.State.Pid}}' "$1" 2>/dev/null | grep -v '^0$' ;;
	esac
}

# running NAME: true while NAME's init runs (for wait_for: evaluated at each try).
running() {
	[ -n "$(pid_of "$1")" ]
}

# status_of NAME: running, paused or stopped/exited (lower case).
status_of() {
	case "$CLIENT" in
	ctr) ctr_ tasks ls 2>/dev/null | awk -v id="$1" '$1 == id { print tolower($3) }' ;;
	*) c inspect -f '{{.State.Status}}' "$1" 2>/dev/null ;;
	esac
}

# exec_in NAME OPTION... -- COMMAND...: run COMMAND in the running container NAME.
exec_in() {
	local name="$1" opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	case "$CLIENT" in
	ctr) ctr_ tasks exec --exec-id "e$RANDOM" "${opts[@]}" "$name" "$@" </dev/null ;;
	*) c exec "${opts[@]}" "$name" "$@" </dev/null ;;
	esac
}

# The client's command line as one string, for `script -c` (with_tty).
client_cmdline() {
	case "$CLIENT" in
	docker) echo "/usr/bin/docker -H unix://$S/docker/docker.sock" ;;
	podman)
		echo "env CONTAINERS_CONF=$W/podman/containers.conf CONTAINERS_STORAGE_CONF=$W/podman/storage.conf" \
			"podman --root $W/podman/storage --runroot $S/podman/runroot --tmpdir $S/podman/tmp" \
			"--cgroup-manager cgroupfs --events-backend file --network-config-dir $W/podman/networks --runtime $RT"
		;;
	ctr) echo "ctr -a $S/containerd/containerd.sock -n $CTR_NS" ;;
	esac
}

# expect_eq WHAT GOT WANTED
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
	echo "$1: $2"
}

# expect_match WHAT TEXT REGEX (extended, grep -E)
expect_match() {
	printf '%s\n' "$2" | grep -qE -- "$3" || fail "$1: '$2' does not match /$3/"
}

# A readable one-line form of a multi-line client message.
oneline() {
	tr '\n\r' '  ' | sed 's/  */ /g; s/^ //; s/ $//'
}

# The value of a field of /proc/self/status inside a new container run with OPTIONs.
status_field() {
	local field="$1" out
	shift
	out="$(oneshot "$@" -- grep "^$field:" /proc/self/status 2>&1)" || fail "run failed: $out"
	echo "$out" | awk '{ print $2 }' | tr -d '\r'
}

# ---------------------------------------------------------------------------------------------
# Lifecycle

sc_run_rm() {
	local out rc
	out="$(oneshot -- echo hello 2>&1)"
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || fail "exit code $rc"
	expect_eq output "$out" hello
	case "$CLIENT" in
	ctr) out="$(ctr_ containers ls -q)" ;;
	*) out="$(c ps -aq)" ;;
	esac
	[ -z "$out" ] || fail "containers still listed after --rm: $out"
}

sc_detach() {
	local pid out
	detached t-d -- sh -c 'echo ready; exec sleep 1000' || fail "run -d failed"
	wait_for 10 running t-d || fail "no running task"
	pid="$(pid_of t-d)"
	expect_eq status "$(status_of t-d)" running
	expect_match "init command" "$(tr '\0' ' ' </proc/"$pid"/cmdline)" '^sleep 1000'
	if [ "$CLIENT" != ctr ]; then
		wait_for 5 sh -c "$(client_cmdline) logs t-d | grep -q ready" || fail "logs do not show the output"
	fi
}

sc_run_tty() {
	local out rc cmd
	case "$CLIENT" in
	ctr) cmd="$(client_cmdline) run --runc-binary $RT --runc-root $S/ctr-rt --rm -t $IMG t-tty sh" ;;
	*) cmd="$(client_cmdline) run --rm -ti $IMG sh" ;;
	esac
	out="$(TTY_INPUT=$'tty; echo typed-$((6*7)); exit 3\n' with_tty "$cmd" 2>&1)"
	rc=$?
	echo "$out"
	expect_match "tty inside" "$out" '^/dev/pts/[0-9]+'
	expect_match "typed command" "$out" '^typed-42'
	expect_eq "exit code" "$rc" 3
}

sc_exec() {
	local out rc
	sleeper t-e
	out="$(exec_in t-e -- sh -c 'echo exec-$((6*7)); exit 5' 2>&1)"
	rc=$?
	echo "$out"
	expect_eq output "$out" exec-42
	expect_eq "exit code" "$rc" 5
	# exec as another user in another directory
	case "$CLIENT" in
	ctr) set -- --user 1000 --cwd /tmp ;;
	*) set -- --user 1000:1000 --workdir /tmp ;;
	esac
	out="$(exec_in t-e "$@" -- sh -c 'echo $(id -u) $(pwd)' 2>&1)"
	expect_eq "exec --user 1000 in /tmp" "$out" "1000 /tmp"
}

sc_exec_tty() {
	local out rc cmd
	sleeper t-et
	case "$CLIENT" in
	ctr) cmd="$(client_cmdline) tasks exec -t --exec-id tty1 t-et sh" ;;
	*) cmd="$(client_cmdline) exec -ti t-et sh" ;;
	esac
	out="$(TTY_INPUT=$'tty; echo typed-$((6*7)); exit 4\n' with_tty "$cmd" 2>&1)"
	rc=$?
	echo "$out"
	expect_match "tty inside" "$out" '^/dev/pts/[0-9]+'
	expect_match "typed command" "$out" '^typed-42'
	expect_eq "exit code" "$rc" 4
}

# A command that does not exist: the user sees which one and why, and the client's exit code
# for "command not found". docker and podman decide it from the runtime's message text: docker
# run gives 127 if it contains "executable file not found" or "no such file or directory" (else
# 125; docker exec always 126); podman gives 127 for the same phrases (else 126 for run, 255
# for exec). ctr just fails.
expect_not_found() {
	local what="$1" rc="$2" out="$3" name="$4" want
	echo "exit code $rc, message: $out"
	echo "NOTE: rc=$rc: $(echo "$out" | oneline)"
	[ "$rc" != 0 ] || fail "exit code 0"
	expect_match message "$out" "$name"
	case "$CLIENT/$what" in
	docker/run | podman/run | podman/exec) want=127 ;;
	docker/exec) want=126 ;;
	ctr/*) return 0 ;;
	esac
	expect_eq "exit code" "$rc" "$want"
}

sc_exec_missing() {
	local out rc
	sleeper t-em
	out="$(exec_in t-em -- /no/such/cmd 2>&1)"
	rc=$?
	expect_not_found exec "$rc" "$out" /no/such/cmd
}

sc_missing_command() {
	local out rc
	out="$(oneshot -- /no/such/cmd 2>&1)"
	rc=$?
	expect_not_found run "$rc" "$out" /no/such/cmd
}

# The same, looked up in PATH.
sc_missing_in_path() {
	local out rc
	out="$(oneshot -- nosuchcmd 2>&1)"
	rc=$?
	expect_not_found run "$rc" "$out" nosuchcmd
}

# ---------------------------------------------------------------------------------------------
# Resources (read from the host through /proc/PID/cgroup, and from inside where the client
# mounts the cgroup tree: docker and podman do, ctr does not)

# check_limit CONTROLLER FILE WANTED NAME: the file in NAME's cgroup, host side and inside.
check_limit() {
	local file got pid
	pid="$(pid_of "$4")"
	[ -n "$pid" ] || fail "$4 is not running"
	file="$(cgroup_file "$pid" "$1" "$2")" || fail "$pid is in no $1 cgroup"
	[ -f "$file" ] || fail "no such file $file (cgroup of pid $pid: $(grep ":$1:" /proc/$pid/cgroup))"
	got="$(cat "$file")"
	expect_eq "$file" "$got" "$3"
	if [ "$CLIENT" != ctr ]; then
		got="$(exec_in "$4" -- cat "/sys/fs/cgroup/$1/$2" 2>&1)"
		expect_eq "inside: /sys/fs/cgroup/$1/$2" "$got" "$3"
	fi
}

sc_memory() {
	case "$CLIENT" in
	ctr) sleeper t-m --memory-limit 33554432 ;;
	*) sleeper t-m --memory 32m ;;
	esac
	check_limit memory memory.limit_in_bytes 33554432 t-m
}

sc_cpus() {
	sleeper t-c --cpus 0.5
	check_limit cpu cpu.cfs_quota_us 50000 t-c
	check_limit cpu cpu.cfs_period_us 100000 t-c
}

sc_pids_limit() {
	sleeper t-p --pids-limit 10
	check_limit pids pids.max 10 t-p
}

# `update` (docker: JSON on stdin, podman: --resources=FILE): the limits change in place.
sc_update() {
	local out
	sleeper t-u --memory 32m --memory-swap 64m
	check_limit memory memory.limit_in_bytes 33554432 t-u
	out="$(c update --memory 64m --memory-swap 128m t-u 2>&1)" || fail "update failed: $(echo "$out" | oneline)"
	check_limit memory memory.limit_in_bytes 67108864 t-u
}

# Over the memory limit (swap included): the kernel kills the container, exit code 137, and the
# client (which watches the cgroup itself) says it was an OOM kill.
sc_oom() {
	local out rc
	case "$CLIENT" in
	ctr)
		out="$(oneshot --memory-limit 33554432 -- tail /dev/zero 2>&1)"
		rc=$?
		;;
	*)
		out="$(c run --name t-oom --memory 32m --memory-swap 32m "$IMG" tail /dev/zero </dev/null 2>&1)"
		rc=$?
		# podman 4.3 + conmon 2.1.6 report OOMKilled false here whatever the runtime (conmon
		# writes its "oom" marker into the client's working directory, not the bundle).
		[ "$CLIENT" = docker ] && expect_eq OOMKilled "$(c inspect -f '{{.State.OOMKilled}}' t-oom)" true
		;;
	esac
	echo "$out"
	expect_eq "exit code" "$rc" 137
}

# ---------------------------------------------------------------------------------------------
# Process, mounts

sc_user() {
	local out
	case "$CLIENT" in
	ctr)
		# ctr run has no --user: the exec does.
		sleeper t-us
		out="$(exec_in t-us --user 1000 -- id 2>&1)"
		;;
	*) out="$(oneshot --user 1000:1000 -- id 2>&1)" ;;
	esac
	expect_match id "$out" '^uid=1000\(user\) gid=1000\(user\)'
}

sc_hostname_env() {
	local out
	case "$CLIENT" in
	ctr) set -- --env FOO=bar --cwd /tmp ;; # ctr sets no hostname: the container's is its id
	*) set -- --hostname box1 --env FOO=bar --workdir /tmp ;;
	esac
	out="$(oneshot "$@" -- sh -c 'echo $FOO $(pwd); hostname' 2>&1)"
	echo "$out"
	expect_eq "env, cwd" "$(echo "$out" | head -1)" "bar /tmp"
	[ "$CLIENT" = ctr ] || expect_eq hostname "$(echo "$out" | tail -1)" box1
}

# --ulimit: process.rlimits. podman's --ulimit replaces its whole default list, so nproc is
# given too (the default 1048576 is above this machine's hard limit, clients.md pitfall 1).
sc_ulimit() {
	local out
	case "$CLIENT" in
	podman) set -- --ulimit nofile=512:1024 --ulimit nproc=1024:1024 ;;
	*) set -- --ulimit nofile=512:1024 ;;
	esac
	out="$(oneshot "$@" -- sh -c 'echo $(ulimit -Sn) $(ulimit -Hn)' 2>&1)"
	expect_eq "nofile soft hard" "$out" "512 1024"
}

# --device: a device node under another name (linux.devices + the devices cgroup rule).
sc_device() {
	local out
	out="$(oneshot --device /dev/zero:/dev/myzero -- sh -c 'ls -l /dev/myzero; head -c 4 /dev/myzero | wc -c' 2>&1)"
	echo "$out"
	expect_match node "$out" '^c.* 1, +5 .*/dev/myzero'
	expect_eq "bytes read" "$(echo "$out" | tail -1 | tr -d ' ')" 4
}

sc_ro_bind() {
	local dir out
	dir="$(mktemp -d "$W/bind.XXXXXX")"
	echo content >"$dir/file"
	case "$CLIENT" in
	ctr) set -- --mount "type=bind,src=$dir,dst=/data,options=rbind:ro" ;;
	*) set -- -v "$dir:/data:ro" ;;
	esac
	out="$(oneshot "$@" -- sh -c 'cat /data/file; touch /data/new && echo WRITTEN' 2>&1)"
	echo "$out"
	expect_match "read" "$out" '^content'
	expect_match "write" "$out" 'Read-only file system'
	! echo "$out" | grep -q WRITTEN || fail "could write to the read-only bind mount"
	[ ! -e "$dir/new" ] || fail "$dir/new was created on the host"
}

sc_tmpfs() {
	local out
	case "$CLIENT" in
	ctr) set -- --mount "type=tmpfs,src=tmpfs,dst=/scratch,options=rw:size=1m" ;;
	*) set -- --tmpfs /scratch:size=1m ;;
	esac
	out="$(oneshot "$@" -- sh -c 'grep " /scratch " /proc/mounts; echo hi >/scratch/f && cat /scratch/f' 2>&1)"
	echo "$out"
	expect_match mount "$out" '^tmpfs /scratch tmpfs rw.*size=1024k'
	expect_match write "$out" '^hi'
}

sc_read_only() {
	local out
	out="$(oneshot --read-only -- sh -c 'touch /newfile && echo WRITTEN; grep " / " /proc/mounts' 2>&1)"
	echo "$out"
	expect_match write "$out" 'Read-only file system'
	! echo "$out" | grep -q WRITTEN || fail "could write to the read-only rootfs"
}

sc_top() {
	local out pid
	sleeper t-top
	pid="$(pid_of t-top)"
	case "$CLIENT" in
	ctr)
		out="$(ctr_ tasks ps t-top 2>&1)" || fail "tasks ps failed: $(echo "$out" | oneline)"
		echo "$out"
		expect_match "tasks ps" "$out" "^$pid "
		;;
	*)
		out="$(c top t-top 2>&1)" || fail "top failed: $(echo "$out" | oneline)"
		echo "$out"
		expect_match top "$out" 'sleep 1000'
		;;
	esac
}

# pause and unpause/resume: the status says so and a counter stops, then goes on.
sc_pause_unpause() {
	local pid f v1 v2 fz
	detached t-pa -- sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/count; usleep 50000; done' ||
		fail "run failed"
	wait_for 10 running t-pa || fail "not running"
	pid="$(pid_of t-pa)"
	f="/proc/$pid/root/tmp/count"
	wait_for 5 test -s "$f" || fail "the counter does not count"
	case "$CLIENT" in
	ctr) ctr_ tasks pause t-pa ;;
	*) c pause t-pa ;;
	esac || fail "pause failed"
	expect_eq "status after pause" "$(status_of t-pa)" paused
	fz="$(cgroup_file "$pid" freezer freezer.state)" && echo "$fz: $(cat "$fz")"
	v1="$(cat "$f")"
	sleep 0.5
	v2="$(cat "$f")"
	[ "$v1" = "$v2" ] || fail "counter moves while paused ($v1 -> $v2)"
	case "$CLIENT" in
	ctr) ctr_ tasks resume t-pa ;;
	*) c unpause t-pa ;;
	esac || fail "unpause failed"
	expect_eq "status after unpause" "$(status_of t-pa)" running
	wait_for 3 sh -c "[ \$(cat $f) -gt $v2 ]" || fail "counter stuck at $v2 after unpause"
}

# The clients read the container's cgroups themselves (clients.md): non-zero memory use.
sc_stats() {
	local out
	sleeper t-st
	case "$CLIENT" in
	ctr)
		out="$(ctr_ tasks metrics t-st 2>&1)"
		echo "$out"
		expect_match metrics "$out" '^memory.usage_in_bytes +[1-9][0-9]*'
		;;
	*)
		out="$(c stats --no-stream --format '{{.MemUsage}}' t-st 2>&1)"
		echo "$out"
		expect_match "memory usage" "$out" '^[0-9.]*[1-9][0-9.]*[kKMG]i?B '
		;;
	esac
	echo "NOTE: $(echo "$out" | grep -m1 -E 'memory.usage|B /' | oneline)"
}

# ---------------------------------------------------------------------------------------------
# Stop, kill, exit codes

TRAP_TERM='trap "exit 7" TERM; while :; do usleep 100000; done'

# exit_code NAME: wait for the container to exit and print its exit code.
exit_code() {
	c wait "$1" 2>&1 | tail -1
}

# SIGTERM reaches the container's init, which exits 7 from its trap.
sc_stop() {
	local bg rc
	case "$CLIENT" in
	ctr)
		ctr_run "$IMG" t-stop sh -c "$TRAP_TERM" </dev/null &
		bg=$!
		wait_for 10 running t-stop || fail "not running"
		ctr_ tasks kill t-stop || fail "tasks kill failed"
		wait $bg
		rc=$?
		;;
	*)
		detached t-stop -- sh -c "$TRAP_TERM" || fail "run failed"
		c stop -t 20 t-stop >/dev/null || fail "stop failed"
		rc="$(exit_code t-stop)"
		;;
	esac
	expect_eq "exit code" "$rc" 7
}

# A PID 1 without a handler ignores SIGTERM: stop sends SIGKILL after the timeout (137).
sc_stop_timeout() {
	local start rc
	sleeper t-sto
	start=$SECONDS
	c stop -t 1 t-sto >/dev/null || fail "stop failed"
	rc="$(exit_code t-sto)"
	expect_eq "exit code" "$rc" 137
	[ $((SECONDS - start)) -lt 15 ] || fail "stop -t 1 took $((SECONDS - start)) s"
}

sc_kill() {
	local bg rc
	case "$CLIENT" in
	ctr)
		ctr_run "$IMG" t-kill sleep 1000 </dev/null &
		bg=$!
		wait_for 10 running t-kill || fail "not running"
		ctr_ tasks kill -s KILL t-kill || fail "tasks kill failed"
		wait $bg
		rc=$?
		;;
	*)
		sleeper t-kill
		c kill t-kill >/dev/null || fail "kill failed"
		rc="$(exit_code t-kill)"
		;;
	esac
	expect_eq "exit code" "$rc" 137
}

# `kill --all`: the exec'd processes die too.
sc_kill_all() {
	local bg rc epid
	ctr_run "$IMG" t-ka sleep 1000 </dev/null &
	bg=$!
	wait_for 10 running t-ka || fail "not running"
	ctr_ tasks exec -d --exec-id extra t-ka sleep 999 </dev/null || fail "exec -d failed"
	wait_for 5 sh -c "ps -eo pid,args | grep -q '[s]leep 999'" || fail "exec'd sleep not seen"
	epid="$(ps -eo pid,args | awk '$2 == "sleep" && $3 == "999" { print $1 }')"
	ctr_ tasks kill -a -s KILL t-ka || fail "tasks kill -a failed"
	wait $bg
	rc=$?
	expect_eq "exit code" "$rc" 137
	wait_for 5 sh -c "! kill -0 $epid" || fail "exec'd process $epid survived kill --all"
}

# --init: docker-init / catatonit is PID 1 and passes SIGTERM on (the child dies of it: 143).
sc_init() {
	local out rc start
	sleeper t-init --init
	out="$(exec_in t-init -- cat /proc/1/cmdline | tr '\0' ' ')"
	echo "PID 1: $out"
	expect_match "PID 1" "$out" 'init|catatonit'
	expect_match "PID 1" "$out" 'sleep 1000'
	start=$SECONDS
	c stop -t 20 t-init >/dev/null || fail "stop failed"
	rc="$(exit_code t-init)"
	expect_eq "exit code" "$rc" 143
	[ $((SECONDS - start)) -lt 10 ] || fail "stop took $((SECONDS - start)) s: SIGTERM was not forwarded"
}

# Start a stopped container again: same container, same filesystem, second run.
sc_restart() {
	local out rc script='echo run >>/root/runs; wc -l </root/runs'
	case "$CLIENT" in
	ctr)
		# `ctr run` without --rm deletes the task at the end but keeps the container (and its
		# snapshot, and its runtime options): `tasks start` starts it again.
		out="$(ctr_run "$IMG" t-re sh -c "$script" </dev/null 2>&1)" || fail "run failed: $out"
		expect_eq "first run" "$out" 1
		ctr_ tasks rm t-re >/dev/null 2>&1
		out="$(ctr_ tasks start t-re </dev/null 2>&1)"
		rc=$?
		;;
	*)
		out="$(c run --name t-re "$IMG" sh -c "$script" </dev/null 2>&1)" || fail "run failed: $out"
		expect_eq "first run" "$out" 1
		out="$(c start -a t-re </dev/null 2>&1)"
		rc=$?
		;;
	esac
	expect_eq "second run" "$(echo "$out" | tr -d '\r')" 2
	expect_eq "exit code" "$rc" 0
}

# ---------------------------------------------------------------------------------------------
# Namespaces

sc_pid_host() {
	local out
	case "$CLIENT" in
	ctr) set -- --with-ns pid:/proc/1/ns/pid ;;
	*) set -- --pid host ;;
	esac
	out="$(oneshot "$@" -- readlink /proc/self/ns/pid 2>&1)"
	expect_eq "pid namespace" "$out" "$(readlink /proc/self/ns/pid)"
}

sc_pid_container() {
	local pid out
	sleeper t-pc
	pid="$(pid_of t-pc)"
	case "$CLIENT" in
	ctr) set -- --with-ns "pid:/proc/$pid/ns/pid" ;;
	*) set -- --pid container:t-pc ;;
	esac
	out="$(oneshot "$@" -- sh -c 'readlink /proc/self/ns/pid; tr "\0" " " </proc/1/cmdline' 2>&1)"
	echo "$out"
	expect_eq "pid namespace" "$(echo "$out" | head -1)" "$(readlink /proc/$pid/ns/pid)"
	expect_match "PID 1 seen" "$(echo "$out" | tail -1)" '^sleep 1000'
}

sc_net_none() {
	local out
	case "$CLIENT" in
	ctr) set -- ;; # ctr's default: a new, empty network namespace
	*) set -- --network none ;;
	esac
	out="$(oneshot "$@" -- sh -c 'readlink /proc/self/ns/net; ls /sys/class/net | tr "\n" " "' 2>&1)"
	echo "$out"
	[ "$(echo "$out" | head -1)" != "$(readlink /proc/self/ns/net)" ] || fail "in the host's network namespace"
	expect_eq interfaces "$(echo "$out" | tail -1)" "lo "
}

sc_net_host() {
	local out
	case "$CLIENT" in
	ctr) set -- --net-host ;;
	*) set -- --network host ;;
	esac
	out="$(oneshot "$@" -- readlink /proc/self/ns/net 2>&1)"
	expect_eq "network namespace" "$out" "$(readlink /proc/self/ns/net)"
}

# The default network: docker's bridge (set up by its prestart hook), podman's netavark bridge.
sc_net_default() {
	local out
	out="$(oneshot -- sh -c 'ip -4 -o addr show eth0' 2>&1)"
	echo "$out"
	expect_match "eth0" "$out" 'inet (172\.17|10\.88)\.'
}

# -p: a port of the container's bridge address published on the host's loopback (docker-proxy
# and iptables for docker, netavark for podman).
sc_publish() {
	local out port=18080
	detached t-web -p "127.0.0.1:$port:80" -- \
		sh -c 'mkdir /w && echo hello-http >/w/index.html && exec httpd -f -p 80 -h /w' ||
		fail "run failed"
	wait_for 10 sh -c "curl -fsS http://127.0.0.1:$port/ | grep -q hello-http" || {
		curl -sS -m 2 "http://127.0.0.1:$port/" 2>&1
		fail "no answer on 127.0.0.1:$port"
	}
}

sc_ipc_uts_host() {
	local out
	out="$(oneshot --ipc host --uts host -- sh -c 'readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname' 2>&1)"
	echo "$out"
	expect_eq "ipc namespace" "$(echo "$out" | sed -n 1p)" "$(readlink /proc/self/ns/ipc)"
	expect_eq "uts namespace" "$(echo "$out" | sed -n 2p)" "$(readlink /proc/self/ns/uts)"
	expect_eq hostname "$(echo "$out" | sed -n 3p)" "$(hostname)"
}

# --cgroupns private: a cgroup namespace rooted at the container's cgroup.
sc_cgroupns() {
	local out
	out="$(oneshot --cgroupns private -- sh -c 'readlink /proc/self/ns/cgroup; grep :memory: /proc/self/cgroup' 2>&1)"
	echo "$out"
	[ "$(echo "$out" | head -1)" != "$(readlink /proc/self/ns/cgroup)" ] || fail "in the host's cgroup namespace"
	expect_match "memory cgroup seen inside" "$(echo "$out" | tail -1)" '^[0-9]+:memory:/$'
}

# --sysctl: linux.sysctl, written inside the container's network namespace.
sc_sysctl() {
	local out
	out="$(oneshot --network none --sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.ping_group_range="0 1000" -- \
		sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ping_group_range | tr -s "\t " "  "' 2>&1)"
	echo "$out"
	expect_eq "ip_forward, ping_group_range" "$(echo "$out" | tr '\n' ' ')" "1 0 1000 "
}

# A user namespace: podman --uidmap, ctr --uidmap (the snapshot is chowned for it).
sc_userns() {
	local out
	out="$(oneshot --uidmap 0:200000:65536 --gidmap 0:200000:65536 -- \
		sh -c 'tr -s " " <"/proc/self/uid_map"; tr -s " " </proc/self/gid_map; id -u; touch /root/f && echo written' 2>&1)"
	echo "$out"
	expect_eq uid_map "$(echo "$out" | sed -n 1p)" " 0 200000 65536"
	expect_eq gid_map "$(echo "$out" | sed -n 2p)" " 0 200000 65536"
	expect_eq "id -u" "$(echo "$out" | sed -n 3p)" 0
	expect_eq "write in the rootfs" "$(echo "$out" | sed -n 4p)" written
}

# ---------------------------------------------------------------------------------------------
# Security

# ctr 1.6 knows no "ALL": it drops the capabilities of its default set one by one.
CTR_DEFAULT_CAPS="CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_FOWNER CAP_MKNOD CAP_NET_RAW CAP_SETGID
	CAP_SETUID CAP_SETFCAP CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_KILL CAP_AUDIT_WRITE"

# The options that drop every capability.
drop_all_caps() {
	local cap
	case "$CLIENT" in
	ctr) for cap in $CTR_DEFAULT_CAPS; do echo "--cap-drop $cap"; done ;;
	*) echo "--cap-drop ALL" ;;
	esac
}

sc_cap_drop_all() {
	local eff bnd
	eff="$(status_field CapEff $(drop_all_caps))"
	bnd="$(status_field CapBnd $(drop_all_caps))"
	expect_eq CapEff "$eff" 0000000000000000
	expect_eq CapBnd "$bnd" 0000000000000000
}

sc_cap_add() {
	local eff bnd
	case "$CLIENT" in
	ctr) set -- $(drop_all_caps) --cap-add CAP_NET_ADMIN ;;
	*) set -- --cap-drop ALL --cap-add NET_ADMIN ;;
	esac
	eff="$(status_field CapEff "$@")"
	bnd="$(status_field CapBnd "$@")"
	expect_eq CapEff "$eff" 0000000000001000
	expect_eq CapBnd "$bnd" 0000000000001000
}

sc_no_new_privs() {
	local got
	case "$CLIENT" in
	ctr) got="$(status_field NoNewPrivs)" ;; # on by default in ctr's spec
	*) got="$(status_field NoNewPrivs --security-opt no-new-privileges)" ;;
	esac
	expect_eq NoNewPrivs "$got" 1
	if [ "$CLIENT" = ctr ]; then
		got="$(status_field NoNewPrivs --allow-new-privs)"
		expect_eq "NoNewPrivs with --allow-new-privs" "$got" 0
	fi
}

sc_seccomp_default() {
	local got out
	case "$CLIENT" in
	ctr) got="$(status_field Seccomp --seccomp)" ;;
	*) got="$(status_field Seccomp)" ;;
	esac
	expect_eq Seccomp "$got" 2
	# docker's and containerd's default profiles allow unshare() only with CAP_SYS_ADMIN (a rule
	# with a condition); podman's allows it.
	case "$CLIENT" in
	ctr) out="$(oneshot --seccomp -- unshare -U true 2>&1)" ;;
	docker) out="$(oneshot -- unshare -U true 2>&1)" ;;
	podman) return 0 ;;
	esac
	echo "unshare -U: $out"
	expect_match "unshare -U" "$out" 'not permitted'
}

sc_seccomp_custom() {
	local prof out
	prof="$W/deny-mkdir.json"
	cat >"$prof" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
	EOF
	case "$CLIENT" in
	ctr) set -- --seccomp --seccomp-profile "$prof" ;;
	*) set -- --security-opt "seccomp=$prof" ;;
	esac
	out="$(oneshot "$@" -- sh -c 'touch /tmp/f && echo touched; mkdir /tmp/d && echo MADE' 2>&1)"
	echo "$out"
	expect_match touch "$out" '^touched'
	expect_match mkdir "$out" "mkdir.*Operation not permitted"
	! echo "$out" | grep -q MADE || fail "mkdir succeeded"
}

# --privileged: every capability the client knows. docker, podman and ctr list all of them,
# CAP_SYS_RESOURCE included; where the host's bounding set lacks one (this VM: no
# CAP_SYS_RESOURCE, clients.md pitfall 1), capset fails with every runtime: a documented skip,
# provided the runtime failed cleanly (a message, no hang).
sc_privileged() {
	local out rc hostbnd
	hostbnd="$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)"
	out="$(oneshot --privileged -- grep -E '^Cap(Eff|Bnd):' /proc/self/status 2>&1)"
	rc=$?
	echo "exit code $rc: $out"
	if [ "$rc" != 0 ] && [ $((0x$hostbnd >> 24 & 1)) = 0 ]; then
		expect_match "error message" "$out" '[Oo]peration not permitted|EPERM'
		skip "this host's bounding set lacks CAP_SYS_RESOURCE: --privileged cannot work with any runtime ($(echo "$out" | oneline | cut -c1-160))"
	fi
	[ "$rc" = 0 ] || fail "exit code $rc"
	expect_match CapEff "$out" "^CapEff:.$hostbnd"
}
