"""runtime.md: state, create, start, kill, delete and the lifecycle."""

import os
import re
import time

from conform import case

SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def long_running(b):
    """The program: mark /ran in the rootfs, then sleep."""
    b.sh("touch /ran; exec sleep 600")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@case("create_does_not_run_program", "runtime.md#create")
def _(t):
    b = t.bundle()
    long_running(b)
    cid = t.id()
    t.must_create(b, cid)
    t.eq(t.status(cid), "created", "status after create")
    time.sleep(0.3)
    t.check(not os.path.exists(os.path.join(b.rootfs, "ran")), "process.args ran before start")
    t.must("start", cid)
    t.check(t.wait_file(os.path.join(b.rootfs, "ran")), "process.args did not run after start")
    t.eq(t.status(cid), "running", "status after start")


@case("state_fields", "runtime.md#state")
def _(t):
    b = t.bundle()
    long_running(b)
    b.config["annotations"] = {"org.example.key": "value", "com.example.other": "x y"}
    cid = t.id()
    t.must_create(b, cid)
    s = t.state(cid)
    t.require(s is not None, "state of a created container failed")
    t.check(isinstance(s.get("ociVersion"), str) and SEMVER.match(s["ociVersion"]),
            f"ociVersion {s.get('ociVersion')!r} is not SemVer 2.0.0")
    t.eq(s.get("id"), cid, "id")
    t.eq(s.get("status"), "created", "status")
    pid = s.get("pid")
    t.check(isinstance(pid, int) and pid > 0 and alive(pid), f"pid {pid!r} is not a live process")
    t.eq(s.get("bundle"), b.dir, "bundle (absolute path of the bundle)")
    t.eq(s.get("annotations"), b.config["annotations"], "annotations")
    t.must("start", cid)
    s2 = t.state(cid)
    t.eq(s2.get("status"), "running", "status after start")
    t.eq(s2.get("pid"), pid, "pid after start (the same container process)")


@case("state_status_lifecycle", "runtime.md#lifecycle")
def _(t):
    """created -> running -> stopped as the program exits by itself; stopped stays queryable."""
    b = t.bundle()
    b.sh("while [ ! -e /go ]; do sleep 0.05; done")
    cid = t.id()
    t.must_create(b, cid)
    t.eq(t.status(cid), "created", "after create")
    t.must("start", cid)
    t.eq(t.status(cid), "running", "after start")
    open(os.path.join(b.rootfs, "go"), "w").close()
    t.wait_status(cid, "stopped")
    s = t.state(cid)
    t.eq((s or {}).get("id"), cid, "id of a stopped container")
    t.must("delete", cid)
    t.check(t.state(cid) is None, "state of a deleted container succeeded")


@case("state_errors", "runtime.md#query-state")
def _(t):
    t.errors(t.rt("state"), "state without an id")
    t.errors(t.rt("state", t.id("nosuch")), "state of a container that does not exist")


@case("create_duplicate_id", "runtime.md#create")
def _(t):
    b = t.bundle()
    long_running(b)
    cid = t.id()
    t.must_create(b, cid)
    pid = t.state(cid)["pid"]
    b2 = t.bundle("b2")
    long_running(b2)
    r = t.create(b2, cid)
    t.errors(r, "create with an id already in use")
    s = t.state(cid)
    t.check(s and s["status"] == "created" and s["pid"] == pid and s["bundle"] == b.dir,
            f"the first container changed: {s}")
    t.check(alive(pid), "the first container's process died")


@case("create_invalid_id", "runtime.md#create")
def _(t):
    """An id that cannot name a container (empty, a path) is an error, and creates nothing."""
    b = t.bundle()
    long_running(b)
    b.write()
    for bad in ["", "a/b", "../" + t.uniq, "."]:
        r = t.rt("create", "--bundle", b.dir, bad)
        if t.errors(r, f"create with id {bad!r}"):
            continue
        t.rt("delete", "--force", bad)


@case("create_missing_rootfs", "config.md#root")
def _(t):
    b = t.bundle()
    b.config["root"]["path"] = "nosuchdir"
    cid = t.id()
    r = t.create(b, cid)
    t.errors(r, "create with a root.path that does not exist")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("create_invalid_json", "runtime.md#create")
def _(t):
    b = t.bundle()
    b.write(raw='{"ociVersion": "1.0.2", "process": {')
    cid = t.id()
    r = t.create(b, cid, write=False)
    t.errors(r, "create with a config.json that is not JSON")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("create_missing_bundle", "runtime.md#create")
def _(t):
    cid = t.id()
    r = t.rt("create", "--bundle", t.path("nosuchbundle"), cid)
    t.errors(r, "create with a bundle dir that does not exist")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("start_without_process", "runtime.md#start")
def _(t):
    """`start` MUST generate an error if process was not set (create may refuse it already)."""
    b = t.bundle()
    del b.config["process"]
    cid = t.id()
    r = t.create(b, cid)
    if r.rc == 0:
        t.errors(t.rt("start", cid), "start of a container without process")
    t.note(f"create: exit {r.rc}")


@case("start_not_created", "runtime.md#start")
def _(t):
    """start of a running or a stopped container is an error and has no effect."""
    b = t.bundle()
    b.sh("echo x >> /starts; while [ ! -e /go ]; do sleep 0.05; done")
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    t.check(t.wait_file(os.path.join(b.rootfs, "starts")), "the program did not run")
    pid = t.state(cid)["pid"]
    t.errors(t.rt("start", cid), "start of a running container")
    s = t.state(cid)
    t.check(s["status"] == "running" and s["pid"] == pid, f"start changed a running container: {s}")
    open(os.path.join(b.rootfs, "go"), "w").close()
    t.wait_status(cid, "stopped")
    t.errors(t.rt("start", cid), "start of a stopped container")
    t.eq(t.status(cid), "stopped", "status after the refused start")
    time.sleep(0.2)
    t.eq(t.read(b.rootfs, "starts"), "x\n", "program runs (a second start ran it again?)")
    t.errors(t.rt("start"), "start without an id")
    t.errors(t.rt("start", t.id("nosuch")), "start of a container that does not exist")


@case("kill_created", "runtime.md#kill")
def _(t):
    b = t.bundle()
    long_running(b)
    cid = t.id()
    t.must_create(b, cid)
    pid = t.state(cid)["pid"]
    t.succeeds(t.rt("kill", cid, "KILL"), "kill of a created container")
    t.wait_status(cid, "stopped")
    t.check(not alive(pid), "the container process is still alive")
    t.check(not os.path.exists(os.path.join(b.rootfs, "ran")), "the program ran")


@case("kill_running_signal", "runtime.md#kill")
def _(t):
    """The signal reaches the container process (pid 1 of its pid namespace, with a handler)."""
    b = t.bundle()
    b.sh("trap 'echo USR1 > /got; exit 0' USR1; touch /ready; while :; do sleep 0.05; done")
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    t.require(t.wait_file(os.path.join(b.rootfs, "ready")), "the program did not start")
    t.succeeds(t.rt("kill", cid, "USR1"), "kill USR1")
    t.check(t.wait_file(os.path.join(b.rootfs, "got")), "the container did not get SIGUSR1")
    t.wait_status(cid, "stopped")
    # By number too.
    b2 = t.bundle("b2")
    b2.sh("trap 'echo TERM > /got; exit 0' TERM; touch /ready; while :; do sleep 0.05; done")
    c2 = t.id("c2")
    t.must_create(b2, c2)
    t.must("start", c2)
    t.require(t.wait_file(os.path.join(b2.rootfs, "ready")), "the program did not start")
    t.succeeds(t.rt("kill", c2, "15"), "kill 15")
    t.check(t.wait_file(os.path.join(b2.rootfs, "got")), "the container did not get signal 15")


@case("kill_default_signal", "runtime.md#kill", "EXTRA")
def _(t):
    """runc's command line: kill without a signal sends SIGTERM."""
    b = t.bundle()
    b.sh("trap 'echo TERM > /got; exit 0' TERM; touch /ready; while :; do sleep 0.05; done")
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    t.require(t.wait_file(os.path.join(b.rootfs, "ready")), "the program did not start")
    t.succeeds(t.rt("kill", cid), "kill")
    t.check(t.wait_file(os.path.join(b.rootfs, "got")), "the container did not get SIGTERM")


@case("kill_stopped", "runtime.md#kill")
def _(t):
    b = t.bundle()
    b.checker("--exit", "0")
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    t.wait_status(cid, "stopped")
    t.errors(t.rt("kill", cid, "KILL"), "kill of a stopped container")
    t.eq(t.status(cid), "stopped", "status after the refused kill")
    t.errors(t.rt("kill"), "kill without an id")
    t.errors(t.rt("kill", t.id("nosuch"), "KILL"), "kill of a container that does not exist")


@case("delete_running", "runtime.md#delete")
def _(t):
    b = t.bundle()
    long_running(b)
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    pid = t.state(cid)["pid"]
    t.errors(t.rt("delete", cid), "delete of a running container")
    t.eq(t.status(cid), "running", "status after the refused delete")
    t.check(alive(pid), "the container process died")


@case("delete_created", "runtime.md#delete")
def _(t):
    """The spec: delete of a container that is not stopped MUST fail and have no effect, created
    included (runc and crun delete a created container: a known divergence)."""
    b = t.bundle()
    long_running(b)
    cid = t.id()
    t.must_create(b, cid)
    pid = t.state(cid)["pid"]
    t.errors(t.rt("delete", cid), "delete of a created container")
    t.eq(t.status(cid), "created", "status after the refused delete")
    t.check(alive(pid), "the container process died")


@case("delete_stopped", "runtime.md#delete")
def _(t):
    """delete removes the container, its cgroup and its state; the id can be used again."""
    b = t.bundle()
    b.sh("while [ ! -e /go ]; do sleep 0.05; done")
    cid = t.id()
    t.must_create(b, cid)
    pid = t.state(cid)["pid"]
    cgdirs = [d for d in (t.host_cgroup_dir(pid, c) for c in ("memory", "pids", "cpu", "")) if d]
    t.must("start", cid)
    open(os.path.join(b.rootfs, "go"), "w").close()
    t.wait_status(cid, "stopped")
    t.succeeds(t.rt("delete", cid), "delete of a stopped container")
    t.check(t.state(cid) is None, "state succeeds after delete")
    for d in cgdirs:
        t.check(not os.path.isdir(d) or d.endswith(("/", "/unified")), f"cgroup {d} left after delete")
    t.check(os.path.isdir(b.rootfs) and os.path.exists(os.path.join(b.rootfs, "checker")),
            "delete removed the bundle (not created by the runtime)")
    t.must_create(b, cid)
    t.eq(t.status(cid), "created", "a new container with the id of a deleted one")
    t.errors(t.rt("delete"), "delete without an id")
    t.errors(t.rt("delete", t.id("nosuch")), "delete of a container that does not exist")


@case("delete_force_running", "runtime.md#delete", "EXTRA")
def _(t):
    """runc's `delete --force`: a running container is killed and removed, leaving nothing."""
    b = t.bundle()
    long_running(b)
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    pid = t.state(cid)["pid"]
    t.succeeds(t.rt("delete", "--force", cid), "delete --force of a running container")
    t.check(t.state(cid) is None, "the container still exists")
    t.check(not alive(pid), "the container process is still alive")


@case("config_change_after_create", "runtime.md#lifecycle")
def _(t):
    """Updates to config.json after create MUST NOT affect the container."""
    b = t.bundle()
    b.sh("echo original > /which")
    cid = t.id()
    t.must_create(b, cid)
    b.sh("echo changed > /which")
    b.process["env"].append("CHANGED=1")
    b.write()
    t.must("start", cid)
    t.check(t.wait_file(os.path.join(b.rootfs, "which")), "the program did not run")
    time.sleep(0.1)
    t.eq((t.read(b.rootfs, "which") or "").strip(), "original", "program that ran")


@case("pid_file", "runtime.md#create", "EXTRA")
def _(t):
    """runc's --pid-file: the container process's pid, as in state."""
    b = t.bundle()
    long_running(b)
    cid = t.id()
    pf = t.path("pidfile")
    t.must_create(b, cid, "--pid-file", pf)
    s = t.state(cid)
    t.eq((t.read("pidfile") or "").strip(), str(s["pid"]), "pid file content")


@case("run_exit_status", "runtime.md#lifecycle", "EXTRA")
def _(t):
    """runc's `run`: the runtime exits with the container's exit status; deletes nothing else."""
    b = t.bundle()
    b.checker("--exit", "7")
    r = t.run(b)
    t.eq(r.rc, 7, f"exit status of run (stderr {r.err.strip()[:200]!r})")


@case("unknown_properties_ignored", "config.md#extensibility")
def _(t):
    """Runtimes MUST ignore unknown properties (top level, in process, in linux)."""
    b = t.bundle()
    b.config["org.example.unknown"] = {"a": 1}
    b.process["org.example.unknown"] = True
    b.linux["org.example.unknown"] = [1, 2]
    rep = t.check_run(b, "--print", "ran")
    t.eq(rep.get("print"), "ran", "the program's output")


@case("unsupported_value_error", "config.md#valid-values")
def _(t):
    """Runtimes MUST generate an error when invalid or unsupported values are encountered."""
    for what, edit in [
        ("namespace type 'foo'", lambda b: b.linux["namespaces"].append({"type": "foo"})),
        ("rlimit type RLIMIT_FOO", lambda b: b.process["rlimits"].append({"type": "RLIMIT_FOO", "soft": 1, "hard": 1})),
        ("mount type 'nosuchfs'", lambda b: b.mount("/mnt", "nosuchfs", "none")),
    ]:
        b = t.bundle("b" + str(len(t.ids)))
        edit(b)
        cid = t.id(str(len(t.ids)))
        r = t.create(b, cid)
        t.errors(r, f"create with {what}")
