#!/usr/bin/env python3
"""skiff, runc and crun side by side, interleaved in one run (the machine is noisy: only ratios
from the same run mean anything). Prints medians, spread (p25-p75), ratios and peak RSS.

usage: bench.py [--rounds N] [--skiff PATH] [--markdown]

Run as root through bench/run.sh, which builds the release binary and enters a private mount
namespace without the cgroup2 mount (crun 1.8 refuses this host's hybrid layout otherwise).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=30)
ap.add_argument("--skiff", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "skiff"))
ap.add_argument("--markdown", action="store_true")
args = ap.parse_args()

RUNTIMES = {"skiff": os.path.abspath(args.skiff), "runc": shutil.which("runc"), "crun": shutil.which("crun")}
RUNTIMES = {k: v for k, v in RUNTIMES.items() if v}
work = tempfile.mkdtemp(prefix="skiff-bench-")

# A busybox bundle whose process is /bin/true: all namespaces of `runc spec`, its mounts,
# capabilities, masked and read-only paths.
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
spec["ociVersion"] = "1.0.2"
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
with open(os.path.join(work, "config.json"), "w") as f:
    json.dump(spec, f)
sleeper = os.path.join(work, "sleeper")
os.makedirs(sleeper)
spec["root"]["path"] = rootfs
spec["process"]["args"] = ["/bin/sleep", "1000"]
with open(os.path.join(sleeper, "config.json"), "w") as f:
    json.dump(spec, f)

maxrss_bin = os.path.join(work, "maxrss")
subprocess.run(["gcc", "-O2", "-static", "-o", maxrss_bin, os.path.join(os.path.dirname(os.path.abspath(__file__)), "maxrss.c")], check=True)

results = {}  # (case, runtime) -> [seconds]
rss = {}      # (case, runtime) -> max KiB


errfile = open(os.path.join(work, "stderr"), "w+")


def timed(case, rt, argv, check=True):
    # stderr to a file, not a pipe: a created container keeps the runtime's stdio open.
    errfile.seek(0)
    errfile.truncate()
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errfile)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    errfile.seek(0)
    err = errfile.read()
    if check and p.returncode != 0:
        sys.exit(f"{rt} {case} failed ({p.returncode}): {' '.join(argv)}\n{err}")
    results.setdefault((case, rt), []).append(dt)
    # Peak RSS, measured once per case and runtime, outside the timed call (see maxrss.c).
    if (case, rt) not in rss and case not in ("create", "start", "kill", "delete"):
        errfile.seek(0)
        errfile.truncate()
        subprocess.run([maxrss_bin] + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errfile)
        errfile.seek(0)
        rss[(case, rt)] = int(errfile.read().split()[0])
    return dt


for r in range(args.rounds):
    for rt, path in RUNTIMES.items():
        root = os.path.join(work, "state-" + rt)
        base = [path, "--root", root]
        cid = f"b{r}"
        timed("--version", rt, [path, "--version"])
        timed("run /bin/true", rt, base + ["run", "--bundle", work, cid])
        # The lifecycle, step by step.
        t = timed("create", rt, base + ["create", "--bundle", sleeper, cid])
        if ("init (waiting)", rt) not in rss:
            st = json.loads(subprocess.run(base + ["state", cid], capture_output=True, text=True).stdout)
            with open(f"/proc/{st['pid']}/status") as f:
                rss[("init (waiting)", rt)] = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        t += timed("start", rt, base + ["start", cid])
        t += timed("state", rt, base + ["state", cid])
        timed("exec /bin/true", rt, base + ["exec", cid, "/bin/true"])  # not part of the lifecycle sum
        t += timed("kill", rt, base + ["kill", cid, "KILL"])
        for _ in range(200):  # until it is stopped
            s = subprocess.run(base + ["state", cid], capture_output=True, text=True)
            if '"stopped"' in s.stdout:
                break
            time.sleep(0.002)
        t += timed("delete", rt, base + ["delete", cid])
        results.setdefault(("lifecycle (sum)", rt), []).append(t)

cases = ["--version", "run /bin/true", "create", "start", "state", "exec /bin/true", "kill", "delete", "lifecycle (sum)"]
names = list(RUNTIMES)


def med(c, rt):
    return statistics.median(results[(c, rt)]) * 1000


def spread(c, rt):
    q = statistics.quantiles(results[(c, rt)], n=4)
    return f"{q[0]*1000:.1f}-{q[2]*1000:.1f}"


head = ["case"] + [f"{n} ms (p25-p75)" for n in names] + [f"skiff/{n}" for n in names if n != "skiff"] + [f"RSS MB {n}" for n in names]
rows = []
for c in cases + ["init (waiting)"]:
    if c == "init (waiting)":
        rows.append([c] + [""] * len(names) + [""] * (len(names) - 1) + [f"{rss[(c, n)] / 1024:.1f}" for n in names])
        continue
    row = [c] + [f"{med(c, n):.2f} ({spread(c, n)})" for n in names]
    row += [f"{med(c, 'skiff') / med(c, n):.2f}" for n in names if n != "skiff"]
    row += [f"{rss[(c, n)] / 1024:.1f}" if (c, n) in rss else "" for n in names]
    rows.append(row)
size = os.path.getsize(RUNTIMES["skiff"]) / 1e6
if args.markdown:
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
else:
    w = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(x.ljust(w[i]) for i, x in enumerate(r)))
print(f"\n{args.rounds} interleaved rounds; skiff binary {size:.1f} MB (static); "
      + ", ".join(f"{n} {subprocess.run([p, '--version'], capture_output=True, text=True).stdout.splitlines()[0]}" for n, p in RUNTIMES.items() if n != "skiff"))
shutil.rmtree(work, ignore_errors=True)
