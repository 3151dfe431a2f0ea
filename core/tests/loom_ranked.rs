//! Model test of the ranked barrier (per-party arrival lines) under loom:
//! `RUSTFLAGS="--cfg loom" cargo test -p muster-core --release --test loom_ranked`
#![cfg(loom)]

mod loom_support;

use loom::sync::atomic::AtomicU32;
use loom::sync::Arc;
use loom::thread;
use loom_support::{FutexModel, LoomParker};
use muster_core::barrier::BreakReason;
use muster_core::ranked::{BreakOutcome, RankedCell, RankedWaitError};
use muster_core::wait::WaitPolicy;

/// Sleep at once: no spinning, no yielding (exercises the eventcount path).
const SLEEPY: WaitPolicy =
    WaitPolicy { spin_ns: 0, busy_spin_ns: 0, oversubscribed_spins: 0, yield_ns: 0, check_ns: u64::MAX };
const POLICY: WaitPolicy =
    WaitPolicy { spin_ns: 0, busy_spin_ns: 0, oversubscribed_spins: 1, yield_ns: 0, check_ns: u64::MAX };

fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.check(f);
}

#[test]
fn sleeping_ranks_are_never_lost_and_see_each_others_writes() {
    model(3, || {
        let cell = Arc::new(RankedCell::new(2));
        let data = Arc::new(AtomicU32::new(0));
        let fx = FutexModel::new();
        let (c, f, d) = (cell.clone(), fx.clone(), data.clone());
        let h = thread::spawn(move || {
            d.store(7, loom::sync::atomic::Ordering::Relaxed);
            let t = c.arrive(&f, 1).unwrap();
            c.wait(&f, &SLEEPY, &t, None, None, || ()).unwrap();
        });
        let t = cell.arrive(&fx, 0).unwrap();
        cell.wait(&fx, &SLEEPY, &t, None, None, || ()).unwrap();
        assert_eq!(data.load(loom::sync::atomic::Ordering::Relaxed), 7);
        h.join().unwrap();
    });
}

#[test]
fn a_sleeping_rank_is_woken_by_a_break() {
    model(3, || {
        let cell = Arc::new(RankedCell::new(2));
        let fx = FutexModel::new();
        let (c, f) = (cell.clone(), fx.clone());
        let h = thread::spawn(move || match c.arrive(&f, 0) {
            Ok(t) => c.wait(&f, &SLEEPY, &t, None, None, || ()),
            Err(e) => Err(RankedWaitError::Failed(e)),
        });
        let out = cell.break_generation(&fx, 0, BreakReason::Aborted);
        assert_eq!(out, BreakOutcome::Broken(BreakReason::Aborted));
        assert!(h.join().unwrap().is_err());
    });
}

/// The core claim: a break racing the last arrival resolves one way for every rank, and the
/// breaker's verdict agrees with theirs.
#[test]
fn a_break_racing_the_last_arrival_resolves_one_way_for_all() {
    model(2, || {
        let cell = Arc::new(RankedCell::new(2));
        let c = cell.clone();
        let h = thread::spawn(move || {
            let t = c.arrive(&LoomParker, 1).unwrap();
            c.break_generation(&LoomParker, t.generation, BreakReason::TimedOut)
        });
        let mine = match cell.arrive(&LoomParker, 0) {
            Ok(t) => cell.wait(&LoomParker, &POLICY, &t, None, None, || ()).is_ok(),
            Err(_) => false,
        };
        let breaker = h.join().unwrap();
        assert_eq!(mine, breaker == BreakOutcome::Completed, "rank 0 and the breaker disagree");
        assert_eq!(cell.is_broken(), !mine);
    });
}
