#!/bin/sh
# Builds the release binary and runs the side-by-side benchmark (skiff, runc, crun), as root.
# All three run in the same private mount namespace without the cgroup2 mount: crun 1.8
# refuses this host's hybrid layout, and the comparison must be on equal terms.
set -eu
cd "$(dirname "$0")/.."
make build >/dev/null
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec python3 bench/bench.py "$@"' bench "$@"
