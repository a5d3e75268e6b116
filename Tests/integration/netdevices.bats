#!/usr/bin/env bats
# linux.netDevices (config-linux.md "Network Devices", runtime-spec 1.2): a host interface moved
# into the container's network namespace, renamed, up, with its permanent global addresses.
# runc 1.1.5 and crun 1.8.1 predate the field.

load helpers

setup_file() { skiff_setup_file; }
setup() {
	runtime_diverges "runc crun" "netDevices is newer than this runc/crun (they ignore or refuse it)"
	skiff_setup
	# Interface names: at most 15 bytes, unique per test.
	IF="sk${UNIQ:0:8}"
	ip link add "$IF" type veth peer name "${IF}p"
	on_teardown "ip link del '${IF}p' 2>/dev/null"
	ip addr add 10.99.7.1/24 dev "$IF"
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

@test "netDevices: moved, renamed, up, with its address; gone from the host" {
	cfg --arg i "$IF" '.linux.netDevices = {($i): {"name": "ctr0"}}'
	set_cmd 'ip addr show ctr0; ip link show ctr0'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$status: $output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.99.7.1/24"* ]]
	[[ "$output" == *",UP"* ]]
	! ip link show "$IF" 2>/dev/null
}

@test "netDevices: a %d template lets the kernel number the name" {
	cfg --arg i "$IF" '.linux.netDevices = {($i): {"name": "net%d"}}'
	set_cmd 'ls /sys/class/net'
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	echo "$status: $output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *net0* ]]
}

@test "netDevices: without a name the host name is kept" {
	cfg --arg i "$IF" '.linux.netDevices = {($i): {}}'
	set_cmd "cat /sys/class/net/$IF/operstate >/dev/null && echo present"
	run --separate-stderr rt run --bundle "$BUNDLE" "$CT"
	[ "$status" -eq 0 ]
	[ "$output" = present ]
}

@test "netDevices: a name the container already has is an error, and the device stays on the host" {
	cfg --arg i "$IF" '.linux.netDevices = {($i): {"name": "lo"}}'
	ct_create "$CT"
	assert_failed
	expect_msg "linux\.netDevices\.$IF: the container already has an interface named \"lo\" \(end the name with %d"
	ip link show "$IF"
}

@test "netDevices: an interface the host does not have is refused before anything is made" {
	cfg '.linux.netDevices = {"nosuch0": {}}'
	ct_create "$CT"
	assert_failed
	expect_msg 'linux\.netDevices\.nosuch0: the host has no network interface "nosuch0"'
	[ -z "$(leaked_state)" ]
}

@test "netDevices: refused when the container shares the host's network namespace" {
	del_ns network
	cfg --arg i "$IF" '.linux.netDevices = {($i): {}}'
	ct_create "$CT"
	assert_failed
	expect_msg "linux\.netDevices: the container shares the host's network namespace"
	ip link show "$IF"
}
