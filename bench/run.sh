#!/bin/sh
# Builds the release binary and runs the side-by-side benchmark (skiff, runc, crun), as root.
#   bench/run.sh                 the full run (5 to 6 minutes on the 2-core VM, 3 of them the
#                                scale series up to 1000 containers)
#   bench/run.sh --readme        the same, and rewrites the results block in README.md
#   bench/run.sh --quick         a quick check (about 1 minute); see bench/bench.py --help
# NO_BUILD=1 skips the build (use the binary as it is, or another with --skiff PATH).
# All three run in the same private mount namespace without the cgroup2 mount: crun 1.8
# refuses this host's hybrid layout, and the comparison must be on equal terms.
set -eu
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || make build >/dev/null
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true; exec python3 bench/bench.py "$@"' bench "$@"
