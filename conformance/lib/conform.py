"""The conformance suite's engine: bundles, the runtime under test, the checker's reports,
assertions, TAP output and the leak checks. Cases live in conformance/cases/*.py and use the
`case` decorator and the `T` object passed to them. Python 3 standard library only.
"""

import copy
import fnmatch
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback

# ----------------------------------------------------------------------------------------------
# Registry

CASES = []


def case(name, ref, level="MUST"):
    """Register a case. ref: the spec section it checks (file#anchor); level: MUST, SHOULD or
    EXTRA (behaviour every runc-compatible runtime has, though the spec does not require it)."""

    def wrap(fn):
        if any(c["name"] == name for c in CASES):
            raise SystemExit(f"duplicate case name {name}")
        CASES.append({"name": name, "ref": ref, "level": level, "fn": fn})
        return fn

    return wrap


class Fail(Exception):
    pass


class Skip(Exception):
    pass


class Refused(Fail):
    """The runtime refused the configuration (create or run failed): still a failure, shown as
    "refused" in the tables to tell it from a setting silently ignored or wrongly applied."""


# ----------------------------------------------------------------------------------------------
# Capabilities (numbers from linux/capability.h)

CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]


def caps_from_hex(h):
    v = int(h, 16)
    return sorted(CAPS[i] if i < len(CAPS) else f"CAP_{i}" for i in range(64) if v >> i & 1)


# ----------------------------------------------------------------------------------------------
# The default config: `runc spec` 1.1.5 (process.terminal false), with the checker as program.

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

DEFAULT_CONFIG = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["/checker"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
        "cwd": "/",
        "capabilities": {k: list(DEFAULT_CAPS) for k in ("bounding", "effective", "permitted", "ambient")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": False},
    "hostname": "conformance",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ],
    "linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
}

# ----------------------------------------------------------------------------------------------
# Suite-wide settings (set by main())

S = {}


def host_ns(t):
    return os.readlink(f"/proc/self/ns/{t}")


def cgroup_mounts():
    """Mount points of the cgroup hierarchies: {mountpoint: (fstype, [controllers])}."""
    res = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            i = parts.index("-")
            fstype = parts[i + 1]
            if fstype in ("cgroup", "cgroup2"):
                opts = parts[i + 3].split(",")
                res[parts[4]] = (fstype, opts)
    return res


def v1_mount(controller):
    """The mount point of the cgroup v1 hierarchy that has this controller, or None."""
    for mp, (fs, opts) in cgroup_mounts().items():
        if fs == "cgroup" and controller in opts:
            return mp
    return None


def v2_mount():
    for mp, (fs, _) in cgroup_mounts().items():
        if fs == "cgroup2":
            return mp
    return None


# ----------------------------------------------------------------------------------------------
# Reports


class Report:
    """The checker's output: each line "KEY VALUE"; a key may repeat."""

    def __init__(self, text):
        self.text = text
        self.lines = []
        for line in text.splitlines():
            k, _, v = line.partition(" ")
            self.lines.append((k, v))

    def all(self, key):
        return [v for k, v in self.lines if k == key]

    def get(self, key, default=None):
        vals = self.all(key)
        return vals[0] if vals else default

    def prefixed(self, key, first):
        """Values of KEY lines whose first word is FIRST, without it (e.g. ns pid ...)."""
        out = []
        for v in self.all(key):
            w, _, rest = v.partition(" ")
            if w == first:
                out.append(rest)
        return out

    def one(self, key, first):
        vals = self.prefixed(key, first)
        return vals[0] if vals else None

    def fields(self, key, first):
        """For lines like "path P a=1 b=2": {a: 1, b: 2} (None if absent)."""
        v = self.one(key, first)
        if v is None:
            return None
        return dict(p.split("=", 1) for p in v.split() if "=" in p)

    def env(self):
        out = {}
        for v in self.all("env"):
            k, _, val = unescape(v).partition("=")
            out[k] = val
        return out

    def args(self):
        return [unescape(v) for v in self.all("arg")]

    def ns(self, t):
        v = self.one("ns", t)
        return v

    def caps(self, which):
        v = self.get(f"status.Cap{which}")
        return caps_from_hex(v) if v else None

    def mounts(self):
        """[{mountpoint, fstype, source, opts(set), superopts(set), propagation}] in mountinfo order."""
        out = []
        for v in self.all("mount"):
            p = v.split(" ")
            if len(p) < 6:
                continue
            out.append({"mountpoint": p[0], "fstype": p[1], "source": p[2], "opts": set(p[3].split(",")),
                        "superopts": set(p[4].split(",")), "propagation": p[5]})
        return out

    def mount(self, mountpoint):
        """The last (topmost) mount at this mount point."""
        ms = [m for m in self.mounts() if m["mountpoint"] == mountpoint]
        return ms[-1] if ms else None

    def devs(self):
        """{path: (type, rdev, mode, uid, gid)} or (l, target) for symlinks."""
        out = {}
        for v in self.all("dev"):
            p = v.split(" ")
            out[p[0]] = tuple(p[1:])
        return out

    def rlimit(self, name):
        v = self.one("rlimit", name)
        return tuple(v.split()) if v else None


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "n":
                out.append("\n"); i += 2; continue
            if n == "t":
                out.append("\t"); i += 2; continue
            if n == "\\":
                out.append("\\"); i += 2; continue
            if n == "x" and i + 3 < len(s):
                out.append(chr(int(s[i + 2:i + 4], 16))); i += 4; continue
        out.append(c)
        i += 1
    return "".join(out)


# ----------------------------------------------------------------------------------------------
# Bundles and the runtime


class Result:
    def __init__(self, argv, rc, out, err, secs):
        self.argv, self.rc, self.out, self.err, self.secs = argv, rc, out, err, secs

    def __repr__(self):
        return f"rc={self.rc} stderr={self.err.strip()[:600]!r}"

    def brief(self):
        e = self.err.strip().replace("\n", " | ")
        return f"`{' '.join(self.argv[3:])}` exit {self.rc}: {e[:600]}"


class Bundle:
    def __init__(self, t, name):
        self.t = t
        self.name = name
        self.dir = os.path.join(t.dir, name)
        os.makedirs(self.dir)
        subprocess.run(["cp", "-a", S["rootfs"], os.path.join(self.dir, "rootfs")], check=True)
        self.rootfs = os.path.join(self.dir, "rootfs")
        self.config = copy.deepcopy(DEFAULT_CONFIG)
        self.config["linux"]["cgroupsPath"] = f"/{S['cgparent']}/{t.uniq}-{name}"
        t.cgroup_paths.append(self.config["linux"]["cgroupsPath"])

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def args(self, *args):
        self.config["process"]["args"] = list(args)
        return self

    def checker(self, *args):
        return self.args("/checker", *args)

    def sh(self, script):
        return self.args("/bin/sh", "-c", script)

    def ns(self, t, path=None, remove=False):
        nss = [n for n in self.linux.get("namespaces", []) if n["type"] != t]
        if not remove:
            nss.append({"type": t, "path": path} if path else {"type": t})
        self.linux["namespaces"] = nss
        return self

    def mount(self, destination, type, source, options=None):
        m = {"destination": destination, "type": type, "source": source}
        if options is not None:
            m["options"] = options
        self.config["mounts"].append(m)
        return self

    def write(self, raw=None):
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            if raw is not None:
                f.write(raw)
            else:
                json.dump(self.config, f, indent=1)
        return self


class T:
    """One case's context: its temp dir, bundles, containers and findings."""

    def __init__(self, index, c):
        self.case = c
        self.uniq = f"{S['suite']}-{index:03d}"
        self.dir = os.path.join(S["work"], self.uniq)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.ids = []
        self.cgroup_paths = []
        self.failures = []
        self.notes = []
        self.cleanups = []
        self.nio = 0

    # -- bundles and ids
    def bundle(self, name="b"):
        return Bundle(self, name)

    def id(self, suffix="c"):
        cid = f"{self.uniq}-{suffix}"
        self.ids.append(cid)
        return cid

    def path(self, *p):
        return os.path.join(self.dir, *p)

    # -- the runtime
    def rt(self, *args, timeout=30, stdin=subprocess.DEVNULL, io=None):
        """Run `RUNTIME --root ROOT ARGS`. io: a name; stdout/stderr go to files (so that a
        container inheriting them holds no pipe of ours)."""
        argv = [S["runtime"], "--root", S["root"]] + [str(a) for a in args]
        if io is None:
            self.nio += 1
            io = f"io{self.nio}"
        outp, errp = self.path(io + ".out"), self.path(io + ".err")
        t0 = time.monotonic()
        with open(outp, "wb") as o, open(errp, "wb") as e:
            p = subprocess.Popen(argv, stdin=stdin, stdout=o, stderr=e, start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = "timeout"
        with open(outp, "rb") as o, open(errp, "rb") as e:
            out, err = o.read().decode(errors="replace"), e.read().decode(errors="replace")
        return Result(argv, rc, out, err, time.monotonic() - t0)

    def run(self, b, cid=None, timeout=30, extra=()):
        """`run --bundle B ID` (foreground) after writing the config; the container's output is
        the runtime's."""
        cid = cid or self.id()
        b.write()
        return self.rt("run", *extra, "--bundle", b.dir, cid, timeout=timeout)

    def check_run(self, b, *checker_args, cid=None, ok=True):
        """Run the checker with these actions in bundle b; return its Report. With ok, a failed
        run stops the case with the runtime's error."""
        if checker_args:
            b.checker(*checker_args)
        r = self.run(b, cid)
        if ok and r.rc != 0:
            raise Refused(f"the container did not run: {r.brief()}")
        rep = Report(r.out)
        rep.result = r
        return rep

    def create(self, b, cid, *extra, write=True):
        if write:
            b.write()
        return self.rt("create", *extra, "--bundle", b.dir, cid, io=f"ct-{cid}")

    def state(self, cid):
        r = self.rt("state", cid)
        if r.rc != 0:
            return None
        try:
            return json.loads(r.out)
        except ValueError:
            raise Fail(f"state {cid}: not JSON: {r.out[:300]!r}")

    def status(self, cid):
        s = self.state(cid)
        return s.get("status") if s else None

    def wait_status(self, cid, want, secs=5):
        end = time.monotonic() + secs
        st = None
        while time.monotonic() < end:
            st = self.status(cid)
            if st == want:
                return True
            time.sleep(0.05)
        self.fail(f"{cid}: status {st!r}, expected {want!r} within {secs}s")
        return False

    def must_create(self, b, cid, *extra):
        r = self.create(b, cid, *extra)
        if r.rc != 0:
            raise Refused(f"create failed: {r.brief()}")
        return r

    def must(self, *args):
        r = self.rt(*args)
        if r.rc != 0:
            raise Fail(f"{args[0]} failed: {r.brief()}")
        return r

    # -- assertions
    def fail(self, msg):
        self.failures.append(msg)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)
        return bool(cond)

    def eq(self, actual, expected, what):
        return self.check(actual == expected, f"{what}: got {actual!r}, expected {expected!r}")

    def refused_unless(self, cond, r):
        if not cond:
            raise Refused(f"create failed: {r.brief()}")

    def require(self, cond, msg):
        if not cond:
            raise Fail(msg)

    def errors(self, r, what):
        """The runtime call must have failed (non-zero exit)."""
        return self.check(r.rc not in (0,), f"{what}: expected an error, got exit 0 (stderr {r.err.strip()[:200]!r})")

    def succeeds(self, r, what):
        return self.check(r.rc == 0, f"{what}: {r.brief()}")

    def note(self, msg):
        self.notes.append(msg)

    def skip(self, reason):
        raise Skip(reason)

    def on_cleanup(self, fn):
        self.cleanups.append(fn)

    # -- helpers for cases
    def hook_script(self, name, body):
        """An executable /bin/sh script in the case dir (reachable from the host and from every
        container that bind-mounts the case dir at the same path)."""
        p = self.path(name)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(p, 0o755)
        return p

    def share_dir(self, b):
        """Bind-mount the case dir into the container at the same path."""
        b.mount(self.dir, "bind", self.dir, ["rbind", "rw"])
        return self.dir

    def wait_file(self, p, secs=5):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if os.path.exists(p):
                return True
            time.sleep(0.05)
        return False

    def read(self, *p, default=None):
        try:
            with open(self.path(*p)) as f:
                return f.read()
        except OSError:
            return default

    def host_cgroup_dir(self, pid, controller):
        """The host directory of PID's cgroup for a v1 controller ("" for the v2 hierarchy)."""
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                hid, ctrls, path = line.rstrip("\n").split(":", 2)
                if controller == "" and hid == "0":
                    mp = v2_mount()
                    return mp + path if mp else None
                if controller and controller in ctrls.split(","):
                    mp = v1_mount(controller)
                    return mp + path if mp else None
        return None


# ----------------------------------------------------------------------------------------------
# Leak checks


def self_and_ancestors():
    pids, pid = set(), os.getpid()
    while pid > 0:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return pids


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def leaks(prefix_dir, cg_marker, with_state=True):
    """What is left of containers: state dirs under the root, cgroups whose path contains
    cg_marker, mounts mentioning prefix_dir, processes inside prefix_dir / those cgroups / mount
    namespaces that mount from prefix_dir."""
    found = []
    if with_state and os.path.isdir(S["root"]):
        for d in os.listdir(S["root"]):
            if os.path.isdir(os.path.join(S["root"], d)):
                found.append(f"state dir {S['root']}/{d}")
    for mp in cgroup_mounts():
        for d in glob.glob(os.path.join(mp, S["cgparent"], "*")):
            if os.path.isdir(d) and cg_marker in d:
                found.append(f"cgroup {d}")
    with open("/proc/self/mountinfo") as f:
        for line in f:
            p = line.split()
            if (p[4] + "/").startswith(prefix_dir + "/") or (p[3] + "/").startswith(prefix_dir + "/"):
                found.append(f"mount {p[4]}")
    mine = self_and_ancestors()
    myns = os.readlink("/proc/self/ns/mnt")
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in mine:
            continue
        pid = int(d)
        why = None
        try:
            for link in ("cwd", "root"):
                tgt = os.readlink(f"/proc/{pid}/{link}")
                if (tgt + "/").startswith(prefix_dir + "/"):
                    why = f"{link} {tgt}"
            with open(f"/proc/{pid}/cgroup") as f:
                cg = f.read()
            if f"/{S['cgparent']}/" in cg and cg_marker in cg:
                why = "in a cgroup of the suite"
            if not why and os.readlink(f"/proc/{pid}/ns/mnt") != myns:
                with open(f"/proc/{pid}/mountinfo") as f:
                    if prefix_dir + "/" in f.read():
                        why = "mounts from the suite's dir"
        except OSError:
            continue
        if why and proc_state(pid) not in ("", "Z", "X"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = "?"
            found.append(f"process {pid} ({why}): {cmd[:120]}")
    return found


def force_cleanup(prefix_dir, cg_marker):
    for _ in range(3):
        for item in leaks(prefix_dir, cg_marker, with_state=False):
            if item.startswith("process "):
                try:
                    os.kill(int(item.split()[1]), signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.1)
    for item in sorted(leaks(prefix_dir, cg_marker, with_state=False), reverse=True):
        if item.startswith("mount "):
            subprocess.run(["umount", "-l", item.split(" ", 1)[1]], stderr=subprocess.DEVNULL)
    for item in sorted(leaks(prefix_dir, cg_marker, with_state=False), reverse=True):
        if item.startswith("cgroup "):
            d = item.split(" ", 1)[1]
            for root, dirs, _ in sorted(os.walk(d, topdown=False), key=lambda x: -len(x[0])):
                try:
                    os.rmdir(root)
                except OSError:
                    pass
    if os.path.isdir(S["root"]):
        for d in os.listdir(S["root"]):
            shutil.rmtree(os.path.join(S["root"], d), ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# Running


def run_case(index, c):
    t = T(index, c)
    t0 = time.monotonic()
    outcome, detail, refused = "ok", None, False
    try:
        c["fn"](t)
    except Skip as e:
        outcome, detail = "skip", str(e)
    except Refused as e:
        t.failures.append(str(e))
        refused = True
    except Fail as e:
        t.failures.append(str(e))
    except Exception:
        t.failures.append("case raised: " + traceback.format_exc().strip().replace("\n", "\n  "))
    # Clean up: every id the case used, then its own cleanups, then the leak check.
    for cid in reversed(t.ids):
        t.rt("delete", "--force", cid, timeout=20, io="cleanup")
    for fn in reversed(t.cleanups):
        try:
            fn()
        except Exception as e:
            t.failures.append(f"cleanup raised {e!r}")
    left = []
    for _ in range(20):
        left = leaks(t.dir, t.uniq + "-")
        if not left:
            break
        time.sleep(0.1)
    if left:
        t.failures.append("LEAK after delete --force: " + "; ".join(left))
        force_cleanup(t.dir, t.uniq + "-")
    if not leaks(t.dir, t.uniq + "-", with_state=False) and not S.get("keep"):
        shutil.rmtree(t.dir, ignore_errors=True)
    if t.failures and outcome != "skip":
        outcome = "fail"
    elif t.failures:
        # A skip after a leak is still a failure.
        if any(f.startswith("LEAK") for f in t.failures):
            outcome = "fail"
    return {"name": c["name"], "ref": c["ref"], "level": c["level"], "outcome": outcome, "skip": detail,
            "refused": refused and outcome == "fail",
            "failures": t.failures, "notes": t.notes, "secs": round(time.monotonic() - t0, 2)}


def build_rootfs(work, checker):
    """A busybox rootfs with the checker, built once per suite run."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    r = os.path.join(work, "rootfs")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user",
              "var/tmp", "run", "mnt"):
        os.makedirs(os.path.join(r, d), exist_ok=True)
    os.chmod(os.path.join(r, "tmp"), 0o1777)
    os.chmod(os.path.join(r, "var/tmp"), 0o1777)
    os.chmod(os.path.join(r, "root"), 0o700)
    shutil.copy2(busybox, os.path.join(r, "bin/busybox"))
    os.chmod(os.path.join(r, "bin/busybox"), 0o755)
    names = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for n in names:
        p = os.path.join(r, n)
        if not os.path.lexists(p):
            os.symlink("/bin/busybox", p)
    shutil.copy2(checker, os.path.join(r, "checker"))
    os.chmod(os.path.join(r, "checker"), 0o755)
    with open(os.path.join(r, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    with open(os.path.join(r, "etc/group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nuser:x:1000:\n")
    os.chown(os.path.join(r, "home/user"), 1000, 1000)
    return r


def load_cases(case_dir):
    import importlib.util
    for p in sorted(glob.glob(os.path.join(case_dir, "*.py"))):
        spec = importlib.util.spec_from_file_location("cases_" + os.path.basename(p)[:-3], p)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="run.sh", description="OCI runtime-spec conformance suite")
    ap.add_argument("--runtime", default=os.environ.get("RUNTIME", "skiff"))
    ap.add_argument("--checker", required=True)
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep each case's temp dir")
    ap.add_argument("--tmp", default=os.environ.get("CONFORMANCE_TMP", "/tmp"))
    ap.add_argument("cases", nargs="*", help="case names or shell patterns (default: all)")
    a = ap.parse_args(argv)

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    load_cases(os.path.join(here, "cases"))
    selected = CASES
    if a.cases:
        selected = [c for c in CASES if any(fnmatch.fnmatchcase(c["name"], p) or c["name"] == p for p in a.cases)]
        if not selected:
            print(f"run.sh: no case matches {' '.join(a.cases)}", file=sys.stderr)
            return 2
    if a.list:
        for c in selected:
            print(f"{c['name']:40} {c['level']:6} {c['ref']}")
        return 0

    runtime = os.path.abspath(a.runtime) if os.path.sep in a.runtime else shutil.which(a.runtime)
    if not runtime or not os.access(runtime, os.X_OK):
        print(f"run.sh: runtime {a.runtime} is not executable", file=sys.stderr)
        return 2
    suite = f"oc{os.getpid()}"
    work = os.path.join(a.tmp, f"conformance-{suite}")
    os.makedirs(work)
    os.chmod(work, 0o755)
    S.update(runtime=runtime, name=os.path.basename(runtime), suite=suite, work=work,
             root=os.path.join("/run", f"conformance-{suite}"), cgparent=f"conformance-{suite}", keep=a.keep)
    S["rootfs"] = build_rootfs(work, a.checker)
    ver = subprocess.run([runtime, "--version"], capture_output=True, text=True).stdout.splitlines()
    print(f"# runtime: {runtime} ({ver[0] if ver else '?'})")
    print(f"# kernel: {os.uname().release}; cgroup mounts: {len(cgroup_mounts())}")
    print(f"1..{len(selected) + 1}")
    sys.stdout.flush()
    # Known failures of this runtime (conformance/known-failures.txt: "RUNTIME CASE reason"):
    # reported as TAP TODO with the reason, not counted as failures, so that CI fails on a
    # regression only. One that passes again is pointed out.
    known = {}
    kf = os.path.join(here, "known-failures.txt")
    if os.path.exists(kf):
        for line in open(kf):
            parts = line.strip().split(None, 2)
            if len(parts) == 3 and not parts[0].startswith("#") and parts[0] == S["name"]:
                known[parts[1]] = parts[2]
    t0 = time.monotonic()
    results = []
    for i, c in enumerate(selected, 1):
        res = run_case(i, c)
        results.append(res)
        label = f"{c['name']} [{c['level']} {c['ref']}]"
        if res["outcome"] == "ok":
            print(f"ok {i} - {label}")
        elif res["outcome"] == "skip":
            print(f"ok {i} - {label} # SKIP {res['skip']}")
        elif c["name"] in known:
            res["outcome"] = "known"
            print(f"not ok {i} - {label}" + (" (refused by the runtime)" if res["refused"] else "") + f" # TODO known: {known[c['name']]}")
        else:
            print(f"not ok {i} - {label}" + (" (refused by the runtime)" if res["refused"] else ""))
        if res["outcome"] == "ok" and c["name"] in known:
            res["notes"].append("listed in known-failures.txt but passes now: remove it from there")
        for f in res["failures"]:
            print("#   " + f.replace("\n", "\n#   "))
        for n in res["notes"]:
            print("#   note: " + n.replace("\n", "\n#   "))
        sys.stdout.flush()

    # The whole suite's leak check: nothing of ours may be left anywhere; then the cgroup parent
    # (runc and crun create it and leave it, as they do for any nested cgroupsPath parent).
    left = leaks(work, "")
    for mp in cgroup_mounts():
        # Relative cgroupsPaths land under a runtime-chosen parent (the runner's own cgroup, ...).
        for pat in ("", "*/", "*/*/"):
            for d in glob.glob(os.path.join(mp, pat + f"conformance-rel-{suite}*")):
                left.append(f"cgroup {d}")
        d = os.path.join(mp, S["cgparent"])
        if os.path.isdir(d):
            try:
                os.rmdir(d)
            except OSError:
                left.append(f"cgroup {d} (not empty)")
    n = len(selected) + 1
    if left:
        print(f"not ok {n} - suite leak check")
        for item in left:
            print(f"#   left: {item}")
        force_cleanup(work, "")
    else:
        print(f"ok {n} - suite leak check")
    try:
        os.rmdir(S["root"])
    except OSError:
        pass
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    secs = time.monotonic() - t0
    passed = sum(r["outcome"] == "ok" for r in results) + (0 if left else 1)
    failed = sum(r["outcome"] == "fail" for r in results) + (1 if left else 0)
    skipped = [r for r in results if r["outcome"] == "skip"]
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runtime": runtime, "version": ver[0] if ver else "", "secs": round(secs, 1),
                       "leaks": left, "results": results}, f, indent=1)
    for r in skipped:
        print(f"# skipped {r['name']}: {r['skip']}")
    print(f"# wall time {secs:.1f}s")
    nknown = sum(r["outcome"] == "known" for r in results)
    print(f"{passed} passed, {failed} failed, {len(skipped)} skipped" + (f", {nknown} known failures" if nknown else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    # The cases do `from conform import ...`: make that this very module.
    sys.modules["conform"] = sys.modules[__name__]
    sys.exit(main(sys.argv[1:]))
