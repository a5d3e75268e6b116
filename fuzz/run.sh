#!/usr/bin/env bash
# Build and run the libFuzzer target for skiff's config decoders.
#
#   fuzz/run.sh [SECONDS]        build (if sources changed), then fuzz for SECONDS (default 600)
#   fuzz/run.sh --build          build only
#   fuzz/run.sh --repro FILE...  run the target once on each FILE (a crash reproducer)
#
# The target compiles Sources/SkiffJSON, Sources/OCISpec and Sources/Seccomp straight from the
# tree with `swiftc -sanitize=fuzzer,address` (no Package.swift change), plus FuzzMain.swift.
# Everything runs under `nice -n 19`, one compile job at a time (the machine has two cores).
# Inputs: fuzz/corpus/ (seeds, read-only) and fuzz/.work/corpus (what the fuzzer adds). Crashes,
# leaks, timeouts and out-of-memory inputs land in fuzz/crashes/.
# Env: FUZZ_JOBS (default 1), FUZZ_MAX_LEN (default 65536), FUZZ_RSS_MB (default 2048),
#      FUZZ_TIMEOUT (seconds per input before it counts as a hang, default 10).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
OUT="$HERE/.work"
BIN="$OUT/fuzz-config"
SRC="$REPO/Sources"

build() {
	mkdir -p "$OUT/mod"
	local inputs=("$SRC"/SkiffJSON/*.swift "$SRC"/OCISpec/*.swift "$SRC"/Seccomp/*.swift "$HERE/FuzzMain.swift")
	if [ -x "$BIN" ]; then
		local newer
		newer="$(find "${inputs[@]}" "$HERE/run.sh" -newer "$BIN" | head -n 1)"
		[ -z "$newer" ] && return 0
	fi
	echo "fuzz: building $BIN" >&2
	local sc=(nice -n 19 swiftc -j 1 -O -g -sanitize=fuzzer,address -parse-as-library
		-swift-version 5 -use-ld=lld -I "$OUT/mod" -I "$SRC/CSeccomp")
	"${sc[@]}" -module-name SkiffJSON -emit-module -emit-module-path "$OUT/mod/SkiffJSON.swiftmodule" \
		-c "$SRC"/SkiffJSON/*.swift -o "$OUT/SkiffJSON.o"
	"${sc[@]}" -module-name OCISpec -emit-module -emit-module-path "$OUT/mod/OCISpec.swiftmodule" \
		-wmo -c "$SRC"/OCISpec/*.swift -o "$OUT/OCISpec.o"
	"${sc[@]}" -module-name Seccomp -emit-module -emit-module-path "$OUT/mod/Seccomp.swiftmodule" \
		-wmo -c "$SRC"/Seccomp/*.swift -o "$OUT/Seccomp.o"
	"${sc[@]}" -module-name FuzzMain -c "$HERE/FuzzMain.swift" -o "$OUT/FuzzMain.o"
	"${sc[@]}" "$OUT/SkiffJSON.o" "$OUT/OCISpec.o" "$OUT/Seccomp.o" "$OUT/FuzzMain.o" -lseccomp -o "$BIN.new"
	mv "$BIN.new" "$BIN"
}

case "${1:-}" in
--build)
	build
	exit 0
	;;
--repro)
	shift
	build
	exec nice -n 19 "$BIN" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" "$@"
	;;
esac

SECONDS_TO_RUN="${1:-600}"
build
mkdir -p "$OUT/corpus" "$HERE/crashes"
cd "$OUT"
# -detect_leaks=0: a Swift error thrown through many frames is not a leak we care about here,
# and LeakSanitizer needs ptrace, which may be refused in containers.
exec nice -n 19 "$BIN" \
	-max_total_time="$SECONDS_TO_RUN" \
	-max_len="${FUZZ_MAX_LEN:-65536}" \
	-timeout="${FUZZ_TIMEOUT:-10}" \
	-rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
	-jobs="${FUZZ_JOBS:-1}" -workers="${FUZZ_JOBS:-1}" \
	-detect_leaks=0 \
	-dict="$HERE/json.dict" \
	-artifact_prefix="$HERE/crashes/" \
	-print_final_stats=1 \
	"$OUT/corpus" "$HERE/corpus"
