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
os.symlink(rootfs, os.path.join(sleeper, "rootfs"))
spec["process"]["args"] = ["/bin/sleep", "1000"]
with open(os.path.join(sleeper, "config.json"), "w") as f:
    json.dump(spec, f)

results = {}  # (case, runtime) -> [seconds]
rss = {}      # (case, runtime) -> max KiB


def timed(case, rt, argv, check=True):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if check and p.returncode != 0:
        sys.exit(f"{rt} {case} failed ({p.returncode}): {' '.join(argv)}\n{err}")
    results.setdefault((case, rt), []).append(dt)
    rss[(case, rt)] = max(rss.get((case, rt), 0), ru.ru_maxrss)
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
for c in cases:
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
