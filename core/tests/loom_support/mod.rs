//! Parkers shared by the loom model tests (`core/tests/loom_*.rs`, each `mod loom_support;`):
//! a yielding one for protocols whose waits only need to make progress, and a faithful futex
//! model for the ones that must never lose a wake-up. Both stand the clock still at 0, so
//! `Timeout(0)` is always expired and no other deadline ever passes.

use loom::sync::atomic::{AtomicU64, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};
use muster_core::sync::AtomicU32;
use muster_core::wait::Parker;

/// Parking is a yield (a spurious wake-up the caller must tolerate); it cannot lose a wake-up,
/// so a test with it cannot see one lost.
#[allow(dead_code)] // not every model file uses it
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

/// A faithful futex with a modelled clock. `park` checks the word and blocks under one mutex
/// until the word changes or the clock passes the deadline; `unpark_all` notifies under it, so
/// check-and-sleep is atomic with respect to a wake, and a lost wake-up leaves a thread blocked
/// forever, which loom reports as a deadlock. The clock stays at 0 unless a timer thread calls
/// [`FutexModel::advance`] (models without timeouts use [`FutexModel::new`], whose `now_ns` reads
/// no shared state, so the clock adds no interleavings there).
#[derive(Clone)]
pub struct FutexModel(Arc<Inner>);

pub struct Inner {
    lock: Mutex<()>,
    cv: Condvar,
    clock: AtomicU64,
    timed: bool,
}

#[allow(dead_code)] // each model file uses its part
impl FutexModel {
    pub fn new() -> Self {
        Self::with_clock(false)
    }
    pub fn timed() -> Self {
        Self::with_clock(true)
    }
    fn with_clock(timed: bool) -> Self {
        FutexModel(Arc::new(Inner { lock: Mutex::new(()), cv: Condvar::new(), clock: AtomicU64::new(0), timed }))
    }
    /// Time passes: the clock jumps to `t` and every sleeper re-checks its deadline.
    pub fn advance(&self, t: u64) {
        let _g = self.0.lock.lock().unwrap();
        self.0.clock.store(t, SeqCst);
        self.0.cv.notify_all();
    }
}

impl Parker for FutexModel {
    fn park(&self, word: &AtomicU32, expected: u32, deadline_ns: Option<u64>) {
        let mut g = self.0.lock.lock().unwrap();
        while word.load(SeqCst) == expected && deadline_ns.is_none_or(|d| self.0.clock.load(SeqCst) < d) {
            g = self.0.cv.wait(g).unwrap();
        }
    }
    fn unpark_all(&self, _word: &AtomicU32) {
        let _g = self.0.lock.lock().unwrap();
        self.0.cv.notify_all();
    }
    fn now_ns(&self) -> u64 {
        if self.0.timed {
            self.0.clock.load(SeqCst)
        } else {
            0
        }
    }
    fn yield_now(&self) {
        loom::thread::yield_now();
    }
    fn cpus(&self) -> u32 {
        1
    }
}

/// Runs `f` under loom with at most `bound` preemptions per execution (`LOOM_MAX_PREEMPTIONS`
/// overrides it).
#[allow(dead_code)]
pub fn model_bounded(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = b.preemption_bound.or(Some(bound));
    b.max_branches = 100_000;
    b.check(f);
}

/// [`model_bounded`] with the default bound of 3.
#[allow(dead_code)]
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, f)
}

/// An alting policy that sleeps at once (no spin, no yield) and whose liveness period and stall
/// limits never end, so every wait goes straight to the eventcount's announce, re-check, sleep.
#[allow(dead_code)]
pub fn sleepy_alt_policy() -> muster_core::alting::AltPolicy {
    muster_core::alting::AltPolicy {
        wait: muster_core::wait::WaitPolicy {
            spin_ns: 0,
            busy_spin_ns: 0,
            oversubscribed_spins: 0,
            yield_ns: 0,
            check_ns: u64::MAX / 4,
        },
        stall_ns: u64::MAX,
        stall_spins: u32::MAX,
    }
}
