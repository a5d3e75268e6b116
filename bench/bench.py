#!/usr/bin/env python3
"""skiff, runc and crun side by side, interleaved in one run (the machine is noisy: only ratios
from the same run mean anything). Prints medians, spread (p25-p75), ratios, peak RSS, the
100-container series and the scale series; --readme rewrites the results block of README.md.

usage: bench.py [--rounds N] [--batch N] [--batch-rounds N] [--scale 1,10,100,1000]
                [--quick] [--skiff PATH] [--runtimes skiff,runc,crun] [--readme]

Run as root through bench/run.sh, which builds the release binary and enters a private mount
namespace without the cgroup2 mount (crun 1.8 refuses this host's hybrid layout otherwise).

Every command is started by bench/maxrss.c, a small static launcher that reports the command's
wall time (vfork to wait4) and peak RSS, so Python's own start-up cost is in no number.
"""
import argparse, atexit, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=25, help="interleaved rounds of the single-command cases")
ap.add_argument("--batch", type=int, default=100, help="containers per batch (serial, and 2 at a time)")
ap.add_argument("--batch-rounds", type=int, default=3, help="interleaved rounds of the batches")
ap.add_argument("--scale", default="1,10,100,1000", help="containers in the state dir for the scale series ('' to skip)")
ap.add_argument("--scale-samples", type=int, default=5)
ap.add_argument("--quick", action="store_true", help="a quick check: 5 rounds, batch of 20, scale up to 100")
ap.add_argument("--skiff", default=os.path.join(REPO, ".build", "release", "skiff"))
ap.add_argument("--runtimes", default="skiff,runc,crun")
ap.add_argument("--readme", action="store_true", help="rewrite the block between the bench markers in README.md")
args = ap.parse_args()
if args.quick:
    args.rounds, args.batch, args.batch_rounds, args.scale, args.scale_samples = 5, 20, 1, "1,10,100", 3

paths = {"skiff": os.path.abspath(args.skiff), "runc": shutil.which("runc"), "crun": shutil.which("crun")}
RUNTIMES = {n: paths[n] for n in args.runtimes.split(",") if paths.get(n)}
NAMES = list(RUNTIMES)
OTHERS = [n for n in NAMES if n != "skiff"]
work = tempfile.mkdtemp(prefix="skiff-bench-")
started = time.time()

# --- bundles ---------------------------------------------------------------------------------
# A busybox rootfs; the config is `skiff spec` (all namespaces of `runc spec`, its mounts,
# masked and read-only paths) with what docker adds: its default capability set and its
# default seccomp profile (Tests/SeccompTests/fixtures/docker-default.json, as docker 24 sends
# it for x86_64).
rootfs = os.path.join(work, "rootfs")
for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "root"]:
    os.makedirs(os.path.join(rootfs, d))
shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
for a in ["sh", "true", "sleep"]:
    os.symlink("busybox", os.path.join(rootfs, "bin", a))
subprocess.run([RUNTIMES["skiff"], "spec"], cwd=work, check=True)
with open(os.path.join(work, "config.json")) as f:
    spec = json.load(f)
os.unlink(os.path.join(work, "config.json"))
DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
               "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
               "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
with open(os.path.join(REPO, "Tests", "SeccompTests", "fixtures", "docker-default.json")) as f:
    spec["linux"]["seccomp"] = json.load(f)
spec["ociVersion"] = "1.0.2"
spec["process"]["terminal"] = False
spec["process"]["capabilities"] = {k: DOCKER_CAPS for k in ["bounding", "effective", "permitted"]}
spec["root"]["path"] = rootfs


def bundle(name, argv):
    d = os.path.join(work, name)
    os.makedirs(d)
    spec["process"]["args"] = argv
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(spec, f)
    return d


TRUE = bundle("true", ["/bin/true"])
SLEEPER = bundle("sleeper", ["/bin/sleep", "1000"])

def cleanup():
    # Whatever a failed run left behind: containers (and their cgroups), then the files.
    for rt, path in RUNTIMES.items():
        for d in os.listdir(work) if os.path.isdir(work) else []:
            if d.endswith("-" + rt) and os.path.isdir(os.path.join(work, d)):
                base = [path, "--root", os.path.join(work, d)]
                for cid in quiet(base + ["list", "-q"]).stdout.split():
                    quiet(base + ["delete", "--force", cid])
    shutil.rmtree(work, ignore_errors=True)


atexit.register(cleanup)
launcher = os.path.join(work, "maxrss")
subprocess.run(["gcc", "-O2", "-static", "-o", launcher, os.path.join(HERE, "maxrss.c")], check=True)
errfile = open(os.path.join(work, "stderr"), "w+")

results = {}  # (case, runtime) -> [ms]
rss_all = {}  # (case, runtime) -> [peak RSS KiB of each call]


def launch(rt, argv, check=True, out=subprocess.DEVNULL):
    """Runs argv through the launcher: (ms, KiB, stdout or None). stderr goes to a file, not a
    pipe: a created container keeps the runtime's stdio open."""
    errfile.seek(0)
    errfile.truncate()
    p = subprocess.run([launcher] + argv, stdin=subprocess.DEVNULL, stdout=out, stderr=errfile,
                       text=True)
    errfile.seek(0)
    err = errfile.read()
    try:
        ns, kib, status = (int(x) for x in err.strip().splitlines()[-1].split())
    except (ValueError, IndexError):
        sys.exit(f"{rt}: launcher failed: {' '.join(argv)}\n{err}")
    if check and status != 0:
        sys.exit(f"{rt} failed ({status}): {' '.join(argv)}\n{err}")
    return ns / 1e6, kib, p.stdout if out == subprocess.PIPE else None


def timed(case, rt, argv, check=True):
    ms, kib, _ = launch(rt, argv, check)
    results.setdefault((case, rt), []).append(ms)
    rss_all.setdefault((case, rt), []).append(kib)
    return ms


quietfile = open(os.path.join(work, "quiet"), "w+")


def quiet(argv):
    """Runs argv untimed; stdout and stderr through a file, not a pipe (a created container
    keeps the runtime's stdio open, and reading a pipe would wait for it)."""
    quietfile.seek(0)
    quietfile.truncate()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=quietfile, stderr=quietfile)
    quietfile.seek(0)
    p.stdout = p.stderr = quietfile.read()
    return p


def wait_stopped(base, cid):
    for _ in range(500):
        if '"stopped"' in quiet(base + ["state", cid]).stdout:
            return
        time.sleep(0.002)
    sys.exit(f"{cid} did not stop")


init_info = {}  # runtime -> (VmHWM KiB of the waiting init, its executable)


def note_init(rt, base, cid):
    if rt in init_info:
        return
    st = json.loads(quiet(base + ["state", cid]).stdout)
    with open(f"/proc/{st['pid']}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    # Is its code mapped from the runtime's binary, or from a copy (runc 1.1 clones itself
    # into a memfd for every container, against CVE-2019-5736)? Compare inode numbers.
    with open(f"/proc/{st['pid']}/maps") as f:
        inode = int(f.readline().split()[4])
    own = os.stat(RUNTIMES[rt]).st_ino == inode
    init_info[rt] = (hwm, "its binary" if own else "a copy of its binary")


# --- single commands, interleaved --------------------------------------------------------------
# A warm-up container per state dir first, untimed: skiff and crun keep compiled seccomp
# profiles in the state dir, so only the very first container of a state dir compiles docker's
# profile (skiff: about 30 M instructions; see the README).
def warm_up(root_name):
    for rt, path in RUNTIMES.items():
        base = [path, "--root", os.path.join(work, f"{root_name}-{rt}")]
        p = quiet(base + ["run", "--bundle", TRUE, "warm-up"])
        if p.returncode != 0:
            sys.exit(f"{rt} warm-up run failed: {p.stdout}")


warm_up("state")
CASES = ["--version", "run /bin/true", "create", "start", "state", "exec /bin/true", "kill", "delete",
         "lifecycle (sum)"]
for r in range(args.rounds):
    order = NAMES[r % len(NAMES):] + NAMES[:r % len(NAMES)]  # each runtime goes first in turn
    for rt in order:
        path = RUNTIMES[rt]
        base = [path, "--root", os.path.join(work, "state-" + rt)]
        cid = f"b{r}"
        timed("--version", rt, [path, "--version"])
        timed("run /bin/true", rt, base + ["run", "--bundle", TRUE, "r" + cid])
        t = timed("create", rt, base + ["create", "--bundle", SLEEPER, cid])
        note_init(rt, base, cid)
        t += timed("start", rt, base + ["start", cid])
        t += timed("state", rt, base + ["state", cid])
        timed("exec /bin/true", rt, base + ["exec", cid, "/bin/true"])  # not in the lifecycle sum
        t += timed("kill", rt, base + ["kill", cid, "KILL"])
        wait_stopped(base, cid)
        t += timed("delete", rt, base + ["delete", cid])
        results.setdefault(("lifecycle (sum)", rt), []).append(t)

# --- N containers one after another, and 2 at a time -----------------------------------------
BATCH_CASES = []
if args.batch > 0 and args.batch_rounds > 0:
    serial, parallel = f"{args.batch} x run, serial", f"{args.batch} x run, 2 at a time"
    BATCH_CASES = [serial, parallel]
    warm_up("batch")

    def stream(rt, ids):
        base = [RUNTIMES[rt], "--root", os.path.join(work, "batch-" + rt)]
        for cid in ids:
            p = subprocess.run(base + ["run", "--bundle", TRUE, cid], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if p.returncode != 0:
                sys.exit(f"{rt} run {cid} failed: {p.stderr.decode()}")

    for r in range(args.batch_rounds):
        order = NAMES[r % len(NAMES):] + NAMES[:r % len(NAMES)]
        for rt in order:
            t0 = time.perf_counter()
            stream(rt, [f"s{r}-{i}" for i in range(args.batch)])
            results.setdefault((serial, rt), []).append((time.perf_counter() - t0) * 1000)
            half = args.batch // 2
            ths = [threading.Thread(target=stream, args=(rt, [f"p{r}-{k}-{i}" for i in range(half)])) for k in range(2)]
            t0 = time.perf_counter()
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            results.setdefault((parallel, rt), []).append((time.perf_counter() - t0) * 1000)

# --- scale: 1 to 1000 containers in the state dir ---------------------------------------------
# Fillers are created and killed (stopped containers: their state dir and cgroup stay, no
# process). At each size, a new container is created, asked for its state, killed and deleted.
scale = {}  # (N, what, runtime) -> [ms]
SIZES = [int(x) for x in args.scale.split(",") if x.strip()]
if SIZES:
    warm_up("scale")
for rt in NAMES if SIZES else []:
    base = [RUNTIMES[rt], "--root", os.path.join(work, "scale-" + rt)]
    filled = 0
    for n in SIZES:
        while filled < n - 1:
            for argv in [["create", "--bundle", SLEEPER, f"f{filled}"], ["kill", f"f{filled}", "KILL"]]:
                p = quiet(base + argv)
                if p.returncode != 0:
                    sys.exit(f"{rt} {argv[0]} f{filled} failed: {p.stderr}")
            filled += 1
        for k in range(args.scale_samples):
            cid = f"x{n}-{k}"
            for what, argv in [("create", ["create", "--bundle", SLEEPER, cid]), ("state", ["state", cid])]:
                scale.setdefault((n, what, rt), []).append(launch(rt, base + argv)[0])
            quiet(base + ["kill", cid, "KILL"])
            wait_stopped(base, cid)
            scale.setdefault((n, "delete", rt), []).append(launch(rt, base + ["delete", cid])[0])
        ms, _, out = launch(rt, base + ["list"], out=subprocess.PIPE)
        scale.setdefault((n, "list", rt), []).append(ms)
    for i in range(filled):
        quiet(base + ["delete", "--force", f"f{i}"])

# --- report ------------------------------------------------------------------------------------
# Peak RSS: the median over the calls of each call's peak (ru_maxrss). A single call now and
# then maps 1 MB more of the binary (page cache state), and the max would show only that.
rss = {k: statistics.median(v) for k, v in rss_all.items()}
def med(c, rt):
    return statistics.median(results[(c, rt)])


def spread(c, rt):
    v = results[(c, rt)]
    if len(v) < 2:
        return f"{v[0]:.1f}"
    q = statistics.quantiles(v, n=4)
    return f"{q[0]:.1f}-{q[2]:.1f}"


def fmt(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


out = []
head = ["case"] + [f"{n} ms (p25-p75)" for n in NAMES] + [f"skiff/{n}" for n in OTHERS] + ["peak RSS MB " + " / ".join(NAMES)]
rows = []
for c in CASES + BATCH_CASES:
    row = [c] + [f"{fmt(med(c, n))} ({spread(c, n)})" for n in NAMES]
    row += [f"{med(c, 'skiff') / med(c, n):.2f}" for n in OTHERS]
    row.append(" / ".join(f"{rss[(c, n)] / 1024:.1f}" for n in NAMES) if all((c, n) in rss for n in NAMES) else "")
    rows.append(row)
rows.append(["init waiting for start"] + [""] * (len(NAMES) + len(OTHERS)) + [" / ".join(f"{init_info[n][0] / 1024:.1f}" for n in NAMES)])
out.append("| " + " | ".join(head) + " |")
out.append("|" + "---|" * len(head))
for r in rows:
    out.append("| " + " | ".join(r) + " |")

if SIZES:
    out.append("")
    out.append("Scale: median ms with N containers in the state dir (`list`: one call, all N).")
    out.append("")
    h = ["N"] + [f"{w} {n}" for w in ["create", "state", "delete"] for n in NAMES] + [f"list {n}" for n in NAMES]
    out.append("| " + " | ".join(h) + " |")
    out.append("|" + "---|" * len(h))
    for n in SIZES:
        r = [str(n)] + [fmt(statistics.median(scale[(n, w, rt)])) for w in ["create", "state", "delete"] for rt in NAMES]
        r += [fmt(statistics.median(scale[(n, "list", rt)])) for rt in NAMES]
        out.append("| " + " | ".join(r) + " |")


def runtime_desc(n):
    if n == "skiff":
        return f"skiff {os.path.getsize(RUNTIMES[n]) / 1e6:.1f} MB static"
    v = quiet([RUNTIMES[n], "--version"]).stdout.splitlines()[0]
    return f"{v} ({os.path.getsize(RUNTIMES[n]) / 1e6:.1f} MB)"


out.append("")
out.append("Binaries: " + "; ".join(runtime_desc(n) for n in NAMES) + ". The waiting init runs from "
           + "; ".join(f"{n}: {init_info[n][1]}" for n in NAMES) + ". Peak RSS: median over the calls of each call's ru_maxrss.")

# Targets of issue 8, from this run.
targets = []


def target(what, value, limit, unit=""):
    ok = value <= limit
    targets.append(f"{what}: {value:.2f}{unit} (target ≤ {limit}{unit}: " + ("met" if ok else f"missed by {value / limit * 100 - 100:.0f} %") + ")")


for c in ["run /bin/true", "lifecycle (sum)"]:
    if "crun" in NAMES:
        target(f"{c} skiff/crun", med(c, "skiff") / med(c, "crun"), 0.8)
    if "runc" in NAMES:
        target(f"{c} skiff/runc", med(c, "skiff") / med(c, "runc"), 0.4)
for c in ["state", "--version"]:
    target(f"{c} median", med(c, "skiff"), 1.5, " ms")
worst = max(((rss[(c, 'skiff')], c) for c in CASES + BATCH_CASES if (c, "skiff") in rss))
worst = max(worst, (init_info["skiff"][0], "init waiting for start"))
target(f"peak RSS, largest ({worst[1]})", worst[0] / 1024, 4, " MB")
if SIZES and len(SIZES) > 1:
    for w in ["create", "state", "delete"]:
        a, b = statistics.median(scale[(SIZES[0], w, "skiff")]), statistics.median(scale[(SIZES[-1], w, "skiff")])
        targets.append(f"{w} at {SIZES[-1]} containers / at {SIZES[0]}: {b / a:.2f}")
out.append("")
out.append("Targets (skiff, this run): " + "; ".join(targets) + ".")
out.append("")
out.append(f"{args.rounds} interleaved rounds, {args.batch_rounds} of the batches; "
           f"{time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the end; "
           f"the bench took {time.time() - started:.0f} s.")
text = "\n".join(out)
print(text)

if args.readme:
    readme = os.path.join(REPO, "README.md")
    with open(readme) as f:
        s = f.read()
    b, e = "<!-- bench:begin (bench/run.sh --readme rewrites this block) -->", "<!-- bench:end -->"
    if b not in s or e not in s:
        sys.exit("README.md has no bench markers")
    s = s[:s.index(b) + len(b)] + "\n" + text + "\n" + s[s.index(e):]
    with open(readme, "w") as f:
        f.write(s)
    print("README.md updated", file=sys.stderr)
