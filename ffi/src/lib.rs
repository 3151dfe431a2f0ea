//! libmuster: the C ABI of Muster.
//!
//! Every export follows the conventions in `DESIGN.md` ("C ABI conventions"): opaque handles,
//! an `int` result (`MUSTER_OK`/a non-negative value, or a negative `MUSTER_E*` code), out-params
//! written only on success, every pointer checked for NULL, and `catch_unwind` around every body
//! so no panic crosses into C. `include/muster.h` is generated from this crate by cbindgen
//! (`scripts/check-header.sh`); the doc comments below are the header's documentation.

#![allow(non_camel_case_types)]

// Declaration order is header order (cbindgen emits items as it meets them).
mod error;
mod region;

mod barrier;

mod barrier_split;

mod cluster;

mod alting;

mod channel;

mod alt;

pub use alt::*;
pub use alting::*;
pub use barrier::*;
pub use barrier_split::*;
pub use channel::*;
pub use error::*;
pub use region::*;

use std::ffi::{c_char, c_int, CStr};

/// Major version of libmuster (equals the `Cargo.toml` version; checked at compile time).
pub const MUSTER_VERSION_MAJOR: u32 = 0;
/// Minor version of libmuster.
pub const MUSTER_VERSION_MINOR: u32 = 1;
/// Patch version of libmuster.
pub const MUSTER_VERSION_PATCH: u32 = 0;
/// The version as a string. The header builds `MUSTER_VERSION_STRING` from the three numbers, so
/// the package version must not carry a pre-release or build suffix (checked below).
const VERSION_STRING: &str = "0.1.0";

/// Parses a decimal version component at compile time.
const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v = 0u32;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version component is not a number");
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

// The header's version macros are generated from the constants above (cbindgen reads literals
// only); these asserts make a version bump in Cargo.toml fail the build until they are updated.
const _: () = {
    assert!(MUSTER_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")), "update MUSTER_VERSION_MAJOR");
    assert!(MUSTER_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")), "update MUSTER_VERSION_MINOR");
    assert!(MUSTER_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")), "update MUSTER_VERSION_PATCH");
    assert!(str_eq(VERSION_STRING, env!("CARGO_PKG_VERSION")), "update VERSION_STRING and the numbers");
};

const VERSION_C: &CStr = {
    let bytes = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();
    match CStr::from_bytes_with_nul(bytes) {
        Ok(s) => s,
        Err(_) => panic!("the package version contains a NUL byte"),
    }
};

/// The library's version, `"MAJOR.MINOR.PATCH"`, as a static string.
///
/// Compare it with `MUSTER_VERSION_STRING` to detect a header/library mismatch at run time.
///
/// Returns: a pointer to a static, NUL-terminated string; never NULL; never free it.
///
/// Thread-safety: may be called from any thread at any time.
#[no_mangle]
pub extern "C" fn muster_version() -> *const c_char {
    error::guard_str(|| VERSION_C)
}

/// A static description of an error code.
///
/// `code`: any value returned by a libmuster function.
///
/// Returns: a pointer to a static, NUL-terminated English string for every `MUSTER_E*` code,
/// `"success"` for `MUSTER_OK`, a generic text for other non-negative values and
/// `"unknown error code"` for unknown negative values. Never NULL; never free it.
///
/// Thread-safety: may be called from any thread at any time.
#[no_mangle]
pub extern "C" fn muster_strerror(code: c_int) -> *const c_char {
    error::guard_str(|| error::strerror(code))
}

/// Details of the last error returned to the calling thread (for example which capacity is
/// exhausted, why a region file is corrupt, or the operating-system error behind `MUSTER_EIO`).
///
/// Like `errno`, the message is per thread, set by every failing call and not cleared by
/// successful ones; read it right after the failure.
///
/// `buf`: where to copy the message, NUL-terminated and truncated to `len - 1` bytes; may be
/// NULL when `len` is 0 (to ask for the length). `len`: size of `buf` in bytes.
///
/// Returns: the full length of the message in bytes, without the NUL (0 if this thread has seen
/// no error), like `snprintf`; `MUSTER_EINVAL` if `buf` is NULL and `len` is not 0.
///
/// Thread-safety: may be called from any thread; each thread sees its own last error.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn muster_last_error_message(buf: *mut c_char, len: usize) -> c_int {
    error::guard(|| {
        if len == 0 {
            return c_int::try_from(error::last_message(&mut [])).unwrap_or(c_int::MAX);
        }
        if buf.is_null() {
            return MUSTER_EINVAL;
        }
        // SAFETY: the caller guarantees `buf` points to `len` writable bytes; `u8` and `c_char`
        // have the same size and alignment.
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
        c_int::try_from(error::last_message(out)).unwrap_or(c_int::MAX)
    })
}

/// The process id of the dead peer behind the last `MUSTER_EPEERDIED` returned to the calling
/// thread (diagnostic only: the process is gone and its pid may have been reused).
///
/// Returns: the pid (> 0), or 0 if this thread has not seen `MUSTER_EPEERDIED`.
///
/// Thread-safety: may be called from any thread; each thread sees its own value.
#[no_mangle]
pub extern "C" fn muster_last_peer_pid() -> c_int {
    error::guard(|| c_int::try_from(error::last_peer_pid()).unwrap_or(0))
}

/// Converts a name argument: NULL is `MUSTER_EINVAL`, non-UTF-8 is `MUSTER_ENAME`.
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn name_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, c_int> {
    if p.is_null() {
        return Err(error::fail(MUSTER_EINVAL, format_args!("{what} is NULL")));
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string that outlives 'a.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| error::fail(MUSTER_ENAME, format_args!("{what} is not valid UTF-8")))
}

/// Writes `v` to the out-param `out` (checked non-NULL by the caller before any work).
///
/// # Safety
/// `out` must be valid for a write of `T`.
pub(crate) unsafe fn put<T>(out: *mut T, v: T) {
    // SAFETY: guaranteed by the caller; `write` does not drop the (uninitialised) old value.
    unsafe { out.write(v) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_cargo() {
        // SAFETY: muster_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(muster_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(VERSION_STRING, env!("CARGO_PKG_VERSION"));
        let parts = [MUSTER_VERSION_MAJOR, MUSTER_VERSION_MINOR, MUSTER_VERSION_PATCH].map(|n| n.to_string());
        assert_eq!(parts.join("."), VERSION_STRING);
    }

    #[test]
    fn strerror_never_null() {
        for code in [-1000, -33, -32, -17, -16, -1, 0, 1, 42, c_int::MIN, c_int::MAX] {
            let p = muster_strerror(code);
            assert!(!p.is_null());
            // SAFETY: static NUL-terminated string.
            assert!(!unsafe { CStr::from_ptr(p) }.to_bytes().is_empty());
        }
    }
}
