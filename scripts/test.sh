#!/usr/bin/env bash
# Runs every test: the workspace's unit, integration and multi-process tests (Rust, C, C++ and
# Python clients), the loom model tests of the core protocols, then each extra suite in
# scripts/test.d/*.sh (Python package, Java, cluster, memory checking, fuzzing), in name order.
# This is the README's test command and what CI runs.
#
# An extra suite whose tools are missing on this machine says so and is skipped; on CI, where
# .ci/run installs everything listed in .ci/apt.d/, none is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (workspace default members: all but muster-cluster, see Cargo.toml)"
cargo test --release

echo "== loom model tests (RUSTFLAGS=--cfg loom)"
loom_tests=$(cd core/tests && ls loom_*.rs 2>/dev/null | sed 's/\.rs$//')
for t in $loom_tests; do
    RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p muster-core --release --test "$t"
done

for suite in scripts/test.d/*.sh; do
    [ -e "$suite" ] || continue
    echo "== $(basename "$suite" .sh)"
    bash "$suite"
done
