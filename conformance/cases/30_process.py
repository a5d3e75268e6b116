"""config.md#process: args, env, cwd, user, rlimits, capabilities, noNewPrivileges, oomScoreAdj,
scheduler, ioPriority, terminal; runtime-linux.md#file-descriptors."""

import os
import resource

from conform import CAPS, case


@case("process_args", "config.md#process")
def _(t):
    b = t.bundle()
    extra = ["a b", "", "tab\there", "back\\slash", "ünïcödé", "--x=1"]
    rep = t.check_run(b, "--report", "--", *extra)
    t.eq(rep.args(), ["/checker", "--report", "--"] + extra, "argv")


@case("process_env", "config.md#process")
def _(t):
    b = t.bundle()
    want = {"PATH": "/bin:/usr/bin", "A": "1", "SPACED": "with space", "EMPTY": "", "EQ": "a=b=c"}
    b.process["env"] = [f"{k}={v}" for k, v in want.items()]
    rep = t.check_run(b)
    env = rep.env()
    for k, v in want.items():
        t.eq(env.get(k), v, f"env {k}")
    extra = sorted(set(env) - set(want))
    if extra:
        t.note(f"variables added by the runtime: {', '.join(extra)}")


@case("process_cwd", "config.md#process")
def _(t):
    b = t.bundle()
    os.makedirs(os.path.join(b.rootfs, "work/dir"))
    b.process["cwd"] = "/work/dir"
    rep = t.check_run(b)
    t.eq(rep.get("cwd"), "/work/dir", "cwd")


@case("process_user_root", "config.md#user")
def _(t):
    rep = t.check_run(t.bundle())
    for k in ("uid", "euid", "gid", "egid"):
        t.eq(rep.get(k), "0", k)


@case("process_user", "config.md#user")
def _(t):
    """uid, gid and additionalGids (the supplementary groups), umask."""
    b = t.bundle()
    b.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7, 2000], "umask": 0o027}
    rep = t.check_run(b)
    for k, v in (("uid", "1000"), ("euid", "1000"), ("gid", "1001"), ("egid", "1001")):
        t.eq(rep.get(k), v, k)
    t.eq(sorted(set(int(g) for g in rep.get("groups", "").split())), [5, 7, 2000], "supplementary groups")
    t.eq(rep.get("umask"), "0027", "umask")


@case("process_umask_default", "config.md#user", "EXTRA")
def _(t):
    """Without user.umask runc, crun and skiff all set 0022 (the spec: 'should not be changed')."""
    b = t.bundle()
    rep = t.check_run(b)
    t.eq(rep.get("umask"), "0022", "umask")


@case("process_rlimits", "config.md#posix-process")
def _(t):
    """Each rlimit: getrlimit returns the configured soft and hard values (below the runner's own
    hard limits: the runtime may lack CAP_SYS_RESOURCE to raise them)."""
    b = t.bundle()
    want = {"RLIMIT_NOFILE": (512, 777), "RLIMIT_CORE": (0, 4096), "RLIMIT_NPROC": (100, 200),
            "RLIMIT_STACK": (1 << 20, 4 << 20), "RLIMIT_MSGQUEUE": (1000, 2000), "RLIMIT_CPU": (100, 200)}
    for name, (soft, hard) in want.items():
        cur = resource.getrlimit(getattr(resource, name))[1]
        if cur != resource.RLIM_INFINITY and cur < hard:
            t.skip(f"the runner's hard {name} is {cur}, below the test value {hard}")
    b.process["rlimits"] = [{"type": n, "soft": s, "hard": h} for n, (s, h) in want.items()]
    rep = t.check_run(b)
    for name, (soft, hard) in want.items():
        t.eq(rep.rlimit(name), (str(soft), str(hard)), name)


@case("process_rlimits_duplicate", "config.md#posix-process")
def _(t):
    b = t.bundle()
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
                            {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}]
    cid = t.id()
    t.errors(t.create(b, cid), "create with a duplicated rlimit type")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("process_caps_root", "config.md#linux-process")
def _(t):
    """uid 0: bounding, permitted and effective as configured (inheritable and ambient empty)."""
    b = t.bundle()
    caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"]
    b.process["capabilities"] = {"bounding": caps, "permitted": caps, "effective": caps, "inheritable": [], "ambient": []}
    rep = t.check_run(b)
    for which, want in (("Bnd", caps), ("Prm", caps), ("Eff", caps), ("Inh", []), ("Amb", [])):
        t.eq(rep.caps(which), sorted(want), f"Cap{which}")


@case("process_caps_nonroot", "config.md#linux-process")
def _(t):
    """uid 1000: the ambient set survives execve into permitted and effective; inheritable and
    bounding as configured."""
    b = t.bundle()
    b.process["user"] = {"uid": 1000, "gid": 1000}
    amb = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bnd = amb + ["CAP_CHOWN", "CAP_SYS_CHROOT"]
    b.process["capabilities"] = {"bounding": bnd, "permitted": amb, "effective": amb, "inheritable": amb, "ambient": amb}
    rep = t.check_run(b)
    for which, want in (("Bnd", bnd), ("Prm", amb), ("Eff", amb), ("Inh", amb), ("Amb", amb)):
        t.eq(rep.caps(which), sorted(want), f"Cap{which}")


@case("process_caps_unknown", "config.md#linux-process", "SHOULD")
def _(t):
    """A capability that cannot be mapped is a warning; runtimes SHOULD NOT fail."""
    b = t.bundle()
    caps = ["CAP_KILL", "CAP_NO_SUCH_THING"]
    b.process["capabilities"] = {k: caps for k in ("bounding", "permitted", "effective")}
    rep = t.check_run(b)
    t.eq(rep.caps("Bnd"), ["CAP_KILL"], "CapBnd")


@case("process_no_new_privileges", "config.md#linux-process")
def _(t):
    for nnp in (True, False):
        b = t.bundle(f"b{int(nnp)}")
        b.process["noNewPrivileges"] = nnp
        rep = t.check_run(b, cid=t.id(f"c{int(nnp)}"))
        t.eq(rep.get("status.NoNewPrivs"), "1" if nnp else "0", f"NoNewPrivs with noNewPrivileges {nnp}")


@case("process_oom_score_adj", "config.md#linux-process")
def _(t):
    b = t.bundle()
    b.process["oomScoreAdj"] = 123
    rep = t.check_run(b)
    t.eq(rep.get("oom_score_adj"), "123", "oom_score_adj")


@case("process_oom_score_adj_unset", "config.md#linux-process")
def _(t):
    """Without oomScoreAdj the runtime MUST NOT change oom_score_adj (the runtime's own value)."""
    with open("/proc/self/oom_score_adj") as f:
        mine = f.read().strip()
    rep = t.check_run(t.bundle())
    t.eq(rep.get("oom_score_adj"), mine, "oom_score_adj (the runner's, inherited by the runtime)")


@case("process_fds", "runtime-linux.md#file-descriptors")
def _(t):
    """Only stdin, stdout and stderr are open in the container process."""
    rep = t.check_run(t.bundle())
    fds = sorted(int(v.split()[0]) for v in rep.all("fd"))
    t.eq(fds, [0, 1, 2], "open file descriptors (" + "; ".join(rep.all("fd")) + ")")


@case("process_scheduler", "config.md#linux-process")
def _(t):
    """scheduler: policy SCHED_BATCH with nice 7 (spec 1.2)."""
    b = t.bundle()
    b.process["scheduler"] = {"policy": "SCHED_BATCH", "nice": 7}
    rep = t.check_run(b)
    t.eq(rep.get("sched.policy"), "3", "sched_getscheduler (SCHED_BATCH = 3)")
    t.eq(rep.get("nice"), "7", "nice")


@case("process_io_priority", "config.md#linux-process")
def _(t):
    """ioPriority: class IOPRIO_CLASS_BE, priority 6 (spec 1.2)."""
    b = t.bundle()
    b.process["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    rep = t.check_run(b)
    t.eq(rep.get("ioprio"), "class=2 level=6", "ioprio_get")


def console_receiver(t):
    """A console socket: returns (path, result dict filled with 'fd' by a background accept)."""
    import socket
    import threading
    path = t.path("console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)
    res = {}

    def accept():
        try:
            conn, _ = srv.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                if fds:
                    res["fd"] = fds[0]
                    for extra in fds[1:]:
                        os.close(extra)
        except Exception as e:  # reported by the case
            res["error"] = repr(e)
        finally:
            srv.close()

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    res["thread"] = th
    return path, res


def read_pty(fd, secs=10):
    import select
    import time as _t
    out, end = b"", _t.monotonic() + secs
    while _t.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace").replace("\r\n", "\n")


@case("process_terminal", "config.md#process")
def _(t):
    """terminal: the program's stdio is a pty (sent over --console-socket) of consoleSize, and
    /dev/console is that pty."""
    from conform import Report
    b = t.bundle()
    b.process["terminal"] = True
    b.process["consoleSize"] = {"height": 30, "width": 100}
    b.checker("--report", "--path", "/dev/console")
    sock, res = console_receiver(t)
    cid = t.id()
    r = t.create(b, cid, "--console-socket", sock)
    res["thread"].join(10)
    t.refused_unless(r.rc == 0, r)
    t.require("fd" in res, f"no pty received on the console socket ({res.get('error')})")
    fd = res["fd"]
    t.on_cleanup(lambda: os.close(fd))
    t.must("start", cid)
    rep = Report(read_pty(fd))
    for n in (0, 1, 2):
        t.check((rep.one("tty", str(n)) or "").startswith("1"), f"fd {n} is not a terminal: {rep.one('tty', str(n))}")
    t.eq(rep.one("tty", "0"), "1 rows=30 cols=100", "terminal size of fd 0")
    c = rep.fields("path", "/dev/console") or {}
    t.check(c.get("type") == "c" and c.get("rdev", "").startswith("136:"), f"/dev/console is not a pty: {c}")


@case("process_args_path_lookup", "config.md#process")
def _(t):
    """args[0] has execvp's `file` semantics: without a slash it is looked up in PATH."""
    b = t.bundle()
    os.makedirs(os.path.join(b.rootfs, "opt/bin"))
    os.rename(os.path.join(b.rootfs, "checker"), os.path.join(b.rootfs, "opt/bin/checker"))
    b.process["env"] = ["PATH=/usr/bin:/opt/bin"]
    b.args("checker", "--print", "found")
    rep = t.check_run(b)
    t.eq(rep.get("print"), "found", "output of the program found in PATH")


@case("process_args_empty", "config.md#process")
def _(t):
    """At least one entry of args is REQUIRED: an empty args is an error (at create or start)."""
    b = t.bundle()
    b.args()
    cid = t.id()
    r = t.create(b, cid)
    if r.rc == 0:
        t.errors(t.rt("start", cid), "start with empty process.args")
