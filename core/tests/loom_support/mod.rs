//! Parkers shared by the loom model tests (`core/tests/loom_*.rs`, each `mod loom_support;`):
//! a yielding one for protocols whose waits only need to make progress, and a faithful futex
//! model for the ones that must never lose a wake-up. Both stand the clock still at 0, so
//! `Timeout(0)` is always expired and no other deadline ever passes.

use loom::sync::{Arc, Condvar, Mutex};
use muster_core::sync::AtomicU32;
use muster_core::wait::Parker;

/// Parking is a yield (a spurious wake-up the caller must tolerate); it cannot lose a wake-up,
/// so a test with it cannot see one lost.
pub struct LoomParker;

impl Parker for LoomParker {
    fn park(&self, _word: &AtomicU32, _expected: u32, _deadline_ns: Option<u64>) {
        loom::thread::yield_now();
    }
    fn unpark_all(&self, _word: &AtomicU32) {}
    fn now_ns(&self) -> u64 {
        0
    }
    fn yield_now(&self) {
        loom::thread::yield_now();
    }
    fn cpus(&self) -> u32 {
        1
    }
}

/// A faithful futex model: `park` checks the word and blocks under one mutex, `unpark_all`
/// notifies under it, so check-and-sleep is atomic with respect to wake. A lost wake-up leaves a
/// thread blocked forever, which loom reports as a deadlock.
#[derive(Clone)]
pub struct FutexModel(Arc<(Mutex<()>, Condvar)>);

impl FutexModel {
    pub fn new() -> Self {
        FutexModel(Arc::new((Mutex::new(()), Condvar::new())))
    }
}

impl Default for FutexModel {
    fn default() -> Self {
        Self::new()
    }
}

impl Parker for FutexModel {
    fn park(&self, word: &AtomicU32, expected: u32, _deadline_ns: Option<u64>) {
        let g = self.0 .0.lock().unwrap();
        if word.load(loom::sync::atomic::Ordering::SeqCst) == expected {
            drop(self.0 .1.wait(g).unwrap());
        }
    }
    fn unpark_all(&self, _word: &AtomicU32) {
        let _g = self.0 .0.lock().unwrap();
        self.0 .1.notify_all();
    }
    fn now_ns(&self) -> u64 {
        0
    }
    fn yield_now(&self) {
        loom::thread::yield_now();
    }
    fn cpus(&self) -> u32 {
        1
    }
}
