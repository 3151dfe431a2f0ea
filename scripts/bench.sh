#!/usr/bin/env bash
# Runs Muster's cross-process barrier benchmark (muster-bench) and, when asked, puts the results
# into BENCHMARKS.md.
#
#   scripts/bench.sh --quick                 # the main job: every system + alting, < 60 s on 2 cores
#   scripts/bench.sh                         # full run, quiet (a few minutes)
#   scripts/bench.sh --update-doc [ARGS]     # full run quiet and with 2 busy processes beside
#                                            # (--hogs 0,2 unless ARGS has --hogs), then rewrite
#                                            # BENCHMARKS.md's generated section and copy table,
#                                            # plot and JSON to benches/results/
#   scripts/bench.sh --criterion             # also run the criterion micro-benchmarks
#   scripts/bench.sh --python                # also run the Python benchmark (scripts/bench-python.sh;
#                                            # --update-doc runs it too, for BENCHMARKS.md's Python section)
#   scripts/bench.sh --no-install [ARGS]     # don't try to apt-get Open MPI / gcc
#
# Every other argument goes to muster-bench (see `muster-bench --help`: --n 2,4,8 --systems
# muster,pthread,... --episodes E --reps R --json PATH --svg PATH ...).
#
# On a fresh Debian/Ubuntu machine it installs Open MPI (openmpi-bin, libopenmpi-dev), gcc, and
# clang + libomp-dev (LLVM's OpenMP runtime) if missing, with sudo when not root. Failure to
# install is not fatal: that baseline is then skipped with a note in the report.
#
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default ROOT/target).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$target

update_doc=0
install=1
criterion=0
python_bench=0
args=()
for a in "$@"; do
    case "$a" in
        --update-doc) update_doc=1 ;;
        --no-install) install=0 ;;
        --criterion) criterion=1 ;;
        --python) python_bench=1 ;;
        *) args+=("$a") ;;
    esac
done

log() { echo "bench.sh: $*" >&2; }

# --- dependencies (best effort) -------------------------------------------------------------
install_pkgs() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            log "not root and no password-less sudo: cannot install $*; continuing without"
            return 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "no apt-get: cannot install $*; continuing without"
        return 1
    fi
    log "installing $* (apt-get)"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

if [ "$install" = 1 ]; then
    if ! command -v gcc >/dev/null 2>&1; then
        install_pkgs gcc libc6-dev || log "gcc unavailable: the OpenMP baseline will be skipped"
    fi
    if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
        install_pkgs openmpi-bin libopenmpi-dev || log "Open MPI unavailable: the MPI baseline will be skipped"
    fi
    if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/libomp.so >/dev/null 2>&1; then
        install_pkgs clang libomp-dev || log "clang/libomp unavailable: the libomp baseline will be skipped"
    fi
fi

# --update-doc measures the quiet machine and the busy one (2 CPU-bound processes beside).
if [ "$update_doc" = 1 ]; then
    has_hogs=0
    for a in "${args[@]+"${args[@]}"}"; do
        case "$a" in --hogs | --hogs=*) has_hogs=1 ;; esac
    done
    [ "$has_hogs" = 1 ] || args+=(--hogs 0,2)
fi

# --- build and run ---------------------------------------------------------------------------
log "building muster-bench (release) in $target"
(cd "$root" && "$cargo" build --release --quiet -p muster-benches --bin muster-bench)
bin=$target/release/muster-bench

out=$root/benches/out
mkdir -p "$out"
table=$out/table.md
svg=$out/barrier.svg
json=$out/results.json
# Honour explicit --table/--svg/--json so --update-doc copies the right files.
prev=""
for a in "${args[@]+"${args[@]}"}"; do
    case "$prev" in
        --table) table=$a ;;
        --svg) svg=$a ;;
        --json) json=$a ;;
    esac
    prev=$a
done

cmd=("$bin" "${args[@]+"${args[@]}"}")
load_before=$(cat /proc/loadavg 2>/dev/null || echo "?")
log "running: muster-bench${args[*]+ ${args[*]}} (load before: $load_before)"
"${cmd[@]}"
load_after=$(cat /proc/loadavg 2>/dev/null || echo "?")
log "load after: $load_after"

if [ "$criterion" = 1 ]; then
    log "running criterion micro-benchmarks (results in $target/criterion)"
    (cd "$root" && "$cargo" bench --quiet -p muster-benches --bench barrier)
fi

# --- BENCHMARKS.md ---------------------------------------------------------------------------
if [ "$update_doc" = 1 ]; then
    results=$root/benches/results
    mkdir -p "$results"
    cp "$table" "$results/table.md"
    cp "$svg" "$results/barrier.svg"
    cp "$json" "$results/results.json"
    model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)
    hyper=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor: *//p' | head -n1)
    machine="$(nproc) CPUs (nproc), ${model:-unknown CPU}${hyper:+, virtualized ($hyper)}, Linux $(uname -r)"
    gen=$(mktemp "${TMPDIR:-/tmp}/bench-doc.XXXXXX")
    {
        echo "<!-- BEGIN GENERATED by scripts/bench.sh --update-doc: do not edit by hand -->"
        echo
        echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- Machine: $machine"
        echo "- Command: \`scripts/bench.sh${*:+ $*}\` (runs \`muster-bench${args[*]+ ${args[*]}}\`)"
        echo "- Load (/proc/loadavg) before: \`$load_before\`; after: \`$load_after\`${BENCH_LOAD_NOTE:+. $BENCH_LOAD_NOTE}"
        echo "- Plot: [benches/results/barrier.svg](benches/results/barrier.svg); raw numbers: [benches/results/results.json](benches/results/results.json)"
        echo
        echo "![ns per episode vs parties, quiet and with 2 busy processes](benches/results/barrier.svg)"
        echo
        # The harness's own headings are level 3; keep them under this section.
        cat "$table"
        echo
        echo "<!-- END GENERATED -->"
    } >"$gen"
    doc=$root/BENCHMARKS.md
    if [ -f "$doc" ] && grep -q '^<!-- BEGIN GENERATED' "$doc" && grep -q '^<!-- END GENERATED' "$doc"; then
        new=$(mktemp "${TMPDIR:-/tmp}/BENCHMARKS.XXXXXX")
        awk -v gen="$gen" '
            /^<!-- BEGIN GENERATED/ { while ((getline line < gen) > 0) print line; skip = 1; next }
            /^<!-- END GENERATED/ { skip = 0; next }
            !skip { print }
        ' "$doc" >"$new"
        mv "$new" "$doc"
    else
        { [ -f "$doc" ] && cat "$doc"; echo; echo "## Latest run"; echo; cat "$gen"; } >"$doc.tmp"
        mv "$doc.tmp" "$doc"
    fi
    rm -f "$gen"
    log "updated BENCHMARKS.md and benches/results/ (table.md, barrier.svg, results.json)"
fi

if [ "$python_bench" -eq 1 ] || [ "$update_doc" -eq 1 ]; then
    if command -v "${PYTHON:-python3}" >/dev/null 2>&1; then
        log "Python benchmark (scripts/bench-python.sh)"
        "$root/scripts/bench-python.sh" || log "the Python benchmark failed (see above)"
    else
        log "no python3: Python benchmark skipped"
    fi
fi
