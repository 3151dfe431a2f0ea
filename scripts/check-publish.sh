#!/usr/bin/env bash
# Checks that the crates are ready to publish and their docs build cleanly:
#   * `cargo doc --no-deps --workspace` with warnings as errors (SKIP_DOC=1 skips it);
#   * the packaged `muster` crate leaves out the test-only `muster-test-worker` binary;
#   * `cargo publish --dry-run` of the five published crates in one call. Cargo (>= 1.90)
#     packages them together and verifies each against a temporary local registry holding its
#     unpublished siblings, so the path dependencies on muster-core/muster-shm resolve without
#     anything on crates.io. It needs the crates.io index (network). One crate alone
#     (`cargo package -p muster`) cannot resolve its unpublished siblings and fails, with or
#     without --no-verify.
# Usage: scripts/check-publish.sh [--allow-dirty]
set -euo pipefail
cd "$(dirname "$0")/.."
crates=(-p muster-core -p muster-shm -p muster -p muster-ffi -p muster-cli)

if [ "${SKIP_DOC:-0}" != 1 ]; then
    echo "== cargo doc (no warnings)"
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
fi

# A fresh target directory each run: cargo treats registry crates as immutable, so siblings
# packaged by an earlier run under the same version would be reused (compiled, and unpacked in
# ~/.cargo/registry/src/<hash of the temporary registry's path>) instead of today's.
mkdir -p target
tmp=$(mktemp -d "$PWD/target/check-publish.XXXXXX")
registry_src="${CARGO_HOME:-$HOME/.cargo}/registry/src"
src_before=$(ls -d "$registry_src"/-* 2>/dev/null || true)
cleanup() {
    rm -rf "$tmp"
    for d in $(ls -d "$registry_src"/-* 2>/dev/null || true); do
        grep -qxF "$d" <<<"$src_before" || rm -rf "$d"
    done
}
trap cleanup EXIT

echo "== cargo package --no-verify (what each crate ships)"
CARGO_TARGET_DIR=$tmp cargo package --no-verify "$@" "${crates[@]}"
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
manifest=$(tar -xzf "$tmp/package/muster-$version.crate" -O "muster-$version/Cargo.toml")
if grep -q "muster-test-worker" <<<"$manifest"; then
    echo "check-publish: muster-test-worker is in the packaged muster crate" >&2
    exit 1
fi

echo "== cargo publish --dry-run"
CARGO_TARGET_DIR=$tmp cargo publish --dry-run "$@" "${crates[@]}"
echo "check-publish: ok"
