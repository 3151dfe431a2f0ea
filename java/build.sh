#!/usr/bin/env bash
# Builds the Muster Java binding with javac and jar (no Maven: none is reachable here; the
# dependencies are Debian's jars in /usr/share/java). Output in target/java/:
#   muster.jar       org.muster.* plus linux-x86-64/libmuster.so (JNA loads it from the jar
#                    when neither -Dmuster.lib, MUSTER_LIB, MUSTER_PREFIX nor the system has one)
#   test-classes/    the JUnit 5 tests and the child-JVM programs they start (with --tests)
# Usage: java/build.sh [--tests]     (builds libmuster first if target/release lacks it)
set -euo pipefail
cd "$(dirname "$0")/.."
# libmuster as cargo builds it (CARGO_TARGET_DIR, if set, may be relative to the repository).
target_dir=${CARGO_TARGET_DIR:-target}; case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
native=$target_dir/release/libmuster.so
JARS=/usr/share/java
JNA=$JARS/jna.jar
out=target/java
cargo build --release -p muster-ffi # a no-op when libmuster.so is up to date
rm -rf "$out/classes" "$out/native"
mkdir -p "$out/classes" "$out/native/linux-x86-64"
javac -Xlint:all -Werror -encoding UTF-8 --release 17 -d "$out/classes" -cp "$JNA" \
    $(find java/src -name '*.java')
cp "$native" "$out/native/linux-x86-64/libmuster.so"
jar --create --file "$out/muster.jar" -C "$out/classes" . -C "$out/native" .
if [ "${1:-}" = "--tests" ]; then
    rm -rf "$out/test-classes"
    mkdir -p "$out/test-classes"
    javac -Xlint:all,-processing,-try -Werror -encoding UTF-8 --release 17 -d "$out/test-classes" \
        -cp "$out/muster.jar:$JNA:$JARS/junit-jupiter-api.jar:$JARS/apiguardian-api.jar:$JARS/opentest4j.jar:$JARS/junit-platform-commons.jar" \
        $(find java/test -name '*.java')
fi
