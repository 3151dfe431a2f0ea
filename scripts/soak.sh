#!/usr/bin/env bash
# Long crash soak: SIGKILLs a random worker at a random instant while every party runs the
# barrier loop at full speed, TRIALS times per barrier kind (counted and membership, N = 2..8),
# and prints trials, hangs, failures (early releases, wrong recovery) and the median/max time
# from the kill to the survivors' PeerDied/Broken. Then runs scripts/soak-alting.sh (alting
# barriers, channels, region creation) when present.
#
#   scripts/soak.sh [TRIALS]      # default 10000 per kind (about 10-15 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-10000}
echo "== plain barriers: $trials random-instant kills per kind"
set +e
MUSTER_KILL_TRIALS=$trials cargo test --release --test party_identity -- --nocapture --test-threads 1 2>&1 |
    grep -E 'plain-kill|^trial |test result|panicked'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "soak: plain-barrier kills failed (exit $status)" >&2; exit "$status"; }
if [ -x scripts/soak-alting.sh ]; then
    echo "== alting barriers, channels, region creation"
    scripts/soak-alting.sh "$trials"
fi
