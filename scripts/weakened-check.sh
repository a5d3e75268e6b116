#!/usr/bin/env bash
# Checks that each CVE regression test can fail: for every Tests/integration/weakened/*.patch
# (each removes one defence), build skiff with the patch applied and run that defence's test,
# which must FAIL; then build skiff as committed and run the same tests, which must PASS.
#
#   scripts/weakened-check.sh [PATCH...]      all patches, or the given ones (names or paths)
#
# Works in a temporary git worktree of HEAD (commit first: uncommitted changes are not seen),
# removed at the end. Builds go through /work/bin/sbuild when present (the shared build lock),
# else `swift build`. Needs root, bats, jq (as the integration suite). Not part of `make check`:
# six builds take a while. Each patch names its test in its first line:
#   # test: FILE.bats BATS-FILTER-REGEX
# Prints one line per patch, then a summary; exits non-zero if any expectation failed. The TAP
# output of each run (what each attack achieved) is kept in $WEAKENED_LOGS (default: a temp dir).
set -u

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATCHES="$REPO/Tests/integration/weakened"
TESTS="$REPO/Tests/integration"

patches=()
if [ $# -eq 0 ]; then
	patches=("$PATCHES"/*.patch)
else
	for p in "$@"; do
		if [ -f "$p" ]; then patches+=("$p"); else patches+=("$PATCHES/${p%.patch}.patch"); fi
	done
fi

WT="$(mktemp -d "${TMPDIR:-/tmp}/skiff-weakened-XXXXXX")"
cleanup() {
	git -C "$REPO" worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"
	git -C "$REPO" worktree prune
}
trap cleanup EXIT
git -C "$REPO" worktree add --quiet --detach "$WT" HEAD || exit 2

build() {
	if [ -x /work/bin/sbuild ]; then
		(cd "$WT" && /work/bin/sbuild -c release --static-swift-stdlib -Xswiftc -static-executable)
	else
		(cd "$WT" && swift build -c release --static-swift-stdlib -Xswiftc -static-executable)
	fi >"$WT.build.log" 2>&1
}

# run_test PATCH KIND: runs the test the patch names against $WT's binary; sets RESULT (PASS or
# FAIL) and WHY (the first failed assertion, if any).
run_test() {
	local file filter out
	read -r _ _ file filter < <(head -1 "$1")
	out="$(RUNTIME="$WT/.build/release/skiff" bats --filter "$filter" "$TESTS/$file" 2>&1)"
	echo "$out" >"$LOGS/$(basename "$1" .patch).$2.tap"
	# A weakened build may let the escape test of mounts.bats create its target on the host.
	if [ -e /host-escape ] && [ -z "${HOST_ESCAPE_WAS_THERE:-}" ]; then
		umount -l /host-escape 2>/dev/null
		rmdir /host-escape 2>/dev/null || rm -rf --one-file-system /host-escape
		WHY_EXTRA=" (and it created /host-escape on the host, removed)"
	fi
	if ! grep -q '^ok ' <<<"$out" && ! grep -q '^not ok ' <<<"$out"; then
		RESULT=ERROR
		WHY="no test matched /$filter/ in $file"
	elif grep -q '^not ok ' <<<"$out"; then
		RESULT=FAIL
		WHY="$(grep -m1 -E "^#   \`.*' failed" <<<"$out" | sed 's/^#   //')"
	else
		RESULT=PASS
		WHY=""
	fi
}

[ -e /host-escape ] && HOST_ESCAPE_WAS_THERE=1
LOGS="${WEAKENED_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/skiff-weakened-logs-XXXXXX")}"
mkdir -p "$LOGS"
bad=0
declare -A weak_result weak_why
for p in "${patches[@]}"; do
	name="$(basename "$p" .patch)"
	git -C "$WT" checkout --quiet -- . && git -C "$WT" apply "$p" || {
		echo "$name: the patch does not apply to HEAD"
		bad=1
		continue
	}
	if ! build; then
		echo "$name: the weakened build FAILED (log: $WT.build.log)"
		tail -20 "$WT.build.log"
		bad=1
		continue
	fi
	WHY_EXTRA=""
	run_test "$p" weakened
	weak_result[$name]="$RESULT"
	weak_why[$name]="$WHY$WHY_EXTRA"
	echo "$name: weakened build: test $RESULT${WHY:+ at $WHY}$WHY_EXTRA"
done

git -C "$WT" checkout --quiet -- .
if ! build; then
	echo "the normal build FAILED"
	tail -20 "$WT.build.log"
	exit 1
fi
echo
echo "summary (weakened build must FAIL, normal build must PASS):"
for p in "${patches[@]}"; do
	name="$(basename "$p" .patch)"
	run_test "$p" normal
	w="${weak_result[$name]:-not run}"
	verdict=ok
	[ "$w" = FAIL ] && [ "$RESULT" = PASS ] || { verdict=WRONG; bad=1; }
	printf '  %-34s weakened: %-4s  normal: %-4s  %s\n' "$name" "$w" "$RESULT" "$verdict"
done
echo "TAP output of each run: $LOGS/<patch>.{weakened,normal}.tap"
[ "$bad" = 0 ] && rm -f "$WT.build.log" || echo "build log: $WT.build.log"
exit $bad
