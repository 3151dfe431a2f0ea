#!/usr/bin/env bash
# The Java benchmark (BENCHMARKS.md, "Java"): Goldsmith's challenge and AltingBarrier.sync at
# N = 2 and 4, over Muster with one JVM per party vs JCSP 1.1-rc4 with one thread per party in
# one JVM. One run of each. Usage: java/bench/run.sh [GOLD_SECONDS] [SYNC_ITERS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-3}
iters=${2:-200000}
J=/usr/share/java
java/build.sh
out=target/java/bench
mkdir -p "$out"
javac -d "$out" -cp "target/java/muster.jar:$J/jcsp.jar" java/bench/MusterBench.java java/bench/JcspBench.java
cp="$PWD/target/java/muster.jar:$J/jna.jar:$PWD/$out"
m() { java -cp "$cp" -Dmuster.lib="$PWD/target/release/libmuster.so" MusterBench "$@"; }
j() { java -cp "$J/jcsp.jar:$PWD/$out" JcspBench "$@"; }
m gold "$secs"
m gold-threads "$secs"
j gold "$secs"
for n in 2 4; do
    m sync "$n" "$iters"
    j sync "$n" "$((iters / 10))"
done
