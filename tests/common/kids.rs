//! The kids guard: child processes a test started, killed and reaped when the guard is dropped,
//! also when a check panics, so a failing multi-process test leaves no orphans that spin or hold
//! a region. Shared by the root crate's tests (through `common`) and by `ffi/tests` (through
//! `#[path]`), so it uses only `std`.

use std::process::Child;

/// Child processes, killed (SIGKILL) and reaped when dropped, also when the test panics.
/// Tests push to and index `.0` directly.
pub struct Kids(pub Vec<Child>);

impl Drop for Kids {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
