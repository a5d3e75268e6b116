"""config-linux.md#seccomp: the filter is installed and its rules are observed by the checker's
probe syscalls (getppid and getpriority, which nothing between the filter and the program uses)."""

from conform import case

ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def seccomp(b, rules, default="SCMP_ACT_ALLOW", **extra):
    b.linux["seccomp"] = dict({"defaultAction": default, "architectures": ARCHES, "syscalls": rules}, **extra)


@case("seccomp_errno_ret", "config-linux.md#seccomp")
def _(t):
    b = t.bundle()
    seccomp(b, [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}])
    rep = t.check_run(b, "--report", "--syscall", "getppid", "--syscall", "getpriority-process")
    t.eq(rep.get("status.Seccomp"), "2", "Seccomp mode (2: filter)")
    t.eq(rep.one("syscall", "getppid"), "-1 errno=ENOMSG", "getppid under SCMP_ACT_ERRNO errnoRet 42 (ENOMSG)")
    t.eq(rep.one("syscall", "getpriority-process"), "0 errno=0", "getpriority (no rule)")


@case("seccomp_errno_default", "config-linux.md#seccomp")
def _(t):
    """SCMP_ACT_ERRNO without errnoRet: EPERM."""
    b = t.bundle()
    seccomp(b, [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}])
    rep = t.check_run(b, "--syscall", "getppid")
    t.eq(rep.one("syscall", "getppid"), "-1 errno=EPERM", "getppid under SCMP_ACT_ERRNO")


@case("seccomp_args", "config-linux.md#seccomp")
def _(t):
    """A rule with an argument condition: getpriority(PRIO_PGRP, 0) is refused, getpriority(PRIO_PROCESS, 0) is not."""
    b = t.bundle()
    seccomp(b, [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42,
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}])
    rep = t.check_run(b, "--syscall", "getpriority-pgrp", "--syscall", "getpriority-process")
    t.eq(rep.one("syscall", "getpriority-pgrp"), "-1 errno=ENOMSG", "getpriority(PRIO_PGRP)")
    t.eq(rep.one("syscall", "getpriority-process"), "0 errno=0", "getpriority(PRIO_PROCESS)")


@case("seccomp_kill", "config-linux.md#seccomp")
def _(t):
    b = t.bundle()
    seccomp(b, [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}])
    b.checker("--print", "before", "--syscall", "getppid", "--print", "after")
    r = t.run(b)
    t.check("print before" in r.out, f"the checker did not start: {r.brief()}")
    t.check("after" not in r.out, "the process survived a SCMP_ACT_KILL_PROCESS syscall")
    t.check(r.rc != 0, "run exited 0")
    t.note(f"run exit status {r.rc} (128 + SIGSYS = 159 in runc's convention)")


@case("seccomp_invalid_action", "config-linux.md#seccomp")
def _(t):
    b = t.bundle()
    seccomp(b, [{"names": ["getppid"], "action": "SCMP_ACT_NO_SUCH_THING"}])
    cid = t.id()
    t.errors(t.create(b, cid), "create with an unknown seccomp action")
    t.check(t.state(cid) is None, "a container exists after the failed create")


@case("seccomp_errno_on_allow", "config-linux.md#seccomp")
def _(t):
    """errnoRet with an action that does not take an errno: the runtime MUST print an error and fail."""
    b = t.bundle()
    seccomp(b, [{"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}], default="SCMP_ACT_ALLOW")
    cid = t.id()
    t.errors(t.create(b, cid), "create with errnoRet on SCMP_ACT_ALLOW")
