#!/bin/sh
# Regenerates include/muster.h from ffi/src with the pinned cbindgen and fails if the checked-in
# header differs. `--update` writes the regenerated header instead.
#
#   scripts/check-header.sh            # CI: exit 1 on any difference
#   scripts/check-header.sh --update   # after changing the C API
#
# Install the pinned generator with:
#   cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
set -eu

CBINDGEN_VERSION=0.29.0
CBINDGEN=${CBINDGEN:-cbindgen}

root=$(cd "$(dirname "$0")/.." && pwd)
header="$root/include/muster.h"

if ! command -v "$CBINDGEN" >/dev/null 2>&1; then
    echo "check-header: $CBINDGEN not found; install it with:" >&2
    echo "  cargo install cbindgen --version $CBINDGEN_VERSION --locked" >&2
    exit 2
fi
found=$("$CBINDGEN" --version | awk '{print $2}')
if [ "$found" != "$CBINDGEN_VERSION" ]; then
    echo "check-header: need cbindgen $CBINDGEN_VERSION, found $found; install it with:" >&2
    echo "  cargo install cbindgen --version $CBINDGEN_VERSION --locked" >&2
    exit 2
fi

tmp=$(mktemp "${TMPDIR:-/tmp}/muster.h.XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM
(cd "$root" && "$CBINDGEN" --quiet --config ffi/cbindgen.toml --output "$tmp" ffi)

if [ "${1:-}" = "--update" ]; then
    cp "$tmp" "$header"
    echo "check-header: wrote $header"
    exit 0
fi
if ! diff -u "$header" "$tmp"; then
    echo "check-header: include/muster.h is out of date; run scripts/check-header.sh --update" >&2
    exit 1
fi
echo "check-header: include/muster.h is up to date (cbindgen $CBINDGEN_VERSION)"
