#!/bin/sh
# Makes a busybox bundle on the spot and runs a container from it with skiff.
set -eu
SKIFF=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$(mktemp -d /tmp/skiff-demo.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
R=$DIR/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/root"
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"
cd "$DIR"
"$SKIFF" spec
# A non-interactive demo: no terminal, a short script, its own hostname.
sed -i -e 's/"terminal": true/"terminal": false/' \
       -e 's/"sh"$/"sh", "-c", "echo hello from a skiff container: $(hostname), pid $$, $(id); ls \/"/' \
       -e 's/"hostname": "runc"/"hostname": "skiff-demo"/' config.json
echo "+ skiff run demo-$$"
"$SKIFF" --root "$DIR/state" run "demo-$$"
echo "exit status: $?"
