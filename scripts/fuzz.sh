#!/usr/bin/env bash
# Coverage-guided fuzzing of Muster with AFL++ (cargo-afl, stable Rust): every target of
# fuzz/ (region_file, live_scribble, c_abi) for SECONDS each (default 600).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs `cargo install cargo-afl` (it builds AFL++ on this machine from the crate; no network
# beyond crates.io). Without cargo-afl it runs the std-only mutation driver instead (not
# coverage-guided) and says so. Findings land in target/fuzz-out/TARGET/default/{crashes,hangs}
# (MUSTER_FUZZ_OUT overrides target/fuzz-out; a later run resumes from the queue there, and
# AFL's counters then include the earlier runs' findings);
# copy each into fuzz/regressions/TARGET/ (tests in fuzz/tests/regressions.rs replay them) and
# fix the bug. Prints executions, corpus size and edge coverage per target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(region_file live_scribble c_abi)

if ! cargo afl --version >/dev/null 2>&1; then
    echo "cargo-afl not installed: running the non-coverage-guided mutation driver instead"
    cargo build --release -p muster-fuzz --bin fuzz-replay
    for t in "${targets[@]}"; do
        target/release/fuzz-replay --mutate "$t" "$secs"
    done
    exit 0
fi

export CARGO_TARGET_DIR=target/afl
cargo afl build --release -p muster-fuzz --features afl --bin fuzz-afl
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_QUIET=1
status=0
for t in "${targets[@]}"; do
    out=${MUSTER_FUZZ_OUT:-target/fuzz-out}/$t
    mkdir -p "$out"
    seeds=$(mktemp -d)
    cp fuzz/seeds/"$t"/* "$seeds"/ 2>/dev/null || true
    cp fuzz/regressions/"$t"/* "$seeds"/ 2>/dev/null || true
    echo "== afl-fuzz $t for ${secs}s"
    # -t: a case may take up to 5 s (bounded waits inside the library are up to 2 s); longer is
    # a hang. Resume from the previous queue if there is one.
    in_dir=$seeds
    [ -d "$out/default/queue" ] && in_dir=-
    MUSTER_FUZZ_TARGET=$t cargo afl fuzz -i "$in_dir" -o "$out" -t 5000 -V "$secs" target/afl/release/fuzz-afl \
        >"$out/afl.log" 2>&1 || true
    rm -rf "$seeds"
    stats=$out/default/fuzzer_stats
    if [ -f "$stats" ]; then
        get() { sed -n "s/^$1 *: *//p" "$stats"; }
        echo "$t: executions $(get execs_done) ($(get execs_per_sec)/s), corpus $(get corpus_count), edges $(get edges_found) of $(get total_edges) ($(get bitmap_cvg)), crashes $(get saved_crashes), hangs $(get saved_hangs)"
        if [ "$(get saved_crashes)" != "0" ] || [ "$(get saved_hangs)" != "0" ]; then
            status=1
            ls "$out"/default/crashes "$out"/default/hangs 2>/dev/null || true
        fi
    else
        echo "$t: afl-fuzz did not start; see $out/afl.log"
        tail -20 "$out/afl.log"
        status=1
    fi
done
exit $status
