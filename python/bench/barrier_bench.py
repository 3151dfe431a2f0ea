"""Per-wait cost of a barrier shared by N Python processes, for three implementations:

* ``native``: this package's :class:`muster.Barrier` (PyO3 extension);
* ``ctypes``: tests/python/muster.py, the ctypes module over libmuster.so (the C-ABI test module;
  needs ``MUSTER_LIB``, the path of ``libmuster.so``, and ``MUSTER_CTYPES``, the module's path);
* ``multiprocessing``: :class:`multiprocessing.Barrier` (a Condition over semaphores).

Usage: ``python python/bench/barrier_bench.py [--n 2,4] [--phases 5] [--rounds 3]
[--systems native,ctypes,multiprocessing] [--rust PATH/muster-demo]`` (scripts/bench-python.sh runs
it with everything in place). Method, as in ``muster-demo``: N spawned processes meet once, then
run ``phases`` phases of E waits; process 0 times each phase. A system's figure in a round is the
median phase's time divided by E (ns per wait, i.e. per barrier episode). With ``--rust``, the
same loop in Rust (``muster-demo --procs N``, median of its phases) is one more system. Rounds
interleave the systems (round r of every system in turn), so a drift of the machine (on a VM:
where the vCPUs land) hits all alike; the report gives each system's median over rounds, and the
ratios per round and their median.
"""

import argparse
import importlib.util
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

# Waits per phase: each system's phases last roughly 0.1-1 s on 2 CPUs.
EPISODES = {"native": 20000, "ctypes": 5000, "multiprocessing": 400}
STEP = 120.0  # seconds before a stuck run fails


def _load_ctypes():
    path = os.environ.get("MUSTER_CTYPES")
    if not path:
        raise RuntimeError("set MUSTER_CTYPES to tests/python/muster.py (and MUSTER_LIB to libmuster.so)")
    spec = importlib.util.spec_from_file_location("muster_ctypes", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _open(system, region_name, n, mp_barrier):
    """This process's barrier (and what keeps its region open)."""
    if system == "multiprocessing":
        return mp_barrier, None
    mod = _load_ctypes() if system == "ctypes" else __import__("muster")
    region = mod.Region.open(region_name)
    return mod.Barrier(region, "bench", n), region


def _worker(system, region_name, n, phases, episodes, rank, mp_barrier, results):
    try:
        barrier, region = _open(system, region_name, n, mp_barrier)
        wait = barrier.wait
        wait(STEP)  # everyone is here
        times = []
        for _ in range(phases):
            t0 = time.perf_counter_ns()
            for _ in range(episodes):
                wait()
            times.append((time.perf_counter_ns() - t0) / episodes)
        wait(STEP)
        if rank == 0:
            results.put(("ok", times))
        if region is not None:
            barrier.close()
            region.close()
    except BaseException as e:
        results.put(("error", "%s: %r" % (system, e)))


def run(system, n, phases):
    """ns per wait of each phase for `system` with `n` processes."""
    ctx = multiprocessing.get_context("spawn")
    import muster

    region_name = "muster-pybench-%d" % os.getpid()
    region = muster.Region.create(region_name, max_barriers=4, max_processes=n + 4)
    mp_barrier = ctx.Barrier(n) if system == "multiprocessing" else None
    results = ctx.Queue()
    episodes = EPISODES[system]
    procs = [
        ctx.Process(target=_worker, args=(system, region_name, n, phases, episodes, r, mp_barrier, results))
        for r in range(n)
    ]
    try:
        for p in procs:
            p.start()
        kind, value = results.get(timeout=STEP + phases * 60)
        if kind != "ok":
            raise RuntimeError(value)
        return value
    finally:
        for p in procs:
            p.join(STEP)
            if p.is_alive():
                p.kill()
                p.join()
        region.close()
        muster.Region.unlink(region_name)


def run_rust(demo, n):
    """ns per episode of each phase of `muster-demo --procs n` (the Rust loop)."""
    out = subprocess.run([demo, "--procs", str(n)], capture_output=True, text=True, timeout=STEP, check=True)
    times = [float(line.split()[2]) for line in out.stdout.splitlines() if line.strip().startswith("phase ")]
    if not times:
        raise RuntimeError("muster-demo printed no phases: %r" % out.stdout)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", default="2,4", help="process counts, comma-separated (default 2,4)")
    ap.add_argument("--phases", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--systems", default="native,ctypes,multiprocessing")
    ap.add_argument("--rust", help="path of muster-demo: measure the Rust loop too, interleaved")
    args = ap.parse_args(argv)
    ns = [int(x) for x in args.n.split(",")]
    systems = args.systems.split(",")
    if args.rust:
        systems.insert(0, "rust")
    if "ctypes" in systems and not (os.environ.get("MUSTER_CTYPES") and os.environ.get("MUSTER_LIB")):
        print("ctypes: skipped (MUSTER_CTYPES / MUSTER_LIB not set)", file=sys.stderr)
        systems.remove("ctypes")
    print(
        "barrier_bench: Python %s, %d CPUs, %d phases, %d interleaved rounds; ns per wait (median phase, min..max)"
        % (sys.version.split()[0], os.cpu_count(), args.phases, args.rounds)
    )
    rounds = {}  # (system, n) -> median of each round
    for r in range(args.rounds):
        for n in ns:
            for system in systems:
                times = run_rust(args.rust, n) if system == "rust" else run(system, n, args.phases)
                rounds.setdefault((system, n), []).append(statistics.median(times))
                per = "muster-demo" if system == "rust" else "%d waits per phase" % EPISODES[system]
                print(
                    "  round %d N=%d %-16s %12.0f ns   (%.0f..%.0f, %s)"
                    % (r + 1, n, system, statistics.median(times), min(times), max(times), per)
                )
                sys.stdout.flush()
    print("summary: median over %d rounds (min..max of the rounds)" % args.rounds)
    for n in ns:
        for system in systems:
            v = rounds[(system, n)]
            print("  N=%d %-16s %12.0f ns   (%.0f..%.0f)" % (n, system, statistics.median(v), min(v), max(v)))

    def ratio(num, den, n, fmt):
        a, b = rounds.get((num, n)), rounds.get((den, n))
        if a and b:
            per = [x / y for x, y in zip(a, b)]
            print(
                "  N=%d %s: %s (rounds: %s)"
                % (n, ratio_name[(num, den)], fmt % statistics.median(per), ", ".join(fmt % x for x in per))
            )

    ratio_name = {
        ("multiprocessing", "native"): "multiprocessing.Barrier / muster.Barrier",
        ("ctypes", "native"): "ctypes / native",
        ("native", "rust"): "native / Rust",
    }
    for n in ns:
        ratio("multiprocessing", "native", n, "%.0fx")
        ratio("ctypes", "native", n, "%.1fx")
        ratio("native", "rust", n, "%.2fx")


if __name__ == "__main__":
    main()
