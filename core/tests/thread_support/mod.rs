//! A process-private parker for thread tests: a condition variable (tests may make OS calls;
//! core does not).

use muster_core::wait::Parker;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A process-private parker: a condition variable (tests may make OS calls; core does not).
pub struct TestParker {
    start: Instant,
    lock: Mutex<()>,
    cv: Condvar,
}

impl TestParker {
    pub fn new() -> TestParker {
        TestParker { start: Instant::now(), lock: Mutex::new(()), cv: Condvar::new() }
    }
}

impl Parker for TestParker {
    fn park(&self, word: &muster_core::sync::AtomicU32, expected: u32, deadline_ns: Option<u64>) {
        let g = self.lock.lock().unwrap();
        if word.load(SeqCst) != expected {
            return;
        }
        let now = self.now_ns();
        let wait = deadline_ns.map_or(5_000_000, |d| d.saturating_sub(now)).min(5_000_000);
        let _ = self.cv.wait_timeout(g, Duration::from_nanos(wait.max(1))).unwrap();
    }
    fn unpark_all(&self, _word: &muster_core::sync::AtomicU32) {
        let _g = self.lock.lock().unwrap();
        self.cv.notify_all();
    }
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
    fn yield_now(&self) {
        std::thread::yield_now();
    }
    fn cpus(&self) -> u32 {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    }
}
