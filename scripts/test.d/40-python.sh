#!/usr/bin/env bash
# The native Python package (python/): builds and installs it with pip into a fresh virtual
# environment under target/ (pip's build isolation fetches maturin), then runs its pytest suite
# (python/tests). Exits non-zero if the install or any test fails. (The shared behaviour tests
# there, test_muster.py and test_alting.py, also run against the ctypes C-ABI module: from
# tests/ffi_clients.rs, through tests/python/test_c_abi.py; see python/tests/frontend.py.)
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
    echo "skipped: no $PY (Debian: python3, python3-venv)"
    exit 0
fi
if ! "$PY" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    echo "skipped: $PY is older than 3.9 or lacks venv/ensurepip (Debian: python3-venv)"
    exit 0
fi

VENV=target/python-venv
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check pytest
"$VENV/bin/python" -m pip install -q --disable-pip-version-check ./python
# From a directory without a muster/ folder, so the installed package is what gets imported.
cd python/tests
exec "../../$VENV/bin/python" -m pytest -q -p no:cacheprovider .
