//! Target `region_file`: a region file of fuzzer-chosen bytes through open/validate and every
//! operation.
//!
//! Input: byte 0 selects the form. Even: the rest *is* the file. Odd: the rest is a list of
//! 4-byte patches `(offset: u24 LE, value)` applied to a valid, populated region image
//! ([`crate::template`]), so the fuzzer reaches the tables behind the header checks.
//!
//! Skipped on purpose: files whose header says "not ready" (magic 0, or the right magic and
//! `ready != 1`). `open` waits for those, bounded (2 s), as for a foreign creator still
//! initialising; that wait is tested in `tests/hostile_region.rs` and would only slow the fuzzer.

use muster::{Error, Region};

const MAGIC_AT: usize = 0;
const READY_AT: usize = 24;

/// Applies `(offset, value)` patches from `data` (4 bytes each) to `image`.
pub fn patch(image: &mut [u8], data: &[u8]) {
    if image.is_empty() {
        return;
    }
    for p in data.chunks_exact(4) {
        let off = (usize::from(p[0]) | usize::from(p[1]) << 8 | usize::from(p[2]) << 16) % image.len();
        image[off] = p[3];
    }
}

/// Whether `open` would wait for this header to become ready (see the module docs).
pub fn waits_for_ready(file: &[u8]) -> bool {
    let word =
        |at: usize, n: usize| file.get(at..at + n).map(|b| b.iter().rev().fold(0u64, |a, &x| a << 8 | u64::from(x)));
    let magic = word(MAGIC_AT, 8);
    let template_magic = word_of(crate::template(), MAGIC_AT);
    match magic {
        Some(0) => true,
        Some(m) if Some(m) == template_magic => word(READY_AT, 4) != Some(1),
        _ => false,
    }
}

fn word_of(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|b| b.iter().rev().fold(0u64, |a, &x| a << 8 | u64::from(x)))
}

/// The target.
pub fn region_file(data: &[u8]) {
    let Some((&form, rest)) = data.split_first() else { return };
    let file = if form % 2 == 0 {
        rest.to_vec()
    } else {
        let mut image = crate::template().to_vec();
        patch(&mut image, rest);
        image
    };
    if waits_for_ready(&file) {
        return;
    }
    let name = crate::unique_name("f");
    let path = format!("/dev/shm/{name}");
    if std::fs::write(&path, &file).is_err() {
        return;
    }
    match Region::open(&name) {
        Ok(r) => crate::exercise(&r),
        // Every rejection must be one of the specific errors for a bad file.
        Err(Error::Corrupt(_) | Error::Version { .. } | Error::Full(_)) => {}
        Err(e) => {
            let _ = Region::unlink(&name);
            panic!("region file rejected with an unexpected error: {e:?}");
        }
    }
    let _ = Region::unlink(&name);
}
