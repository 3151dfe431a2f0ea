#!/usr/bin/env bash
# muster-cluster: barriers across (simulated) hosts through a local 3-member etcd cluster that
# the tests start on 127.0.0.1 and stop again. Needs protoc (to build etcd-client) and etcd.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v protoc >/dev/null 2>&1; then
    echo "skipped: protoc not installed (Debian: protobuf-compiler libprotobuf-dev), needed to build etcd-client"
    exit 0
fi
if ! command -v "${MUSTER_ETCD:-etcd}" >/dev/null 2>&1; then
    echo "skipped: etcd not installed (Debian: etcd-server)"
    exit 0
fi
cargo test -p muster-cluster --release
# The C ABI across simulated hosts: libmuster with the `cluster` feature, a C program that only
# uses region and barrier calls (tests/c/cluster.c), the cluster given by config or environment.
# `cargo test` builds only the rlib the test links; the C program needs the cdylib with the
# feature, so build that first (60-java's no-op build of muster-ffi rebuilds it without).
cargo build -p muster-ffi --release --features cluster
cargo test -p muster-ffi --release --features cluster --test cluster
