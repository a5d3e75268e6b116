#!/bin/sh
# Regenerate the published results: the conformance suite (conformance/RESULTS.md) and the
# client battery (conformance/clients/RESULTS.md) for skiff, runc and crun, then the tables in
# README.md (scripts/readme-results.py). As root, after a release build. About 2 min for the
# suite and 5 min for the battery on 2 cores.
#   scripts/results.sh [SKIFF_BINARY]
set -u
cd "$(dirname "$0")/.."
BIN=$(realpath -s "${1:-.build/release/skiff}")
[ -x "$BIN" ] || { echo "results.sh: no skiff binary at $BIN (build it first)" >&2; exit 2; }
conformance/compare.sh --md conformance/RESULTS.md "$BIN" /usr/sbin/runc /usr/bin/crun || exit 1
conformance/clients/run.sh --markdown conformance/clients/RESULTS.md "$BIN" /usr/sbin/runc /usr/bin/crun
rc=$?
python3 scripts/readme-results.py conformance/RESULTS.md conformance/clients/RESULTS.md || exit 1
exit $rc
