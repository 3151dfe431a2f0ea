#!/usr/bin/env bash
# Bounded fuzzing in the test suite (about 90 s in all): every fuzz target of fuzz/ for 30 s.
# With cargo-afl installed this is AFL++ (coverage-guided, scripts/fuzz.sh); without it (CI),
# the std-only mutation driver over the seeds and regression inputs (not coverage-guided; the
# regression inputs themselves are replayed by `cargo test -p muster-fuzz`). Any crash or hang
# fails the suite and leaves its input under target/fuzz-out/ or fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${MUSTER_FUZZ_SECONDS:-30}
# A target the fuzzer kills (a timeout) or that crashes leaves its region in /dev/shm; every one
# is named mfz* (`muster_fuzz::unique_name`), so the project's own cleaner removes the stale ones
# (those no live process holds) when the suite ends, whatever the outcome.
cargo build --release -p muster-cli --bin muster >/dev/null
trap 'target/release/muster clean --prefix mfz >/dev/null || echo "35-fuzz: muster clean failed" >&2' EXIT
if cargo afl --version >/dev/null 2>&1; then
    # A fresh output folder: this run's findings only.
    out=target/fuzz-suite-$$
    rm -rf "$out"
    status=0
    MUSTER_FUZZ_OUT=$out scripts/fuzz.sh "$secs" || status=$?
    [ $status -ne 0 ] || rm -rf "$out"
    exit $status
fi
echo "cargo-afl not installed: running the mutation driver (not coverage-guided) for ${secs}s per target"
cargo build --release -p muster-fuzz --bin fuzz-replay
for t in region_file live_scribble c_abi; do
    target/release/fuzz-replay --mutate "$t" "$secs"
done
