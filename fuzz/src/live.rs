//! Target `live_scribble`: a live region whose bytes a hostile thread rewrites while two other
//! threads run every operation on it (the in-process form of a hostile peer process).
//!
//! Input: 4-byte patches `(offset: u24 LE, value)` over the region file, written with `pwrite`
//! (the same page the workers have mapped) one at a time, with a yield between patches so they
//! land in the middle of operations.

use muster::Region;
use std::os::unix::fs::FileExt;

/// The target.
pub fn live_scribble(data: &[u8]) {
    let name = crate::unique_name("l");
    let Ok(r) = Region::create(&name, &crate::small_config()) else { return };
    crate::populate(&r);
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(format!("/dev/shm/{name}")) else {
        let _ = Region::unlink(&name);
        return;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let r = r.clone();
            std::thread::spawn(move || {
                for _ in 0..2 {
                    crate::exercise(&r);
                }
            })
        })
        .collect();
    if len > 0 {
        for p in data.chunks_exact(4) {
            let off = (u64::from(p[0]) | u64::from(p[1]) << 8 | u64::from(p[2]) << 16) % len;
            let _ = file.write_all_at(&p[3..4], off);
            std::thread::yield_now();
        }
    }
    for w in workers {
        if w.join().is_err() {
            let _ = Region::unlink(&name);
            panic!("an operation panicked on a region rewritten while in use");
        }
    }
    // A fresh open of the scribbled file must fail with a specific error or work.
    if let Ok(r2) = Region::open(&name) {
        crate::exercise(&r2);
    }
    let _ = Region::unlink(&name);
}
