"""config.md#root and #mounts; config-linux.md default filesystems, devices, masked and readonly
paths, rootfs propagation; runtime-linux.md /dev symlinks."""

import os
import subprocess

from conform import case


def host_dir(t, name, files=()):
    d = t.path(name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    for f in files:
        with open(os.path.join(d, f), "w") as fh:
            fh.write(f + "\n")
    return d


def host_submount(t, d, marker):
    """Mount a tmpfs on d/sub on the host (removed at cleanup) with a marker file in it."""
    sub = os.path.join(d, "sub")
    os.makedirs(sub, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", sub], check=True)
    t.on_cleanup(lambda: subprocess.run(["umount", "-l", sub]))
    open(os.path.join(sub, marker), "w").close()
    return sub


@case("root_readonly", "config.md#root")
def _(t):
    b = t.bundle()
    b.config["root"]["readonly"] = True
    rep = t.check_run(b, "--report", "--write", "/newfile")
    t.eq(rep.get("root.readonly"), "1", "root mount read-only (statvfs ST_RDONLY)")
    t.eq(rep.get("write"), "/newfile err EROFS", "writing a file in /")
    t.check(not os.path.exists(os.path.join(b.rootfs, "newfile")), "the file was created")


@case("root_readwrite", "config.md#root")
def _(t):
    b = t.bundle()
    rep = t.check_run(b, "--report", "--write", "/newfile")
    t.eq(rep.get("root.readonly"), "0", "root mount read-only (statvfs ST_RDONLY)")
    t.eq(rep.get("write"), "/newfile ok", "writing a file in /")


@case("mounts_order_shadow", "config.md#mounts")
def _(t):
    """Mounts are made in the listed order: of two mounts on one destination the later is on top."""
    b = t.bundle()
    a = host_dir(t, "first", ["from-first"])
    s = host_dir(t, "second", ["from-second"])
    b.mount("/mnt/x", "bind", a, ["bind"])
    b.mount("/mnt/x", "bind", s, ["bind"])
    rep = t.check_run(b, "--path", "/mnt/x/from-second", "--path", "/mnt/x/from-first")
    t.eq(rep.fields("path", "/mnt/x/from-second").get("exists"), "1", "the second mount's file")
    t.eq(rep.fields("path", "/mnt/x/from-first").get("exists"), "0", "the first mount's file (should be covered)")


@case("mounts_order_nested", "config.md#mounts")
def _(t):
    """A mount inside an earlier one: both present, the outer first in mountinfo."""
    b = t.bundle()
    d = host_dir(t, "inner", ["inner-file"])
    b.mount("/mnt/outer", "tmpfs", "tmpfs", ["size=1m"])
    b.mount("/mnt/outer/inner", "bind", d, ["bind"])
    rep = t.check_run(b, "--report", "--path", "/mnt/outer/inner/inner-file")
    mps = [m["mountpoint"] for m in rep.mounts()]
    t.check("/mnt/outer" in mps and "/mnt/outer/inner" in mps, f"mounts missing: {mps}")
    if "/mnt/outer" in mps and "/mnt/outer/inner" in mps:
        t.check(mps.index("/mnt/outer") < mps.index("/mnt/outer/inner"), f"mount order {mps}")
    t.eq(rep.fields("path", "/mnt/outer/inner/inner-file").get("exists"), "1", "file of the inner mount")


@case("mounts_tmpfs_options", "config.md#mounts")
def _(t):
    b = t.bundle()
    b.mount("/mnt/t", "tmpfs", "tmpfs", ["nosuid", "nodev", "noexec", "mode=700", "size=1m", "uid=1000", "gid=1000"])
    rep = t.check_run(b, "--report", "--path", "/mnt/t")
    m = rep.mount("/mnt/t")
    t.require(m, "no mount at /mnt/t")
    t.eq(m["fstype"], "tmpfs", "fstype")
    for o in ("nosuid", "nodev", "noexec", "rw"):
        t.check(o in m["opts"], f"mount option {o} missing: {sorted(m['opts'])}")
    t.check("size=1024k" in m["superopts"], f"size=1m not applied: {sorted(m['superopts'])}")
    p = rep.fields("path", "/mnt/t")
    t.eq((p["mode"], p["uid"], p["gid"]), ("0700", "1000", "1000"), "mode, uid, gid of the tmpfs root")


@case("mounts_atime_options", "config.md#mounts")
def _(t):
    b = t.bundle()
    b.mount("/mnt/noatime", "tmpfs", "tmpfs", ["noatime", "nodiratime"])
    b.mount("/mnt/strict", "tmpfs", "tmpfs", ["strictatime"])
    b.mount("/mnt/relatime", "tmpfs", "tmpfs", ["relatime", "sync", "dirsync"])
    rep = t.check_run(b)
    m = rep.mount("/mnt/noatime") or {"opts": set()}
    t.check({"noatime", "nodiratime"} <= m["opts"], f"/mnt/noatime options {sorted(m['opts'])}")
    m = rep.mount("/mnt/strict") or {"opts": {"?"}}
    t.check(not {"noatime", "relatime"} & m["opts"], f"/mnt/strict options {sorted(m['opts'])}")
    m = rep.mount("/mnt/relatime") or {"opts": set(), "superopts": set()}
    t.check({"relatime", "sync"} <= m["opts"] | m["superopts"] and "dirsync" in m["opts"] | m["superopts"],
            f"/mnt/relatime options {sorted(m['opts'])} {sorted(m['superopts'])}")


@case("mounts_nosymfollow", "config.md#mounts", "SHOULD")
def _(t):
    b = t.bundle()
    b.mount("/mnt/nsf", "tmpfs", "tmpfs", ["nosymfollow"])
    rep = t.check_run(b)
    m = rep.mount("/mnt/nsf") or {"opts": set()}
    t.check("nosymfollow" in m["opts"], f"nosymfollow missing: {sorted(m['opts'])}")


@case("mounts_bind_rw", "config.md#mounts")
def _(t):
    b = t.bundle()
    d = host_dir(t, "shared", ["hello"])
    b.mount("/mnt/bind", "bind", d, ["bind", "rw"])
    rep = t.check_run(b, "--cat", "/mnt/bind/hello", "--write", "/mnt/bind/from-container")
    t.eq(rep.get("cat"), "/mnt/bind/hello hello\\n", "host file read in the container")
    t.eq(rep.get("write"), "/mnt/bind/from-container ok", "write through the bind mount")
    t.check(os.path.exists(os.path.join(d, "from-container")), "the write is not visible on the host")


@case("mounts_bind_ro", "config.md#mounts")
def _(t):
    b = t.bundle()
    d = host_dir(t, "shared", ["hello"])
    b.mount("/mnt/bind", "bind", d, ["bind", "ro"])
    b.mount("/mnt/none", "none", d, ["rbind", "ro", "nosuid", "nodev", "noexec"])
    rep = t.check_run(b, "--report", "--write", "/mnt/bind/x", "--write", "/mnt/none/x")
    for mp in ("/mnt/bind", "/mnt/none"):
        m = rep.mount(mp)
        if not t.check(m, f"no mount at {mp}"):
            continue
        t.check("ro" in m["opts"], f"{mp}: not read-only: {sorted(m['opts'])}")
        t.eq(rep.one("write", mp + "/x"), "err EROFS", f"write to {mp}")
    m = rep.mount("/mnt/none") or {"opts": set()}
    t.check({"nosuid", "nodev", "noexec"} <= m["opts"], f"/mnt/none (type none): options {sorted(m['opts'])}")


@case("mounts_bind_file", "config.md#mounts")
def _(t):
    b = t.bundle()
    d = host_dir(t, "files", ["single"])
    b.mount("/etc/single-file", "bind", os.path.join(d, "single"), ["bind", "ro"])
    rep = t.check_run(b, "--cat", "/etc/single-file")
    t.eq(rep.get("cat"), "/etc/single-file single\\n", "bind-mounted file")


@case("mounts_rbind", "config.md#mounts")
def _(t):
    """bind does not carry the source's submounts; rbind does."""
    b = t.bundle()
    d = host_dir(t, "tree", ["top"])
    host_submount(t, d, "in-submount")
    b.mount("/mnt/bind", "bind", d, ["bind"])
    b.mount("/mnt/rbind", "bind", d, ["rbind"])
    rep = t.check_run(b, "--path", "/mnt/bind/sub/in-submount", "--path", "/mnt/rbind/sub/in-submount")
    t.eq(rep.fields("path", "/mnt/bind/sub/in-submount")["exists"], "0", "submount through bind")
    t.eq(rep.fields("path", "/mnt/rbind/sub/in-submount")["exists"], "1", "submount through rbind")


@case("mounts_rro", "config.md#mounts", "SHOULD")
def _(t):
    """rro: the bind mount and its submounts are read-only."""
    b = t.bundle()
    d = host_dir(t, "tree", ["top"])
    host_submount(t, d, "in-submount")
    b.mount("/mnt/rro", "bind", d, ["rbind", "rro"])
    rep = t.check_run(b, "--report", "--write", "/mnt/rro/x", "--write", "/mnt/rro/sub/x")
    t.eq(rep.one("write", "/mnt/rro/x"), "err EROFS", "write to the top")
    t.eq(rep.one("write", "/mnt/rro/sub/x"), "err EROFS", "write to the submount")


@case("mounts_bind_propagation", "config.md#mounts")
def _(t):
    """Propagation options of bind mounts as seen in the container's mountinfo."""
    b = t.bundle()
    d = host_dir(t, "p")
    for opt in ("private", "shared", "unbindable", "rprivate", "rshared", "runbindable"):
        b.mount(f"/mnt/{opt}", "bind", d, ["bind" if not opt.startswith("r") else "rbind", opt])
    rep = t.check_run(b)
    for opt in ("private", "shared", "unbindable", "rprivate", "rshared", "runbindable"):
        m = rep.mount(f"/mnt/{opt}")
        if not t.check(m, f"no mount at /mnt/{opt}"):
            continue
        prop = m["propagation"]
        want = opt.lstrip("r") if opt != "rprivate" else "private"
        if opt == "private":
            want = "private"
        ok = prop.startswith("shared:") if want == "shared" else prop == want
        t.check(ok, f"/mnt/{opt}: propagation {prop!r}")


@case("mounts_relative_destination", "config.md#mounts")
def _(t):
    """A relative destination MUST be interpreted as relative to "/"."""
    b = t.bundle()
    b.mount("mnt/rel", "tmpfs", "tmpfs", ["size=1m"])
    rep = t.check_run(b)
    t.check(rep.mount("/mnt/rel"), f"no mount at /mnt/rel: {[m['mountpoint'] for m in rep.mounts()]}")


@case("mounts_missing_source", "config.md#mounts")
def _(t):
    b = t.bundle()
    b.mount("/mnt/x", "bind", t.path("does-not-exist"), ["bind"])
    cid = t.id()
    t.errors(t.create(b, cid), "create with a bind mount whose source does not exist")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("mounts_default_filesystems", "config-linux.md#default-filesystems", "SHOULD")
def _(t):
    rep = t.check_run(t.bundle())
    for mp, fs in (("/proc", "proc"), ("/sys", "sysfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"),
                   ("/dev/mqueue", "mqueue"), ("/dev", "tmpfs")):
        m = rep.mount(mp)
        t.check(m and m["fstype"] == fs, f"{mp}: {m and m['fstype']!r}, expected {fs}")
    m = rep.mount("/sys") or {"opts": set()}
    t.check("ro" in m["opts"], f"/sys with option ro: {sorted(m['opts'])}")


@case("mounts_cgroup", "config.md#mounts", "EXTRA")
def _(t):
    """A mount of type cgroup at /sys/fs/cgroup (runc's default config): read-only cgroup
    hierarchies, or a cgroup2 mount."""
    rep = t.check_run(t.bundle())
    cg = [m for m in rep.mounts() if m["mountpoint"].startswith("/sys/fs/cgroup")]
    t.check(any(m["fstype"] in ("cgroup", "cgroup2") for m in cg),
            f"no cgroup filesystem under /sys/fs/cgroup: {[(m['mountpoint'], m['fstype']) for m in cg]}")
    for m in cg:
        if m["fstype"] in ("cgroup", "cgroup2"):
            t.check("ro" in m["opts"], f"{m['mountpoint']} is not read-only")


@case("dev_symlinks", "runtime-linux.md#dev-symbolic-links")
def _(t):
    rep = t.check_run(t.bundle())
    devs = rep.devs()
    for link, target in (("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
                         ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2")):
        t.eq(devs.get(link), ("l", target), link)


@case("default_devices", "config-linux.md#default-devices")
def _(t):
    """null, zero, full, random, urandom, tty as character devices (usable under the device cgroup
    rule deny-all), and /dev/ptmx as a link to or a bind mount of pts/ptmx."""
    b = t.bundle()
    rep = t.check_run(b, "--report", "--open", "/dev/null", "w", "--open", "/dev/zero", "r",
                      "--open", "/dev/full", "w", "--open", "/dev/urandom", "r", "--open", "/dev/random", "r")
    devs = rep.devs()
    for name, rdev in (("null", "1:3"), ("zero", "1:5"), ("full", "1:7"), ("random", "1:8"), ("urandom", "1:9"),
                       ("tty", "5:0")):
        d = devs.get(f"/dev/{name}")
        t.check(d and d[0] == "c" and d[1] == rdev, f"/dev/{name}: {d}, expected character device {rdev}")
        if d and d[0] == "c":
            t.check(d[2] == "0666", f"/dev/{name} mode {d[2]} (runc, crun: 0666)")
    for o in rep.all("open"):
        t.check(o.endswith(" ok"), f"open {o}")
    ptmx = devs.get("/dev/ptmx")
    t.check(ptmx in (("l", "pts/ptmx"), ("l", "/dev/pts/ptmx")) or (ptmx and ptmx[0] == "c" and ptmx[1] == "5:2"),
            f"/dev/ptmx: {ptmx}")


@case("linux_devices", "config-linux.md#devices")
def _(t):
    """Devices listed in linux.devices exist with their type, numbers, mode and owner."""
    b = t.bundle()
    b.linux["devices"] = [
        {"path": "/dev/conf-char", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001},
        {"path": "/dev/conf-block", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 0},
        {"path": "/dev/sub/conf-u", "type": "u", "major": 1, "minor": 5},
        {"path": "/dev/conf-fifo", "type": "p"},
    ]
    rep = t.check_run(b, "--report", "--path", "/dev/sub/conf-u", "--path", "/dev/conf-fifo")
    devs = rep.devs()
    t.eq(devs.get("/dev/conf-char"), ("c", "1:3", "0640", "1000", "1001"), "/dev/conf-char")
    t.eq(devs.get("/dev/conf-block"), ("b", "7:200", "0600", "0", "0"), "/dev/conf-block")
    u = rep.fields("path", "/dev/sub/conf-u")
    t.eq((u.get("type"), u.get("rdev")), ("c", "1:5"), "/dev/sub/conf-u (type u: unbuffered character device)")
    p = rep.fields("path", "/dev/conf-fifo")
    t.eq(p.get("type"), "o", "/dev/conf-fifo (type p: a FIFO)")


@case("linux_devices_cgroup", "config-linux.md#allowed-device-list")
def _(t):
    """The device cgroup: a node for 1:12 (no driver), made in the rootfs beforehand (not listed
    in linux.devices), gives EPERM when the rules deny it, ENXIO when they allow it."""
    b = t.bundle()
    os.makedirs(os.path.join(b.rootfs, "nodes"))
    os.mknod(os.path.join(b.rootfs, "nodes/dev-1-12"), 0o20666, os.makedev(1, 12))
    os.chmod(os.path.join(b.rootfs, "nodes/dev-1-12"), 0o666)
    rep = t.check_run(b, "--open", "/nodes/dev-1-12", "r", cid=t.id("deny"))
    t.eq(rep.get("open"), "/nodes/dev-1-12 r err EPERM", "open of a device the rules deny")
    b.linux["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 12, "access": "r"})
    rep = t.check_run(b, "--open", "/nodes/dev-1-12", "r", "--open", "/nodes/dev-1-12", "w", cid=t.id("allow"))
    opens = rep.all("open")
    t.check("/nodes/dev-1-12 r err ENXIO" in opens, f"open for reading (allowed): {opens}")
    t.check("/nodes/dev-1-12 w err EPERM" in opens, f"open for writing (not allowed): {opens}")


@case("linux_devices_conflict", "config-linux.md#devices")
def _(t):
    """A file already at a device's path that does not match it MUST be an error."""
    b = t.bundle()
    b.linux["devices"] = [{"path": "/etc/passwd", "type": "c", "major": 1, "minor": 3}]
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    cid = t.id()
    r = t.create(b, cid)
    t.errors(r, "create with a device path that is a regular file")


@case("masked_paths", "config-linux.md#masked-paths")
def _(t):
    """Masked files read as empty, masked directories are empty; a masked path that does not
    exist is no error."""
    b = t.bundle()
    b.linux["maskedPaths"] = ["/proc/timer_list", "/proc/keys", "/sys/firmware", "/proc/does-not-exist"]
    rep = t.check_run(b, "--path", "/proc/timer_list", "--path", "/proc/keys", "--path", "/sys/firmware")
    for f in ("/proc/timer_list", "/proc/keys"):
        p = rep.fields("path", f)
        t.check(p.get("bytes") == "0" or (p.get("type") == "c" and p.get("rdev") == "1:3"),
                f"{f} not masked: {p}")
    p = rep.fields("path", "/sys/firmware")
    t.eq(p.get("entries"), "0", "entries of the masked /sys/firmware")


@case("readonly_paths", "config-linux.md#readonly-paths")
def _(t):
    """Read-only paths are on read-only mounts (statvfs ST_RDONLY; writes fail with EROFS where
    permissions are not checked first). Paths this kernel lacks are left out."""
    b = t.bundle()
    paths = [p for p in ("/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs") if os.path.exists(p)]
    b.linux["readonlyPaths"] = paths + ["/proc/does-not-exist"]
    probes = ["/proc/sys/kernel/hostname" if p == "/proc/sys" else p for p in paths]
    rep = t.check_run(b, *[a for p in probes for a in ("--path", p)], "--write", "/proc/sys/kernel/hostname")
    for f in probes:
        p = rep.fields("path", f)
        t.check(p.get("readonly") == "1", f"{f} is not on a read-only mount: {p}")
    t.eq(rep.get("write"), "/proc/sys/kernel/hostname err EROFS", "writing /proc/sys/kernel/hostname")


def rootfs_propagation_case(prop):
    @case(f"rootfs_propagation_{prop}", "config-linux.md#rootfs-mount-propagation")
    def _(t):
        b = t.bundle()
        b.linux["rootfsPropagation"] = prop
        rep = t.check_run(b)
        m = rep.mount("/")
        t.require(m, "no / in the container's mountinfo")
        p = m["propagation"]
        # slave: "master:N" when the host side is shared; the host's / may be private, and a
        # slave of a private mount is private.
        ok = {"private": p == "private", "shared": p.startswith("shared:"), "unbindable": p == "unbindable",
              "slave": p.startswith("master:") or p == "private"}[prop]
        t.check(ok, f"/ has propagation {p!r}")


for _p in ("private", "shared", "slave", "unbindable"):
    rootfs_propagation_case(_p)


@case("root_path_absolute", "config.md#root")
def _(t):
    """root.path may be an absolute path on the host."""
    b = t.bundle()
    b.config["root"]["path"] = b.rootfs
    rep = t.check_run(b, "--print", "ran")
    t.eq(rep.get("print"), "ran", "the program's output")
