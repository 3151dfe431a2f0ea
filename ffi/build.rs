//! Link settings of libmuster.so: the SONAME and a version script that exports only `muster_*`.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" && os != "android" {
        return;
    }
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    // Only the C API leaves the shared object; Rust's own symbols (std, muster_shm, ...) stay local.
    let script = out.join("libmuster.map");
    fs::write(&script, "{\n  global:\n    muster_*;\n  local:\n    *;\n};\n").expect("write the version script");

    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmuster.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", script.display());
}
