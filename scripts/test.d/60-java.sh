#!/usr/bin/env bash
# The Java binding's suite (java/): builds libmuster (cargo: only if out of date), the jar and the tests with
# java/build.sh, smoke-tests the jar's bundled native library, then runs the JUnit 5 tests
# (several start child JVMs) with Debian's JUnit console launcher.
# Skipped, with a message, when no JDK or the Debian jars (.ci/apt.d/java.txt) are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
# libmuster as cargo builds it (CARGO_TARGET_DIR, if set, may be relative to the repository).
target_dir=${CARGO_TARGET_DIR:-target}; case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
native=$target_dir/release/libmuster.so
J=/usr/share/java
for tool in javac jar java; do
    if ! command -v "$tool" >/dev/null; then
        echo "skipped: java suite needs a JDK ($tool not found; apt-get install default-jdk-headless)"
        exit 0
    fi
done
for jar in jna.jar junit-platform-console-standalone.jar junit-jupiter-api.jar; do
    if [ ! -f "$J/$jar" ]; then
        echo "skipped: java suite needs $J/$jar (apt-get install libjna-java junit5)"
        exit 0
    fi
done
cargo build --release -p muster-ffi # a no-op when libmuster.so is up to date
java/build.sh --tests
# The jar alone (its bundled linux-x86-64/libmuster.so) must load.
java -cp "target/java/muster.jar:$J/jna.jar" org.muster.Muster
cp="$PWD/target/java/muster.jar:$PWD/target/java/test-classes:$J/jna.jar"
# Watchdogs: each test fails after 180 s (run in its own thread, so a test stuck in a native
# wait is reported, not waited for), the whole run is killed after 600 s, and every child JVM
# halts itself after 120 s (it/Child.java).
timeout --signal=KILL 600 java -Dmuster.lib="$native" -Dmuster.test.classpath="$cp" \
    -jar "$J/junit-platform-console-standalone.jar" --class-path "$cp" \
    --config=junit.jupiter.execution.timeout.default=180s \
    --config=junit.jupiter.execution.timeout.thread.mode.default=SEPARATE_THREAD \
    ${JAVA_TESTS:---select-package org.muster} --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests
