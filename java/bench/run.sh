#!/usr/bin/env bash
# The Java benchmark (BENCHMARKS.md, "Java"): Goldsmith's challenge and AltingBarrier.sync at
# N = 2 and 4, over Muster with one JVM per party (and, for comparison, threads of one JVM) vs
# JCSP 1.1-rc4 (Debian's libjcsp-java) with one thread per party in one JVM (JCSP's alting
# barriers work only there). One run of each,
# about 30 s on 2 CPUs after the build; ends with a Markdown table for BENCHMARKS.md (Muster,
# JCSP, the ratio, and whether it meets the issue's >= 10x target).
# Usage: java/bench/run.sh [GOLD_SECONDS (3)] [SYNC_ITERS (200000; JCSP does a tenth)]
set -euo pipefail
cd "$(dirname "$0")/../.."
# libmuster as cargo builds it (CARGO_TARGET_DIR, if set, may be relative to the repository).
target_dir=${CARGO_TARGET_DIR:-target}; case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
native=$target_dir/release/libmuster.so
secs=${1:-3}
iters=${2:-200000}
J=/usr/share/java
for jar in jna.jar jcsp.jar; do
    [ -f "$J/$jar" ] || { echo "run.sh: $J/$jar missing (apt-get install libjna-java libjcsp-java)" >&2; exit 2; }
done
cargo build --release -p muster-ffi >/dev/null 2>&1 || cargo build --release -p muster-ffi
java/build.sh
out=target/java/bench
mkdir -p "$out"
javac -d "$out" -cp "target/java/muster.jar:$J/jcsp.jar" java/bench/MusterBench.java java/bench/JcspBench.java
cp="$PWD/target/java/muster.jar:$J/jna.jar:$PWD/$out"
log=$(mktemp "${TMPDIR:-/tmp}/muster-java-bench.XXXXXX")
trap 'rm -f "$log"' EXIT
# A failed workload is reported and left out of the table ("not measured"); the others still run.
m() { java -cp "$cp" -Dmuster.lib="$native" MusterBench "$@" | tee -a "$log" ||
    echo "run.sh: MusterBench $* failed" >&2; }
j() { java -cp "$J/jcsp.jar:$PWD/$out" JcspBench "$@" | tee -a "$log" || echo "run.sh: JcspBench $* failed" >&2; }
start=$(date -u '+%Y-%m-%d %H:%M UTC')
load=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$SECONDS
m gold "$secs"
m gold-threads "$secs"
j gold "$secs"
for n in 2 4; do
    m sync "$n" "$iters"
    m sync-threads "$n" "$iters"
    j sync "$n" "$((iters / 10))"
done
echo
echo "Run of $start, $(nproc) CPUs, load average at the start $load (1/5/15 min), $((SECONDS - t0)) s;"
echo "\`java/bench/run.sh $secs $iters\` at $(git describe --always --dirty 2>/dev/null || echo "?"), $(java -version 2>&1 | head -1):"
echo
awk '
    $1 == "RESULT" { r[$2] = $3 }
    function commas(v,    s) {
        s = sprintf("%d", v)
        while (s ~ /[0-9][0-9][0-9][0-9]/) { sub(/[0-9][0-9][0-9]($|,)/, ",&", s) }
        return s
    }
    function row(what, mk, jk, unit, per,    mv, jv, ratio, m, js) {
        mv = r[mk]; jv = r[jk]
        if (mv == "" || jv == "" || jv == 0) {
            printf "| %s | %s | %s | – | not measured |\n", what, (mv == "" ? "–" : mv), (jv == "" ? "–" : jv)
            return
        }
        ratio = mv / jv
        m = commas(mv) " " unit; js = commas(jv) " " unit
        if (per) { m = m sprintf(" (%.2f µs)", 1e6 / mv); js = js sprintf(" (%.2f µs)", 1e6 / jv) }
        printf "| %s | %s | %s | %.1f× | %s |\n", what, m, js, ratio, (ratio >= 10 ? "met" : "not met")
    }
    END {
        print "| workload | Muster | JCSP 1.1-rc4 | Muster ÷ JCSP | target ≥ 10× |"
        print "| --- | --- | --- | --- | --- |"
        row("Goldsmith, 3 JVMs (Muster) / 3 threads (JCSP)", "muster-gold-jvms", "jcsp-gold", "events/s", 0)
        row("Goldsmith, Muster with 3 threads of one JVM", "muster-gold-threads", "jcsp-gold", "events/s", 0)
        row("`AltingBarrier.sync`, N = 2 JVMs (Muster) / threads (JCSP)", "muster-sync-2", "jcsp-sync-2", "syncs/s", 1)
        row("`AltingBarrier.sync`, N = 2, Muster with threads of one JVM", "muster-sync-threads-2", "jcsp-sync-2", "syncs/s", 1)
        row("`AltingBarrier.sync`, N = 4 JVMs (Muster) / threads (JCSP)", "muster-sync-4", "jcsp-sync-4", "syncs/s", 1)
        row("`AltingBarrier.sync`, N = 4, Muster with threads of one JVM", "muster-sync-threads-4", "jcsp-sync-4", "syncs/s", 1)
    }' "$log"
