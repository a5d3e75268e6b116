"""config-linux.md: namespaces (new, inherited, joined by path), user namespace mappings, time
offsets, sysctl, personality; config.md hostname and domainname."""

import os
import signal
import subprocess
import time

from conform import case, host_ns

NS_FILES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup",
            "user": "user", "time": "time"}


@case("ns_new", "config-linux.md#namespaces")
def _(t):
    """Each listed namespace without a path is a new one; pid 1 in a new pid namespace."""
    b = t.bundle()
    for ns in ("pid", "network", "ipc", "uts", "mount", "cgroup"):
        b.ns(ns)
    rep = t.check_run(b)
    for ns in ("pid", "network", "ipc", "uts", "mount", "cgroup"):
        f = NS_FILES[ns]
        got = rep.ns(f)
        t.check(got and got != host_ns(f), f"{ns}: {got}, the runtime's is {host_ns(f)}")
    t.eq(rep.get("pid"), "1", "pid in the new pid namespace")


@case("ns_inherit", "config-linux.md#namespaces")
def _(t):
    """A namespace type not listed is the runtime's."""
    b = t.bundle()
    for ns in ("pid", "network", "ipc", "uts", "cgroup"):
        b.ns(ns, remove=True)
    b.config.pop("hostname", None)
    rep = t.check_run(b)
    for ns in ("pid", "network", "ipc", "uts", "cgroup", "user"):
        f = NS_FILES[ns]
        t.eq(rep.ns(f), host_ns(f), f"{ns} namespace")
    t.check(rep.ns("mnt") != host_ns("mnt"), "the mount namespace is the runtime's")


def ns_holder(t):
    """A process in new net, ipc, uts, cgroup and pid namespaces; returns its pid."""
    p = subprocess.Popen(["unshare", "--net", "--ipc", "--uts", "--cgroup", "--pid", "--fork", "--kill-child",
                          "sleep", "600"], cwd="/", stdin=subprocess.DEVNULL, start_new_session=True)

    def stop():
        p.kill()
        p.wait()

    t.on_cleanup(stop)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                kids = f.read().split()
            if kids and os.readlink(f"/proc/{kids[0]}/ns/pid") != host_ns("pid"):
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.02)
    t.skip("could not start an `unshare` namespace holder")


@case("ns_join_path", "config-linux.md#namespaces")
def _(t):
    """A namespace with a path: the container process is placed in that namespace."""
    holder = ns_holder(t)
    b = t.bundle()
    b.config.pop("hostname", None)
    types = ("network", "ipc", "uts", "cgroup", "pid")
    for ns in types:
        b.ns(ns, path=f"/proc/{holder}/ns/{NS_FILES[ns]}")
    rep = t.check_run(b)
    for ns in types:
        f = NS_FILES[ns]
        t.eq(rep.ns(f), os.readlink(f"/proc/{holder}/ns/{f}"), f"{ns} namespace (joined by path)")
    t.check(rep.get("pid") not in ("1", None), f"pid {rep.get('pid')} in a joined pid namespace that has an init")


@case("ns_path_wrong_type", "config-linux.md#namespaces")
def _(t):
    """A path that is not a namespace of that type MUST be an error."""
    holder = ns_holder(t)
    b = t.bundle()
    b.ns("network", path=f"/proc/{holder}/ns/ipc")
    cid = t.id()
    t.errors(t.create(b, cid), "create with an ipc namespace path for the network namespace")
    t.check(t.state(cid) is None, "a container exists after the failed create")
    b2 = t.bundle("b2")
    b2.ns("ipc", path=t.path("b2", "config.json"))
    c2 = t.id("c2")
    t.errors(t.create(b2, c2), "create with a regular file as the ipc namespace path")


@case("ns_duplicate", "config-linux.md#namespaces")
def _(t):
    b = t.bundle()
    b.linux["namespaces"].append({"type": "network"})
    cid = t.id()
    t.errors(t.create(b, cid), "create with the network namespace listed twice")
    t.check(t.state(cid) is None, "a container exists after the failed create")


def userns_bundle(t, name="b"):
    b = t.bundle(name)
    b.ns("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    # The cgroup hierarchies of the runtime's namespace cannot be mounted from a user namespace.
    b.config["mounts"] = [m for m in b.config["mounts"] if m["type"] != "cgroup"]
    return b


@case("ns_user_mappings", "config-linux.md#user-namespace-mappings")
def _(t):
    b = userns_bundle(t)
    rep = t.check_run(b)
    t.check(rep.ns("user") != host_ns("user"), "the user namespace is the runtime's")
    t.eq([" ".join(l.split()) for l in rep.all("uid_map")], ["0 100000 65536"], "uid_map")
    t.eq([" ".join(l.split()) for l in rep.all("gid_map")], ["0 200000 65536"], "gid_map")
    t.eq((rep.get("uid"), rep.get("gid")), ("0", "0"), "uid and gid in the container")
    t.eq(rep.caps("Eff"), sorted(b.process["capabilities"]["effective"]), "CapEff in the user namespace")


@case("ns_user_nonroot", "config-linux.md#user-namespace-mappings")
def _(t):
    """process.user is in the container's id space: uid 1000 in the container is host 101000."""
    b = userns_bundle(t)
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5]}
    b.sh("/checker --report; sleep 600")
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    pid = t.state(cid)["pid"]
    end = time.monotonic() + 5
    status = ""
    while time.monotonic() < end and "Uid" not in status:
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            break
        time.sleep(0.05)
    line = {l.split(":")[0]: l.split(":", 1)[1].split() for l in status.splitlines() if ":" in l}
    t.eq(line.get("Uid", [None])[0], "101000", "host uid of the container process")
    t.eq(line.get("Gid", [None])[0], "201000", "host gid of the container process")


@case("ns_time_offsets", "config-linux.md#offset-for-time-namespace")
def _(t):
    b = t.bundle()
    b.ns("time")
    b.linux["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 3600, "nanosecs": 5}}
    rep = t.check_run(b)
    t.check(rep.ns("time") != host_ns("time"), "the time namespace is the runtime's")
    offs = {l.split()[0]: l.split()[1:] for l in rep.all("timens_offsets")}
    t.eq(offs.get("monotonic"), ["86400", "0"], "monotonic offset")
    t.eq(offs.get("boottime"), ["3600", "5"], "boottime offset")


@case("hostname_domainname", "config.md#hostname")
def _(t):
    b = t.bundle()
    b.config["hostname"] = "conf-host"
    b.config["domainname"] = "conf.example"
    rep = t.check_run(b)
    t.eq(rep.get("hostname"), "conf-host", "hostname")
    t.eq(rep.get("domainname"), "conf.example", "domainname")
    t.check(os.uname().nodename != "conf-host", "the host's hostname changed")


@case("sysctl", "config-linux.md#sysctl")
def _(t):
    b = t.bundle()
    want = {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "1234", "kernel.shmmax": "12345678",
            "kernel.msgmax": "4096"}
    b.linux["sysctl"] = want
    rep = t.check_run(b, *[a for k in want for a in ("--sysctl", k)])
    for k, v in want.items():
        t.eq(rep.one("sysctl", k), v, k)
    with open("/proc/sys/kernel/shmmax") as f:
        t.check(f.read().strip() != "12345678", "the host's kernel.shmmax changed")


@case("personality", "config-linux.md#personality")
def _(t):
    b = t.bundle()
    b.linux["personality"] = {"domain": "LINUX32"}
    rep = t.check_run(b)
    t.eq(rep.get("personality"), "0x8", "personality(0xffffffff) (PER_LINUX32)")


@case("intel_rdt_without_resctrl", "config-linux.md#intelrdt")
def _(t):
    """intelRdt set and no resctrl filesystem mounted: the runtime MUST generate an error."""
    with open("/proc/self/mountinfo") as f:
        if any(" - resctrl " in l for l in f):
            t.skip("resctrl is mounted on this machine")
    b = t.bundle()
    b.linux["intelRdt"] = {"closID": "conformance", "l3CacheSchema": "L3:0=f"}
    cid = t.id()
    t.errors(t.create(b, cid), "create with intelRdt and no resctrl mounted")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("net_devices", "config-linux.md#network-devices")
def _(t):
    """netDevices: a host interface moved into the container's network namespace, renamed (spec 1.2)."""
    import shutil
    if not shutil.which("ip"):
        t.skip("no `ip` command to make a dummy interface")
    host_if = "cf" + t.uniq[-9:].replace("-", "")
    peer = host_if + "p"
    r = subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer], capture_output=True, text=True)
    if r.returncode != 0:
        t.skip(f"cannot create a veth pair: {r.stderr.strip()}")
    t.on_cleanup(lambda: subprocess.run(["ip", "link", "del", peer], capture_output=True))
    b = t.bundle()
    b.linux["netDevices"] = {host_if: {"name": "conf0"}}
    rep = t.check_run(b, "--cat", "/proc/net/dev")
    dev = rep.get("cat", "")
    t.check("conf0:" in dev, f"no conf0 in the container's /proc/net/dev: {dev[:300]}")
