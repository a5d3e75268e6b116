#!/usr/bin/env bats
# process.terminal: the console socket protocol (as containerd's shim and conmon receive the pty
# master), and interactive `run` / `exec -t` driven through tmux like a person at a keyboard.

load helpers

setup_file() { skiff_setup_file; }
setup() {
	skiff_setup
	TMUX_SOCK="$TEST_TMP/tmux.sock"
	on_teardown 'tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true'
}
teardown() { skiff_teardown; }
teardown_file() { skiff_teardown_file; }

RECVTTY="$BATS_TEST_DIRNAME/tools/recvtty.py"

# start_receiver [INPUT]: a console socket receiver in the background; output in $TTY_OUT.
start_receiver() {
	TTY_SOCK="$TEST_TMP/tty.sock"
	TTY_OUT="$TEST_TMP/tty.out"
	python3 "$RECVTTY" "$TTY_SOCK" "$TTY_OUT" "${1:-}" &
	RECV_PID=$!
	wait_file "$TTY_OUT.ready"
}

# screen: what the tmux pane shows now.
screen() { tmux -S "$TMUX_SOCK" capture-pane -p -t t; }

# wait_screen REGEX [SECONDS=5]
wait_screen() {
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	echo "screen does not show /$1/:"
	screen
	return 1
}

@test "terminal: create --console-socket sends the pty master; the process has a tty, /dev/console and the size" {
	cfg '.process.terminal = true | .process.consoleSize = {"height": 33, "width": 101}'
	set_cmd 'tty; stty size; ls -l /dev/console; ls /proc/$$/fd; true'
	start_receiver
	ct_create "$CT" --console-socket "$TTY_SOCK"
	[ "$status" -eq 0 ]
	rt start "$CT"
	wait "$RECV_PID"
	cat "$TTY_OUT"
	grep -q '^/dev/pts/[0-9]' "$TTY_OUT"
	grep -q '^33 101' "$TTY_OUT"
	grep -q 'console' "$TTY_OUT"
	# stdio are the pty, and nothing else is open
	[ "$(tr -d '\r' <"$TTY_OUT" | grep -E '^0 ' | xargs)" = "0 1 2" ]
	[ "$RUNTIME_NAME" != skiff ] || grep -q '^/dev/pts/' "$TTY_OUT.name"
}

@test "terminal: input typed into the master reaches the process" {
	cfg '.process.terminal = true'
	set_cmd 'read line; echo "got:$line"'
	start_receiver 'hello-through-the-pty\n'
	ct_create "$CT" --console-socket "$TTY_SOCK"
	rt start "$CT"
	wait "$RECV_PID"
	grep -q 'got:hello-through-the-pty' "$TTY_OUT"
}

@test "terminal: create with a terminal and no console socket is refused clearly" {
	cfg '.process.terminal = true'
	ct_create "$CT"
	assert_failed
	expect_msg 'process.terminal: is true, but no --console-socket'
}

@test "terminal: exec -t --console-socket" {
	set_cmd 'exec sleep 100'
	start_container "$CT"
	start_receiver
	run --separate-stderr rt exec -t --console-socket "$TTY_SOCK" --detach "$CT" sh -c 'tty; echo done'
	[ "$status" -eq 0 ]
	wait "$RECV_PID"
	cat "$TTY_OUT"
	grep -q '^/dev/pts/[0-9]' "$TTY_OUT"
	grep -q 'done' "$TTY_OUT"
}

@test "terminal: interactive run in tmux: type, resize, exit status" {
	cfg '.process.terminal = true | .process.args = ["sh"]'
	tmux -S "$TMUX_SOCK" new-session -d -s t -x 120 -y 30 \
		"$RUNTIME --root $ROOT run --bundle $BUNDLE $CT; echo EXIT=\$?; sleep 60"
	wait_screen '/ #$'
	tmux -S "$TMUX_SOCK" send-keys -t t 'echo typed-$((6*7)); stty size' Enter
	wait_screen '^typed-42'
	wait_screen '^30 120'
	tmux -S "$TMUX_SOCK" resize-window -t t -x 100 -y 20
	sleep 0.3
	tmux -S "$TMUX_SOCK" send-keys -t t 'stty size' Enter
	wait_screen '^20 100'
	tmux -S "$TMUX_SOCK" send-keys -t t 'exit 7' Enter
	wait_screen 'EXIT=7'
}

@test "terminal: interactive exec -t in tmux; Ctrl-C reaches the process, not the runtime" {
	set_cmd 'exec sleep 100'
	start_container "$CT"
	tmux -S "$TMUX_SOCK" new-session -d -s t -x 100 -y 30 \
		"$RUNTIME --root $ROOT exec -t $CT sh; echo EXIT=\$?; sleep 60"
	wait_screen '/ #$'
	tmux -S "$TMUX_SOCK" send-keys -t t 'sleep 30' Enter
	sleep 0.5
	tmux -S "$TMUX_SOCK" send-keys -t t C-c
	tmux -S "$TMUX_SOCK" send-keys -t t 'echo after-ctrl-c; tty' Enter
	wait_screen '^after-ctrl-c'
	wait_screen '^/dev/pts/'
	tmux -S "$TMUX_SOCK" send-keys -t t 'exit 3' Enter
	wait_screen 'EXIT=3'
	# The terminal is restored: the shell in the pane echoes again.
	[ "$(ct_status "$CT")" = running ]
}

@test "terminal: run -t exits with 137 when the process is killed" {
	# (pid 1 of a pid namespace cannot SIGKILL itself from inside: kill it from outside)
	cfg '.process.terminal = true | .process.args = ["sh", "-c", "echo started; exec sleep 100"]'
	tmux -S "$TMUX_SOCK" new-session -d -s t -x 100 -y 30 \
		"$RUNTIME --root $ROOT run --bundle $BUNDLE $CT; echo EXIT=\$?; sleep 60"
	wait_screen '^started'
	rt kill "$CT" KILL
	wait_screen 'EXIT=137'
}
