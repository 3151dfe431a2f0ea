#!/usr/bin/env bash
# The Python benchmark: per-wait cost of muster.Barrier (the native package), the ctypes module
# over libmuster (tests/python/muster.py) and multiprocessing.Barrier, at N = 2 and 4 processes,
# and the Rust figure for the same barrier (muster-demo), in interleaved rounds.
#
#   scripts/bench-python.sh [ARGS]     # ARGS go to python/bench/barrier_bench.py
#                                      # (--n 2,4 --phases 5 --rounds 3)
#
# Installs the package into target/python-venv (created if missing; pip fetches maturin).
# Environment: PYTHON (default python3), CARGO (default cargo), CARGO_TARGET_DIR (default ROOT/target).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$target
py=${PYTHON:-python3}

"$cargo" build --release -q -p muster-ffi
"$cargo" build --release -q --bin muster-demo

venv=$target/python-venv
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check ./python

MUSTER_LIB=$target/release/libmuster.so MUSTER_CTYPES=$root/tests/python/muster.py \
    "$venv/bin/python" python/bench/barrier_bench.py --rust "$target/release/muster-demo" "$@"
