"""config-linux.md#control-groups: cgroupsPath and resources, read on the host from the container
process's cgroup after `create` (resources are applied by create).

Where this machine lacks what a setting needs (a v1 controller not mounted, a file the kernel does
not have), the spec still decides: the runtime MUST apply the setting or generate an error, so
such a case passes when create fails and fails when the setting is silently dropped."""

import os
import time

from conform import case, cgroup_mounts, v1_mount, v2_mount


def created(t, b, cid=None):
    b.sh("exec sleep 600")
    cid = cid or t.id()
    r = t.create(b, cid)
    if r.rc != 0:
        return r, None
    return r, t.state(cid)["pid"]


def cgfile(t, pid, controller, name):
    d = t.host_cgroup_dir(pid, controller)
    if not d:
        return None
    try:
        with open(os.path.join(d, name)) as f:
            return f.read().strip()
    except OSError as e:
        return f"<{e.strerror}>"


@case("cgroups_path", "config-linux.md#cgroups-path")
def _(t):
    """An absolute cgroupsPath is relative to each hierarchy's mount point."""
    b = t.bundle()
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    want = b.linux["cgroupsPath"]
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    for hid, ctrls, path in lines:
        if any(c in ctrls.split(",") for c in ("memory", "pids", "cpu", "devices", "blkio", "cpuset", "freezer")):
            t.eq(path, want, f"cgroup of {ctrls}")
        else:
            t.note(f"{hid}:{ctrls}: {path}")
    for c in ("memory", "pids"):
        mp = v1_mount(c)
        if mp:
            t.check(os.path.isdir(mp + want), f"{mp + want} does not exist")


@case("cgroups_relative_path", "config-linux.md#cgroups-path")
def _(t):
    """A relative cgroupsPath: a runtime-chosen place ending with that path; removed by delete."""
    b = t.bundle()
    top = f"conformance-rel-{t.uniq}"
    rel = f"{top}/ct"
    b.linux["cgroupsPath"] = rel
    cid = t.id()
    parents = set()

    def remove_parents():
        for p in parents:
            try:
                os.rmdir(p)
            except OSError:
                pass

    t.on_cleanup(remove_parents)
    r, pid = created(t, b, cid)
    t.refused_unless(pid, r)
    dirs = []
    mounts = cgroup_mounts()
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            for mp, (fs, opts) in mounts.items():
                if (hid == "0" and fs == "cgroup2") or (fs == "cgroup" and set(ctrls.split(",")) <= set(opts) and ctrls):
                    d = mp + path
                    if path.endswith("/" + rel):
                        dirs.append(d)
                        parents.add(os.path.dirname(d))
    for c in ("memory", "pids"):
        d = t.host_cgroup_dir(pid, c)
        t.check(d and d.endswith("/" + rel), f"{c} cgroup {d} does not end with {rel}")
    t.must("delete", "--force", cid)
    for d in dirs:
        t.check(not os.path.isdir(d), f"{d} left after delete")


@case("cgroups_memory", "config-linux.md#memory")
def _(t):
    mp = v1_mount("memory")
    if not mp:
        t.skip("no cgroup v1 memory hierarchy")
    b = t.bundle()
    mem = {"limit": 64 << 20, "reservation": 32 << 20}
    has_swap = os.path.exists(os.path.join(mp, "memory.memsw.limit_in_bytes"))
    if has_swap:
        mem["swap"] = 128 << 20
    b.linux["resources"]["memory"] = mem
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    t.eq(cgfile(t, pid, "memory", "memory.limit_in_bytes"), str(64 << 20), "memory.limit_in_bytes")
    t.eq(cgfile(t, pid, "memory", "memory.soft_limit_in_bytes"), str(32 << 20), "memory.soft_limit_in_bytes")
    if has_swap:
        t.eq(cgfile(t, pid, "memory", "memory.memsw.limit_in_bytes"), str(128 << 20), "memory.memsw.limit_in_bytes")
    else:
        t.note("no memory.memsw.* (swap accounting off): swap not tested")


@case("cgroups_memory_swappiness", "config-linux.md#memory")
def _(t):
    if not v1_mount("memory"):
        t.skip("no cgroup v1 memory hierarchy")
    b = t.bundle()
    b.linux["resources"]["memory"] = {"swappiness": 10}
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    t.eq(cgfile(t, pid, "memory", "memory.swappiness"), "10", "memory.swappiness")


@case("cgroups_memory_oom_killer", "config-linux.md#memory")
def _(t):
    if not v1_mount("memory"):
        t.skip("no cgroup v1 memory hierarchy")
    b = t.bundle()
    b.linux["resources"]["memory"] = {"limit": 64 << 20, "disableOOMKiller": True}
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    oom = cgfile(t, pid, "memory", "memory.oom_control") or ""
    t.check("oom_kill_disable 1" in oom, f"memory.oom_control: {oom!r}")


@case("cgroups_cpu", "config-linux.md#cpu")
def _(t):
    if not v1_mount("cpu"):
        t.skip("no cgroup v1 cpu hierarchy")
    b = t.bundle()
    b.linux["resources"]["cpu"] = {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    t.eq(cgfile(t, pid, "cpu", "cpu.shares"), "512", "cpu.shares")
    t.eq(cgfile(t, pid, "cpu", "cpu.cfs_quota_us"), "50000", "cpu.cfs_quota_us")
    t.eq(cgfile(t, pid, "cpu", "cpu.cfs_period_us"), "100000", "cpu.cfs_period_us")
    t.eq(cgfile(t, pid, "cpuset", "cpuset.cpus"), "0", "cpuset.cpus")
    t.eq(cgfile(t, pid, "cpuset", "cpuset.mems"), "0", "cpuset.mems")


@case("cgroups_cpuset_effective", "config-linux.md#cpu", "EXTRA")
def _(t):
    """cpus "0": the container process may run on CPU 0 only."""
    b = t.bundle()
    b.linux["resources"]["cpu"] = {"cpus": "0"}
    rep = t.check_run(b)
    t.eq(rep.get("status.Cpus_allowed_list"), "0", "Cpus_allowed_list")


@case("cgroups_pids", "config-linux.md#pids")
def _(t):
    b = t.bundle()
    b.linux["resources"]["pids"] = {"limit": 42}
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    t.eq(cgfile(t, pid, "pids", "pids.max"), "42", "pids.max")


@case("cgroups_pids_zero", "config-linux.md#pids", "SHOULD")
def _(t):
    """pids.limit 0 is a valid limit and SHOULD be treated as such (not as 'no limit')."""
    b = t.bundle()
    b.linux["resources"]["pids"] = {"limit": 0}
    r, pid = created(t, b)
    if not pid:
        t.note(f"create failed: {r.brief()}")
        return
    t.eq(cgfile(t, pid, "pids", "pids.max"), "0", "pids.max")


@case("cgroups_blkio_throttle", "config-linux.md#block-io")
def _(t):
    mp = v1_mount("blkio")
    if not mp or not os.path.exists(os.path.join(mp, "blkio.throttle.read_bps_device")):
        t.skip("no cgroup v1 blkio hierarchy with throttling")
    dev = None
    for name in sorted(os.listdir("/sys/block")):
        if not name.startswith(("loop", "zram", "ram")):
            with open(f"/sys/block/{name}/dev") as f:
                dev = tuple(int(x) for x in f.read().strip().split(":"))
            break
    if not dev:
        t.skip("no disk in /sys/block to throttle")
    b = t.bundle()
    b.linux["resources"]["blockIO"] = {
        "throttleReadBpsDevice": [{"major": dev[0], "minor": dev[1], "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": dev[0], "minor": dev[1], "rate": 300}],
    }
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    t.eq(cgfile(t, pid, "blkio", "blkio.throttle.read_bps_device"), f"{dev[0]}:{dev[1]} 1048576", "read_bps_device")
    t.eq(cgfile(t, pid, "blkio", "blkio.throttle.write_iops_device"), f"{dev[0]}:{dev[1]} 300", "write_iops_device")


def applied_or_error(t, b, check):
    """Create: an error passes (the runtime says it cannot apply the setting); success must show
    the setting applied (check returns a failure message or None)."""
    r, pid = created(t, b)
    if not pid:
        t.note(f"create refused it: {r.brief()}")
        return
    msg = check(pid)
    if msg:
        t.fail(f"create succeeded but the setting is not applied: {msg}")


@case("cgroups_blkio_weight", "config-linux.md#block-io")
def _(t):
    b = t.bundle()
    b.linux["resources"]["blockIO"] = {"weight": 500}

    def check(pid):
        d = t.host_cgroup_dir(pid, "blkio")
        for f in ("blkio.weight", "blkio.bfq.weight"):
            p = os.path.join(d or "/nonexistent", f)
            if os.path.exists(p):
                v = open(p).read().split()
                return None if "500" in v else f"{f} = {v}"
        return "no blkio.weight or blkio.bfq.weight file in the container's blkio cgroup"

    applied_or_error(t, b, check)


@case("cgroups_hugetlb", "config-linux.md#huge-page-limits")
def _(t):
    if not os.path.isdir("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        t.skip("no 2MB huge pages on this kernel")
    b = t.bundle()
    b.linux["resources"]["hugepageLimits"] = [{"pageSize": "2MB", "limit": 8 << 20}]

    def check(pid):
        for ctrl, f in (("hugetlb", "hugetlb.2MB.limit_in_bytes"), ("", "hugetlb.2MB.max")):
            d = t.host_cgroup_dir(pid, ctrl)
            if d and os.path.exists(os.path.join(d, f)):
                v = open(os.path.join(d, f)).read().strip()
                if v == str(8 << 20):
                    return None
        where = [(c, t.host_cgroup_dir(pid, c)) for c in ("hugetlb", "")]
        return f"no hugetlb.2MB limit of {8 << 20} in the container's cgroups {where}"

    applied_or_error(t, b, check)


@case("cgroups_network", "config-linux.md#network")
def _(t):
    b = t.bundle()
    b.linux["resources"]["network"] = {"classID": 1048577, "priorities": [{"name": "lo", "priority": 2}]}

    def check(pid):
        d = t.host_cgroup_dir(pid, "net_cls")
        if not d:
            return "no net_cls hierarchy for the container (net_cls is not mounted on this machine)"
        v = open(os.path.join(d, "net_cls.classid")).read().strip()
        return None if v == "1048577" else f"net_cls.classid {v}"

    applied_or_error(t, b, check)


@case("cgroups_unified_on_v1", "config-linux.md#unified")
def _(t):
    """unified with a controller the cgroup2 hierarchy does not have (pids is on v1 here): the
    runtime MUST generate an error."""
    v2 = v2_mount()
    if v2:
        try:
            ctrls = open(os.path.join(v2, "cgroup.controllers")).read().split()
        except OSError:
            ctrls = []
        if "pids" in ctrls:
            t.skip("the cgroup2 hierarchy has the pids controller")
    b = t.bundle()
    b.linux["resources"]["unified"] = {"pids.max": "10"}
    r, pid = created(t, b)
    t.check(pid is None, "create succeeded with unified pids.max and no pids controller on cgroup2 "
                         f"(v1 pids.max: {pid and cgfile(t, pid, 'pids', 'pids.max')})")


@case("cgroups_devices_list", "config-linux.md#allowed-device-list")
def _(t):
    """The v1 devices cgroup holds the configured rules (deny all, then the allowed ones)."""
    if not v1_mount("devices"):
        t.skip("no cgroup v1 devices hierarchy")
    b = t.bundle()
    b.linux["resources"]["devices"] = [{"allow": False, "access": "rwm"},
                                       {"allow": True, "type": "c", "major": 99, "minor": 99, "access": "rw"}]
    r, pid = created(t, b)
    t.refused_unless(pid, r)
    lst = (cgfile(t, pid, "devices", "devices.list") or "").splitlines()
    t.check("c 99:99 rw" in lst, f"devices.list lacks 'c 99:99 rw': {lst}")
    t.check("a *:* rwm" not in lst, f"devices.list allows everything: {lst}")
