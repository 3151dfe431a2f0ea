#!/usr/bin/env bash
# Checks that the crates are ready to publish and their docs build cleanly:
#   * `cargo doc --no-deps --workspace` with warnings as errors;
#   * `cargo publish --dry-run` of the five published crates in one call. Cargo (>= 1.90)
#     packages them together and verifies each against a temporary local registry holding its
#     unpublished siblings (target/package/tmp-registry), so path dependencies on
#     muster-core/muster-shm resolve without anything on crates.io. It needs the crates.io
#     index (network). One crate alone (`cargo package -p muster`) cannot resolve its
#     unpublished siblings and fails, with or without --no-verify.
# Usage: scripts/check-publish.sh [--allow-dirty]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo doc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace

echo "== cargo publish --dry-run"
cargo publish --dry-run "$@" -p muster-core -p muster-shm -p muster -p muster-ffi -p muster-cli

# The test-only worker binary must not ship in the `muster` crate.
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
manifest=$(tar -xzf target/package/muster-$version.crate -O muster-$version/Cargo.toml)
if grep -q "muster-test-worker" <<<"$manifest"; then
    echo "check-publish: muster-test-worker is in the packaged muster crate" >&2
    exit 1
fi
echo "check-publish: ok"
