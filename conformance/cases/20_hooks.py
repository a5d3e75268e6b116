"""config.md#posix-platform-hooks and the hook steps of runtime.md#lifecycle.

Every hook is one shell script in the case dir, which is bind-mounted into the container at the
same path so that the script resolves in the runtime namespace and in the container namespace
alike. A hook logs its name to `order`, its stdin to `state-NAME`, its mount namespace to
`mnt-NAME`, its arguments and environment, then exits with HOOK_EXIT (default 0)."""

import json
import os
import time

from conform import case, host_ns

KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
HOOK_ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]


def hook_setup(t, b, program=None):
    d = t.share_dir(b)
    script = t.hook_script("hook.sh", f"""n="$1"
cat > {d}/state-$n
readlink /proc/self/ns/mnt > {d}/mnt-$n
echo "$@" > {d}/args-$n
env > {d}/env-$n
echo "$n" >> {d}/order
[ -n "$HOOK_SLEEP" ] && exec sleep "$HOOK_SLEEP"
exit ${{HOOK_EXIT:-0}}""")
    b.config["hooks"] = {}
    b.sh(program or f"echo program >> {d}/order; exec sleep 600")
    return script


def add_hook(b, script, kind, name=None, env=(), **extra):
    h = {"path": script, "args": ["hook.sh", name or kind], "env": HOOK_ENV + list(env)}
    h.update(extra)
    b.config["hooks"].setdefault(kind, []).append(h)


def order(t):
    return (t.read("order") or "").split()


def all_hooks_lifecycle(t):
    """Create, start, stop and delete a container with every kind of hook (two prestart hooks)."""
    b = t.bundle()
    script = hook_setup(t, b)
    b.config["annotations"] = {"org.example.hook": "yes"}
    for k in KINDS:
        add_hook(b, script, k)
        if k == "prestart":
            add_hook(b, script, k, "prestart2")
    cid = t.id()
    t.must_create(b, cid)
    info = {"cid": cid, "b": b, "created": order(t), "pid": t.state(cid)["pid"]}
    info["ct_mnt"] = os.readlink(f"/proc/{info['pid']}/ns/mnt")
    t.must("start", cid)
    info["started"] = order(t)
    t.must("kill", cid, "KILL")
    t.wait_status(cid, "stopped")
    info["stopped"] = order(t)
    t.must("delete", cid)
    info["deleted"] = order(t)
    return info


@case("hooks_order", "config.md#posix-platform-hooks")
def _(t):
    i = all_hooks_lifecycle(t)
    t.eq(i["created"], ["prestart", "prestart2", "createRuntime", "createContainer"], "hooks run by create")
    started = i["started"][4:]
    hooks = [h for h in started if h != "program"]
    t.eq(hooks, ["startContainer", "poststart"], "hooks run by start")
    if "program" in started:
        t.check(started.index("program") > started.index("startContainer"),
                f"the program ran before the startContainer hook: {started}")
    else:
        t.fail(f"the program did not run (log {started})")
    t.eq(i["stopped"], i["started"], "hooks run when the container stopped (none expected)")
    t.eq(i["deleted"][len(i["stopped"]):], ["poststop"], "hooks run by delete")


@case("hooks_state_stdin", "config.md#posix-platform-hooks")
def _(t):
    """The state on each hook's stdin: id, bundle, annotations, pid, and a status that matches
    the lifecycle step."""
    i = all_hooks_lifecycle(t)
    want_status = {"prestart": ("creating", "created"), "createRuntime": ("creating", "created"),
                   "createContainer": ("creating", "created"), "startContainer": ("created",),
                   "poststart": ("running",), "poststop": ("stopped",)}
    for k in KINDS:
        raw = t.read(f"state-{k}")
        if not t.check(raw, f"{k}: no state on stdin"):
            continue
        try:
            s = json.loads(raw)
        except ValueError:
            t.fail(f"{k}: stdin is not JSON: {raw[:200]!r}")
            continue
        t.eq(s.get("id"), i["cid"], f"{k}: id")
        t.eq(s.get("bundle"), i["b"].dir, f"{k}: bundle")
        t.check(s.get("ociVersion"), f"{k}: no ociVersion")
        t.eq(s.get("annotations"), {"org.example.hook": "yes"}, f"{k}: annotations")
        t.check(s.get("status") in want_status[k], f"{k}: status {s.get('status')!r}, expected {' or '.join(want_status[k])}")
        if k in ("prestart", "createRuntime", "poststart"):
            t.eq(s.get("pid"), i["pid"], f"{k}: pid (as seen by the runtime)")
        elif k in ("createContainer", "startContainer"):
            t.check(isinstance(s.get("pid"), int) and s["pid"] > 0, f"{k}: pid {s.get('pid')!r}")


@case("hooks_namespaces", "config.md#posix-platform-hooks")
def _(t):
    """prestart, createRuntime, poststart and poststop run in the runtime namespace;
    createContainer and startContainer in the container namespace."""
    i = all_hooks_lifecycle(t)
    host = host_ns("mnt")
    for k in KINDS:
        got = (t.read(f"mnt-{k}") or "").strip()
        want = i["ct_mnt"] if k in ("createContainer", "startContainer") else host
        where = "container" if want == i["ct_mnt"] else "runtime"
        t.check(got == want, f"{k}: mount namespace {got or 'none'}, expected the {where}'s {want}")


@case("hooks_args_env", "config.md#posix-platform-hooks")
def _(t):
    b = t.bundle()
    script = hook_setup(t, b)
    b.config["hooks"]["prestart"] = [{"path": script, "args": ["hook.sh", "prestart", "a b", "--c"],
                                      "env": HOOK_ENV + ["FOO=bar baz", "EMPTY="]}]
    t.must_create(b, t.id())
    t.eq((t.read("args-prestart") or "").strip(), "prestart a b --c", "hook arguments")
    env = dict(l.split("=", 1) for l in (t.read("env-prestart") or "").splitlines() if "=" in l)
    t.eq(env.get("FOO"), "bar baz", "FOO in the hook's environment")
    t.eq(env.get("EMPTY"), "", "EMPTY in the hook's environment")


def failing_hook_case(t, kind):
    """A failing hook of this kind: the operation errors, the program does not run (or the
    container is stopped) and the rest of the lifecycle is undone."""
    b = t.bundle()
    script = hook_setup(t, b, program=f"echo program >> {t.dir}/order; exec sleep 600")
    for k in KINDS:
        add_hook(b, script, k, env=["HOOK_EXIT=3"] if k == kind else [])
    cid = t.id()
    r = t.create(b, cid)
    if kind in ("prestart", "createRuntime", "createContainer"):
        t.errors(r, f"create with a failing {kind} hook")
        st = t.status(cid)
        t.check(st in (None, "stopped"), f"a failed create left a container in status {st!r}")
        t.check("program" not in order(t), "the program ran")
        return b, cid, st
    t.refused_unless(r.rc == 0, r)
    s = t.rt("start", cid)
    t.errors(s, f"start with a failing {kind} hook")
    if kind == "startContainer":
        time.sleep(0.2)
        t.check("program" not in order(t), f"the program ran after the startContainer hook failed: {order(t)}")
    # "stop the container": it must not go on running.
    end = time.monotonic() + 5
    st = t.status(cid)
    while st == "running" and time.monotonic() < end:
        time.sleep(0.05)
        st = t.status(cid)
    t.check(st in (None, "stopped"), f"after the failed start the container is {st!r}, expected stopped (or gone)")
    return b, cid, st


@case("hooks_prestart_fail", "runtime.md#lifecycle")
def _(t):
    failing_hook_case(t, "prestart")


@case("hooks_createRuntime_fail", "runtime.md#lifecycle")
def _(t):
    failing_hook_case(t, "createRuntime")


@case("hooks_createContainer_fail", "runtime.md#lifecycle")
def _(t):
    failing_hook_case(t, "createContainer")


@case("hooks_startContainer_fail", "runtime.md#lifecycle")
def _(t):
    failing_hook_case(t, "startContainer")


@case("hooks_poststart_fail", "runtime.md#lifecycle")
def _(t):
    failing_hook_case(t, "poststart")


@case("hooks_fail_runs_poststop", "runtime.md#lifecycle")
def _(t):
    """After a failing createRuntime hook the lifecycle continues at step 12: the container is
    destroyed and (step 13) the poststop hooks are invoked."""
    b, cid, st = failing_hook_case(t, "createRuntime")
    if st == "stopped":
        t.rt("delete", cid)
    t.check("poststop" in order(t), f"poststop did not run (hooks run: {order(t)})")


@case("hooks_poststop_fail", "runtime.md#lifecycle")
def _(t):
    """A failing poststop hook is only a warning: delete succeeds and the next poststop hooks run."""
    b = t.bundle()
    script = hook_setup(t, b)
    add_hook(b, script, "poststop", "poststop1", env=["HOOK_EXIT=3"])
    add_hook(b, script, "poststop", "poststop2")
    cid = t.id()
    t.must_create(b, cid)
    t.must("start", cid)
    t.must("kill", cid, "KILL")
    t.wait_status(cid, "stopped")
    t.succeeds(t.rt("delete", cid), "delete with a failing poststop hook")
    t.check(t.state(cid) is None, "the container still exists")
    t.eq([h for h in order(t) if h.startswith("poststop")], ["poststop1", "poststop2"], "poststop hooks run")


@case("hooks_timeout", "config.md#posix-platform-hooks")
def _(t):
    """A hook still running after `timeout` seconds fails (and with it the create)."""
    b = t.bundle()
    script = hook_setup(t, b)
    add_hook(b, script, "createRuntime", env=["HOOK_SLEEP=20"], timeout=1)
    t0 = time.monotonic()
    r = t.create(b, t.id())
    secs = time.monotonic() - t0
    t.errors(r, "create with a hook that outlives its timeout")
    t.check(secs < 10, f"create took {secs:.1f}s with a 1s hook timeout")
