#!/usr/bin/env bats
# Concurrency (issue 9): commands on one id serialise through a lock in the state dir; two
# `create` of one id: exactly one wins; 50 containers created, started and deleted in parallel
# with no error and no leak; `list` and `state` never see a half-written state.

load helpers

setup_file() { skiff_setup_file; }
setup() {
	skiff_setup
	set_cmd 'exec sleep 100'
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

@test "concurrency: two creates of one id, 10 times: exactly one wins, the other says already exists" {
	local round a b
	for round in $(seq 10); do
		rt create --bundle "$BUNDLE" "$CT" >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" </dev/null &
		a=$!
		rt create --bundle "$BUNDLE" "$CT" >"$TEST_TMP/b.out" 2>"$TEST_TMP/b.err" </dev/null &
		b=$!
		local sa=0 sb=0
		wait "$a" || sa=$?
		wait "$b" || sb=$?
		echo "round $round: $sa $sb; $(cat "$TEST_TMP/a.err" "$TEST_TMP/b.err")"
		[ $((sa == 0)) -ne $((sb == 0)) ]
		if [ "$sa" -ne 0 ]; then stderr="$(cat "$TEST_TMP/a.err")"; else stderr="$(cat "$TEST_TMP/b.err")"; fi
		[ "$sa" -eq 1 ] || [ "$sb" -eq 1 ]
		expect_msg "container \"$CT\" already exists"
		[ "$(ct_status "$CT")" = created ]
		rt delete --force "$CT"
	done
}

# N bundles sharing one read-only rootfs, each with its own cgroup (under this test's prefix,
# so that the leak check sees them).
many_bundles() {
	local n="$1" i
	for i in $(seq "$n"); do
		mkdir -p "$TEST_TMP/b$i"
		jq --arg r "$BUNDLE/rootfs" --arg cg "/$CGROUP_PARENT/$UNIQ-p$i" \
			'.root = {"path": $r, "readonly": true} | .linux.cgroupsPath = $cg' \
			"$BUNDLE/config.json" >"$TEST_TMP/b$i/config.json"
	done
}

@test "concurrency: 50 containers created, started, killed and deleted in parallel" {
	many_bundles 50
	one() {
		local i="$1" id="p$1-$UNIQ"
		rt create --bundle "$TEST_TMP/b$i" "$id" </dev/null >/dev/null 2>"$TEST_TMP/err$i" &&
			rt start "$id" 2>>"$TEST_TMP/err$i" &&
			[ "$(rt state "$id" | jq -r .status)" = running ] &&
			rt kill "$id" KILL 2>>"$TEST_TMP/err$i" &&
			for t in $(seq 100); do [ "$(rt state "$id" | jq -r .status)" = stopped ] && break; sleep 0.05; done &&
			rt delete "$id" 2>>"$TEST_TMP/err$i" && echo ok >"$TEST_TMP/ok$i"
	}
	local i pids=()
	for i in $(seq 50); do
		one "$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	local failed=0
	for i in $(seq 50); do
		if [ ! -f "$TEST_TMP/ok$i" ]; then
			echo "container $i failed: $(cat "$TEST_TMP/err$i")"
			failed=$((failed + 1))
		fi
	done
	[ "$failed" -eq 0 ]
	[ -z "$(rt list -q)" ]
	[ -z "$(leaked_cgroups)" ]
	[ -z "$(leaked_state)" ]
}

@test "concurrency: list and state never see a half-written state while 20 containers come and go" {
	many_bundles 20
	(
		for i in $(seq 20); do
			id="p$i-$UNIQ"
			rt create --bundle "$TEST_TMP/b$i" "$id" </dev/null >/dev/null 2>&1
			rt start "$id" >/dev/null 2>&1
			rt delete --force "$id" >/dev/null 2>&1
		done
		touch "$TEST_TMP/done"
	) &
	local bg=$! bad=0 n=0 out
	while [ ! -e "$TEST_TMP/done" ]; do
		out="$(rt list --format json 2>"$TEST_TMP/list.err")" || { echo "list failed: $(cat "$TEST_TMP/list.err")"; bad=1; }
		jq -e 'type == "array"' >/dev/null <<<"$out" || { echo "list: not a JSON array: $out"; bad=1; }
		for id in $(jq -r '.[].id' <<<"$out" 2>/dev/null); do
			if out="$(rt state "$id" 2>"$TEST_TMP/state.err")"; then
				jq -e '.status | IN("creating", "created", "running", "stopped")' >/dev/null <<<"$out" || { echo "state $id: $out"; bad=1; }
			else
				# Deleted between list and state: the only acceptable error.
				grep -q "does not exist" "$TEST_TMP/state.err" || { echo "state $id: $(cat "$TEST_TMP/state.err")"; bad=1; }
			fi
		done
		n=$((n + 1))
	done
	wait "$bg"
	echo "$n list rounds"
	[ "$bad" -eq 0 ]
	[ "$n" -gt 3 ]
}

@test "concurrency: delete --force waits for a create in progress (lock), then removes the container" {
	printf '#!/bin/sh\nsleep 2\n' >"$TEST_TMP/slow.sh"
	chmod +x "$TEST_TMP/slow.sh"
	cfg --arg p "$TEST_TMP/slow.sh" '.hooks.createRuntime = [{"path": $p}]'
	rt create --bundle "$BUNDLE" "$CT" >"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" </dev/null &
	local c=$! sc=0
	for i in $(seq 50); do [ -e "$ROOT/$CT/lock" ] && break; sleep 0.02; done
	local t0=$SECONDS
	run --separate-stderr rt delete --force "$CT"
	echo "delete --force: $status after $((SECONDS - t0)) s: $stderr"
	wait "$c" || sc=$?
	echo "create: $sc: $(cat "$TEST_TMP/c.err")"
	[ "$status" -eq 0 ]
	[ "$sc" -eq 0 ]  # create was not disturbed half-way
	[ $((SECONDS - t0)) -ge 1 ]
	[ -z "$(rt list -q)" ]
}

@test "concurrency: a command waits at most 10 s for a busy container, then names who holds it" {
	runtime_diverges "runc crun" "skiff's lock timeout and message"
	printf '#!/bin/sh\nsleep 14\n' >"$TEST_TMP/slow.sh"
	chmod +x "$TEST_TMP/slow.sh"
	cfg --arg p "$TEST_TMP/slow.sh" '.hooks.createRuntime = [{"path": $p}]'
	rt create --bundle "$BUNDLE" "$CT" >"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" </dev/null &
	local c=$!
	for i in $(seq 50); do [ -e "$ROOT/$CT/lock" ] && break; sleep 0.02; done
	sleep 0.2
	run --separate-stderr rt kill "$CT" KILL
	echo "kill: $status: $stderr"
	assert_failed
	expect_msg "container \"$CT\" is busy: \`skiff create\` \\(pid [0-9]+\\) has been working on it for over 10 s"
	wait "$c" || true
}
