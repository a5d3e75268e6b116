#!/usr/bin/env bats
# The global command-line contract: what containerd, podman and dockerd rely on besides the
# lifecycle (log.json, --version, --help, flag forms), and the --debug phase trace.

load helpers

setup_file() { skiff_setup_file; }
setup() { skiff_setup; }
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

@test "cli: --log FILE --log-format json writes {level,msg,time} lines containerd can read" {
	run --separate-stderr rt --log "$TEST_TMP/log.json" --log-format json state nope
	assert_failed
	[ -s "$TEST_TMP/log.json" ]
	tail -n1 "$TEST_TMP/log.json" | jq -e '.level == "error" and (.msg | test("does not exist")) and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))'
}

@test "cli: --log-format=json --log=FILE (podman's = form) and a create error in the log" {
	cfg '.process.args = ["-c"]'
	run --separate-stderr rt --log-format=json --log="$TEST_TMP/oci-log" create --bundle "$BUNDLE" "$CT"
	assert_failed
	cat "$TEST_TMP/oci-log"
	tail -n1 "$TEST_TMP/oci-log" | jq -e '.level == "error"'
	[ "$RUNTIME_NAME" != skiff ] || tail -n1 "$TEST_TMP/oci-log" | jq -e '.msg | test("process.args\\[0\\]: \"-c\" not found in the container.s PATH")'
}

@test "cli: --log-format with a bad value is refused" {
	run --separate-stderr rt --log-format xml list
	assert_failed
}

@test "cli: --version prints 'NAME version X', 'commit:' and 'spec:' lines as dockerd parses them" {
	run "$RUNTIME" --version
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "${lines[0]}" =~ ^[a-z]+\ version\ [0-9] ]]
	grep -q '^spec: 1\.' <<<"$output"
	[ "$RUNTIME_NAME" != skiff ] || grep -q '^commit:' <<<"$output"
}

@test "cli: --help and COMMAND --help list the commands and flags" {
	run "$RUNTIME" --help
	[ "$status" -eq 0 ]
	for c in create start run state kill delete list spec; do grep -qw "$c" <<<"$output"; done
	run "$RUNTIME" create --help
	[ "$status" -eq 0 ]
	grep -q -- "--bundle" <<<"$output"
	grep -q -- "--pid-file" <<<"$output"
}

@test "cli: an unknown global flag is refused, naming it" {
	run --separate-stderr "$RUNTIME" --frobnicate list
	assert_failed
	expect_msg 'frobnicate'
}

@test "cli: boolean flags take =true/=false (urfave/cli style)" {
	set_cmd 'exit 0'
	run --separate-stderr rt run --detach=false --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
}

@test "cli: state has the spec fields plus created, owner and rootfs" {
	set_cmd 'exec sleep 100'
	start_container "$CT"
	run --separate-stderr rt state "$CT"
	[ "$status" -eq 0 ]
	echo "$output"
	jq -e --arg id "$CT" --arg b "$BUNDLE" '
		.ociVersion and .id == $id and .status == "running" and (.pid > 0) and .bundle == $b and
		(.created | test("^[0-9]{4}-")) and has("owner") and (.rootfs | endswith("rootfs"))' <<<"$output"
}

@test "cli: --debug traces the phases of create with timings" {
	[ "$RUNTIME_NAME" = skiff ] || skip "the phase trace is skiff's"
	set_cmd 'exit 0'
	run --separate-stderr rt --debug run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	echo "$stderr"
	for p in parse cgroups fork namespaces created started; do
		grep -Eq "phase $p at [0-9.]+ ms" <<<"$stderr"
	done
}

@test "cli: a command skiff does not have yet fails with a clear message, not 'unknown command'" {
	[ "$RUNTIME_NAME" = skiff ] || skip "which commands exist differs by runtime"
	run --separate-stderr rt checkpoint "$CT"
	assert_failed
	expect_msg 'not supported by skiff yet'
}

@test "features: valid against the spec's features-schema.json, and true to what skiff refuses" {
	[ "$RUNTIME_NAME" = skiff ] || skip "runc 1.1.5's features is experimental and older than this schema"
	schema="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)/shared/runtime-spec/schema"
	[ -d "$schema" ] || schema=/work/shared/runtime-spec/schema
	run --separate-stderr "$RUNTIME" features
	[ "$status" -eq 0 ]
	echo "$output" >"$TEST_TMP/features.json"
	python3 - "$schema" "$TEST_TMP/features.json" <<-'PY'
	import json, os, sys
	import jsonschema
	base = sys.argv[1]
	schema = json.load(open(os.path.join(base, "features-schema.json")))
	resolver = jsonschema.RefResolver("file://" + base + "/", schema)
	jsonschema.validate(json.load(open(sys.argv[2])), schema, resolver=resolver)
	print("valid")
	PY
	jq -e '.linux.seccomp.enabled == true and .linux.apparmor.enabled == false and .linux.mountExtensions.idmap.enabled == true
	       and .linux.cgroup.systemd == true and (.mountOptions | index("idmap") != null) and (.mountOptions | index("ridmap") != null) and (.mountOptions | index("rro") != null)
	       and (.linux.namespaces | length == 8) and (.linux.capabilities | index("CAP_SYS_ADMIN") != null)' "$TEST_TMP/features.json"
}
