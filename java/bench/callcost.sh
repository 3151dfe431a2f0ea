#!/usr/bin/env bash
# Measures the per-call cost of JNI vs JNA (direct and interface mapping) on one trivial libmuster
# call; the figures behind the binding's choice of JNA direct mapping (BENCHMARKS.md, ## Java).
# Usage: java/bench/callcost.sh   (needs a JDK, gcc, libjna-java; builds libmuster if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f target/release/libmuster.so ] || cargo build --release -p muster-ffi
out=target/java/callcost
mkdir -p "$out"
ln -sf "$PWD/target/release/libmuster.so" "$out/libmuster.so.0"  # its SONAME
jdk=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
gcc -O2 -shared -fPIC -I"$jdk/include" -I"$jdk/include/linux" -Iinclude \
    -o "$out/libjniprobe.so" java/bench/jni_probe.c -Ltarget/release -lmuster -Wl,-rpath,"$PWD/$out"
javac -d "$out" -cp /usr/share/java/jna.jar java/bench/CallCost.java
java -cp "/usr/share/java/jna.jar:$out" -Dmuster.lib="$PWD/target/release/libmuster.so" \
    -Djni.probe="$PWD/$out/libjniprobe.so" CallCost
