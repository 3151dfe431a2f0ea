#!/usr/bin/env bash
# Measures the per-call cost of JNI vs JNA (direct and interface mapping) on trivial libmuster
# calls and on a one-party alting poll; the figures behind the binding's choice of JNA direct
# mapping (java/README.md, BENCHMARKS.md "Java"). About 10 s.
# Usage: java/bench/callcost.sh [CALLS]   (needs a JDK, gcc, libjna-java; builds libmuster and
# the jar if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
# libmuster as cargo builds it (CARGO_TARGET_DIR, if set, may be relative to the repository).
target_dir=${CARGO_TARGET_DIR:-target}; case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
native=$target_dir/release/libmuster.so
cargo build --release -p muster-ffi # a no-op when libmuster.so is up to date
[ -f target/java/muster.jar ] || java/build.sh
J=/usr/share/java
out=target/java/callcost
mkdir -p "$out"
ln -sf "$native" "$out/libmuster.so.0"  # its SONAME
jdk=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
gcc -O2 -shared -fPIC -I"$jdk/include" -I"$jdk/include/linux" -Iinclude \
    -o "$out/libjniprobe.so" java/bench/jni_probe.c -L"$(dirname "$native")" -lmuster -Wl,-rpath,"$PWD/$out"
javac -d "$out" -cp "$J/jna.jar:target/java/muster.jar" java/bench/CallCost.java
java -cp "$J/jna.jar:$PWD/target/java/muster.jar:$out" -Dmuster.lib="$native" \
    -Djni.probe="$PWD/$out/libjniprobe.so" CallCost "$@"
