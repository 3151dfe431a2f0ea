"""The Python benchmark (python/bench/barrier_bench.py) still runs: one short round of the native
barrier at N = 2 and N = 4 processes (a smoke test; its figures are not judged here)."""

import pathlib
import re
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench" / "barrier_bench.py"


def test_barrier_bench_runs_and_reports_every_configuration():
    args = ["--n", "2,4", "--phases", "1", "--rounds", "1", "--systems", "native"]
    run = subprocess.run([sys.executable, str(BENCH)] + args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = run.stdout.split("summary:", 1)[1]
    for n in (2, 4):
        m = re.search(r"N=%d native\s+(\d+) ns" % n, summary)
        assert m and int(m.group(1)) > 0, run.stdout
