#!/usr/bin/env bash
# Soak test of crash safety for alting barriers, channels and region creation: the scenarios of
# tests/crash_alting.rs and tests/crash_region.rs (random-instant SIGKILL, survivors checked)
# scaled to about KILLS kills in all (default 10,000). Prints, per scenario, the trials, kills,
# hangs, inconsistencies, and the detection time (kill -> progress of the survivors that do
# not need the dead process) and recovery time (kill -> progress with a replacement), median /
# p99 / max; then the totals. Exit status 1 if anything hung or was inconsistent.
#
#   scripts/soak-alting.sh [KILLS]        (MUSTER_CRASH_SEED=N replays a schedule)
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-10000}
# The normal suite does about 1,100 kills per run (scale 1).
scale=$(( (kills + 1099) / 1100 ))
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "== soak: ~$((scale * 1100)) random-instant kills (MUSTER_CRASH_SCALE=$scale)"
status=0
MUSTER_CRASH_SCALE=$scale MUSTER_CRASH_KEEP_GOING=1 \
    cargo test --release --no-fail-fast --test crash_alting --test crash_region -- --nocapture --test-threads 1 \
    >"$log" 2>&1 || status=1
grep -E "^CRASH |^  inconsistency|^crash seed|^region race" "$log" || true
awk '/^CRASH / {
        for (i = 1; i <= NF; i++) {
            if ($i == "trials") t += $(i+1); if ($i == "kills") k += $(i+1);
            if ($i == "hangs") h += $(i+1); if ($i == "inconsistencies") c += $(i+1);
        }
     }
     END { printf "== total: trials %d, kills %d, hangs %d, inconsistencies %d\n", t, k, h, c }' "$log"
if [ $status -ne 0 ]; then
    echo "== FAILED (output: the test log follows)"; grep -E "panicked|FAILED|worker" "$log" | head -40
fi
exit $status
