#!/usr/bin/env bash
# The benchmark harness's own behaviour (not its speed): a tiny interleaved run quiet and with a
# hog must validate every barrier (the dissemination barrier at N that are not powers of two
# included), record every repetition, write JSON with both conditions; and a harness killed with
# SIGKILL mid-run must leave no hog and no worker behind.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if ! command -v python3 >/dev/null 2>&1; then
    echo "skipped: bench harness suite needs python3"
    exit 0
fi
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet -p muster-benches --bin muster-bench
bin=$target/debug/muster-bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/muster-bench-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "bench suite: tiny interleaved run (quiet and --hogs 1)"
"$bin" --systems muster,pthread,spin-yield,dissemination --n 2,3,5 --scenarios plain --hogs 0,1 \
    --episodes 300 --reps 2 --budget-ms 40 --no-alting --no-reference \
    --json "$tmp/r.json" --table "$tmp/t.md" --svg "$tmp/b.svg" >/dev/null 2>"$tmp/err" || {
    cat "$tmp/err"
    exit 1
}
python3 - "$tmp/r.json" "$tmp/t.md" "$tmp/b.svg" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["interleaved"] is True and r["hogs_conditions"] == [0, 1], r["hogs_conditions"]
rows = r["results"]
assert len(rows) == 2 * 3 * 4, len(rows)
for row in rows:
    what = f'{row["condition"]} N={row["n"]} {row["system"]}'
    if row["status"] != "measured":
        # A spinning baseline may collapse beside a hog (over 1 ms per episode, or the watchdog)
        # and is then left out at larger N; anything else is a failure.
        collapse = "collapsed" in row["reason"] or "timed out" in row["reason"]
        baseline = row["system"] in ("spin-yield", "dissemination")
        assert row["status"] == "skipped" and "collapsed" in row["reason"] or (
            baseline and row["condition"] != "quiet" and collapse), (what, row)
        continue
    res = row["result"]
    reps = res["rep_ns_per_episode"]
    assert len(reps) == 2 or (res["collapsed"] and len(reps) == 1), (what, reps)
    assert res["rep_ns_min"] <= res["ns_per_episode"] <= res["rep_ns_max"], (what, res)
    assert res["latency_p50_ns"] <= res["latency_p99_ns"] <= res["latency_p999_ns"], (what, res)
    assert res["cpu_us_per_episode"] > 0, what
# Muster everywhere; dissemination at N = 2 and 3 (not a power of two) at least, even if it
# collapses later on a loaded machine.
for sys_, ns in (("muster", (2, 3, 5)), ("dissemination", (2, 3))):
    for n in ns:
        quiet = [x for x in rows if x["condition"] == "quiet" and x["system"] == sys_ and x["n"] == n]
        assert quiet and quiet[0]["status"] == "measured", (sys_, n, quiet)
assert any(t["target"].startswith("--hogs 1 N=2") for t in r["targets"]), r["targets"]
md = open(sys.argv[2]).read()
assert "### plain — quiet machine" in md and "(`--hogs 1`)" in md and "met" in md
svg = open(sys.argv[3]).read()
assert svg.startswith("<svg") and "--hogs 1, plain" in svg and "quiet, plain" in svg
print("bench suite: JSON, report and plot as expected")
EOF

echo "bench suite: the reference measurements (round trip, CPU hand-off, idle waiter)"
"$bin" --quick --systems muster --n 2 --scenarios plain --no-alting \
    --json "$tmp/f.json" --table "$tmp/f.md" --svg "$tmp/f.svg" >/dev/null 2>"$tmp/err" || {
    cat "$tmp/err"
    exit 1
}
python3 - "$tmp/f.json" "$tmp/f.md" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rt, h, idle = r["cache_line_round_trip"], r["cpu_handoff_round_trip"], r["idle_waiter"]
assert rt["median_ns"] > 0 and rt["p50_ns"] <= rt["p99_ns"], rt
assert h["iterations"] > 0 and 0 < h["p50_ns"] <= h["p99_ns"], h
assert abs(h["per_handoff_ns"] * 2 - h["median_ns"]) < 1e-6 * h["median_ns"], h
assert idle["waited_ns"] >= 1e9 and 0 <= idle["core_share"] < 1, idle
md = open(sys.argv[2]).read()
assert "CPU hand-off between two processes pinned to one CPU" in md and "Cache-line round trip" in md
print("bench suite: reference measurements as expected")
EOF

echo "bench suite: SIGKILL the harness mid-run; no hog or worker may survive"
"$bin" --systems muster,pthread --n 2 --scenarios plain --hogs 2 --episodes 100000 --reps 16 \
    --budget-ms 2000 --no-alting --no-reference --json "$tmp/k.json" --table "$tmp/k.md" \
    --svg "$tmp/k.svg" >/dev/null 2>&1 &
harness=$!
# The killed harness cannot unlink its control files and region (its next run would sweep them,
# by pid): remove exactly those of this pid when the suite ends.
trap 'rm -rf "$tmp"; rm -f /dev/shm/muster-bench-ctl-"$harness"-* /dev/shm/muster-bench-"$harness"-* \
    /dev/shm/.muster-bench-"$harness"-*' EXIT
# Processes of this binary in a hog or worker role (awk's own command line doesn't start with $bin).
left() { ps -eo args= | awk -v b="$bin" 'index($0, b " --hog") == 1 || index($0, b " --worker") == 1' | wc -l | tr -d ' '; }
for _ in $(seq 100); do
    [ "$(left)" -ge 4 ] && break
    sleep 0.1
done
running=$(left)
kill -KILL "$harness"
wait "$harness" 2>/dev/null || true
for _ in $(seq 150); do
    [ "$(left)" = 0 ] && break
    sleep 0.1
done
if [ "$(left)" != 0 ]; then
    echo "FAILED: processes left after the harness died:"
    ps -eo pid,ppid,args | awk -v b="$bin" 'index($3, b) == 1'
    exit 1
fi
if [ "$running" -lt 4 ]; then
    echo "FAILED: expected 2 hogs and 4 workers running before the kill, saw $running"
    exit 1
fi
echo "bench suite: $running hogs/workers were running; none left after SIGKILL"
