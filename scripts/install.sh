#!/bin/sh
# Builds libmuster in release mode and installs it into a prefix:
#
#   PREFIX/include/muster.h
#   PREFIX/lib/libmuster.so.X.Y.Z, libmuster.so.X (the SONAME), libmuster.so (for -lmuster)
#   PREFIX/lib/libmuster.a
#   PREFIX/lib/pkgconfig/muster.pc
#   PREFIX/bin/muster                 (the command-line tool, crate cli/)
#
# Usage: scripts/install.sh [--no-build] PREFIX
#   Environment: CARGO (cargo binary), CARGO_TARGET_DIR (where cargo builds), DESTDIR (staging
#   root prepended to every installed path, as with make install), LIBDIR (default PREFIX/lib).
set -eu

build=1
if [ "${1:-}" = "--no-build" ]; then
    build=0
    shift
fi
if [ $# -ne 1 ]; then
    echo "usage: $0 [--no-build] PREFIX" >&2
    exit 2
fi
case "$1" in
    /*) prefix=$1 ;;
    *) prefix=$(pwd)/$1 ;;
esac
libdir=${LIBDIR:-$prefix/lib}
destdir=${DESTDIR:-}

root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in
    /*) ;;
    *) target_dir=$root/$target_dir ;;
esac

# The version of the ffi crate (inherited from [workspace.package] in the root Cargo.toml).
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml")
if [ -z "$version" ]; then
    echo "install: cannot read the workspace version from $root/Cargo.toml" >&2
    exit 1
fi
major=${version%%.*}

if [ $build -eq 1 ]; then
    "$cargo" build --release -p muster-ffi -p muster-cli --manifest-path "$root/Cargo.toml" --target-dir "$target_dir"
fi
out=$target_dir/release
for f in libmuster.so libmuster.a muster; do
    if [ ! -f "$out/$f" ]; then
        echo "install: $out/$f is missing (build with cargo build --release -p muster-ffi -p muster-cli)" >&2
        exit 1
    fi
done

install -d "$destdir$prefix/include" "$destdir$libdir/pkgconfig" "$destdir$prefix/bin"
install -m 755 "$out/muster" "$destdir$prefix/bin/muster"
install -m 644 "$root/include/muster.h" "$destdir$prefix/include/muster.h"
install -m 755 "$out/libmuster.so" "$destdir$libdir/libmuster.so.$version"
ln -sf "libmuster.so.$version" "$destdir$libdir/libmuster.so.$major"
ln -sf "libmuster.so.$major" "$destdir$libdir/libmuster.so"
install -m 644 "$out/libmuster.a" "$destdir$libdir/libmuster.a"

# Libs.private: what a static link of a Rust staticlib needs on Linux/glibc
# (rustc --print native-static-libs).
cat > "$destdir$libdir/pkgconfig/muster.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=$libdir
includedir=\${prefix}/include

Name: muster
Description: Lock-free shared-memory barriers across processes (C API)
Version: $version
Libs: -L\${libdir} -lmuster
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
PC

echo "installed libmuster $version and the muster tool into $destdir$prefix"
