#!/usr/bin/env bash
# Regenerate the fuzz seed corpus (fuzz/corpus/) and the libFuzzer dictionary (fuzz/json.dict).
#
#   fuzz/make-corpus.sh [SKIFF]     SKIFF: a skiff binary for `skiff spec` (default /work/snap/skiff,
#                                   then .build/release/skiff); runc is used too if installed.
#
# Seeds: the integration tests' fixture config, `runc spec` and `skiff spec` (plain and rootless),
# the hand-written configs in fuzz/seeds/ (docker-style, every linux field, an exec process.json,
# an update resources file), the docker-style config with Docker's default seccomp profile
# (Tests/SeccompTests/fixtures/docker-default.json), and every malformed config of
# Tests/integration/badinput.bats (fuzz/seeds/bad/, written by that file's generator below).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
SKIFF="${1:-}"
[ -n "$SKIFF" ] || for c in /work/snap/skiff "$REPO/.build/release/skiff"; do [ -x "$c" ] && SKIFF="$c" && break; done

C="$HERE/corpus"
rm -rf "$C"
mkdir -p "$C"
FIX="$REPO/Tests/integration/fixtures/config.json"
cp "$FIX" "$C/fixture-config.json"
cp "$HERE"/seeds/*.json "$C/"
jq --slurpfile s "$REPO/Tests/SeccompTests/fixtures/docker-default.json" '.linux.seccomp = $s[0]' \
	"$HERE/seeds/docker-style.json" >"$C/docker-style-seccomp.json"
jq -c . "$C/docker-style-seccomp.json" >"$C/docker-style-seccomp-compact.json"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if command -v runc >/dev/null; then
	(cd "$tmp" && runc spec && mv config.json "$C/runc-spec.json")
	(cd "$tmp" && runc spec --rootless && mv config.json "$C/runc-spec-rootless.json")
fi
if [ -n "$SKIFF" ]; then
	"$SKIFF" spec --bundle "$tmp" && mv "$tmp/config.json" "$C/skiff-spec.json"
	"$SKIFF" spec --rootless --bundle "$tmp" && mv "$tmp/config.json" "$C/skiff-spec-rootless.json"
fi
# Malformed configs (rows of badinput.bats), small ones only: the fuzzer's max_len is 64 KiB.
if [ -d "$HERE/seeds/bad" ]; then
	for f in "$HERE"/seeds/bad/*; do
		[ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "$C/bad-$(basename "$f")"
	done
fi

# Dictionary: JSON punctuation and literals, and every string literal of the decoders (member
# names and enum values), so that mutations produce known keys.
{
	printf '%s\n' '"{"' '"}"' '"["' '"]"' '":"' '","' '"\""' '"true"' '"false"' '"null"' \
		'"-1"' '"0"' '"1e9"' '"18446744073709551616"' '"\\u0000"' '"\\ud800"' '"\\/"'
	grep -ohE '"[A-Za-z_][A-Za-z0-9_.%-]{1,40}"' "$REPO"/Sources/OCISpec/*.swift | sort -u |
		sed 's/"/\\"/g; s/.*/"&"/'
} >"$HERE/json.dict"
echo "corpus: $(ls "$C" | wc -l) files; dictionary: $(wc -l <"$HERE/json.dict") entries"
